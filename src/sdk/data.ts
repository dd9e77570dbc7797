/**
 * Data sets as TypeScript sees them: CSV files the worker reads (pixels never cross
 * the bridge). `rt.data` makes synthetic data sets and splits CSVs with recognite's
 * semantics (label-disjoint k folds, gallery/query), writing each part as a CSV.
 */
import { resolve } from 'node:path';
import { runJob, type JobHost, type JobOptions } from './jobs.js';
import { validate } from './validate.js';

/** A data set: a CSV with an image-path column and a label column (relative paths resolve against the CSV's folder). */
export interface DatasetRef {
  /** Path of the CSV file. */
  csv: string;
  /**
   * Column holding the image paths.
   * @default "image"
   */
  imageColumn?: string;
  /**
   * Column holding the labels.
   * @default "label"
   */
  labelColumn?: string;
}

/** A data set part written by a split. */
export interface SplitPart extends DatasetRef {
  rows: number;
  labels: number;
}

export interface SyntheticOptions {
  /** Folder to write images/ and dataset.csv into (created if missing). */
  outDir: string;
  /**
   * Number of identities (labels).
   * @minimum 2
   * @TJS-type integer
   */
  identities: number;
  /**
   * Images per identity.
   * @minimum 1
   * @TJS-type integer
   */
  samplesPerIdentity: number;
  /**
   * Side of the square images, in pixels.
   * @default 64
   * @minimum 8
   * @maximum 1024
   * @TJS-type integer
   */
  size?: number;
  /**
   * Everything random derives from it: the same seed writes the same files.
   * @default 0
   * @minimum 0
   * @TJS-type integer
   */
  seed?: number;
  /**
   * Image format.
   * @default "png"
   */
  format?: 'png' | 'jpg';
}

/** What generateSynthetic returns: the data set and what it holds. */
export interface SyntheticDataset extends DatasetRef {
  imageDir: string;
  numImages: number;
  identities: number;
  samplesPerIdentity: number;
  size: number;
}

export interface SplitOptions {
  /** Folder to write the part CSVs into (created if missing). */
  outDir: string;
  /**
   * Number of label folds.
   * @default 5
   * @minimum 2
   * @TJS-type integer
   */
  numFolds?: number;
  /**
   * The fold used for validation, 0 ≤ valFold < numFolds.
   * @default 0
   * @minimum 0
   * @TJS-type integer
   */
  valFold?: number;
  /**
   * Seed of the label shuffle (numpy's legacy seeding, as recognite).
   * @default 0
   * @minimum 0
   * @TJS-type integer
   */
  seed?: number;
  /**
   * Gallery images per label.
   * @default 1
   * @minimum 1
   * @TJS-type integer
   */
  numRefs?: number;
  /**
   * Seed of the gallery/query row shuffle (pandas' sample random_state, as recognite).
   * @default 0
   * @minimum 0
   * @TJS-type integer
   */
  refSeed?: number;
}

export interface SyntheticProgress {
  type: 'progress';
  done: number;
  total: number;
}

interface SplitResult {
  parts: Record<string, { csv: string; rows: number; labels: number }>;
  warnings: string[];
}

/** Fields of the objects this SDK returns as data sets (SplitPart, SyntheticDataset), besides DatasetRef's. */
const DESCRIPTIVE_FIELDS = new Set([
  'rows',
  'labels',
  'imageDir',
  'numImages',
  'identities',
  'samplesPerIdentity',
  'size',
]);

/**
 * The DatasetRef inside a value that may be a richer data-set object this SDK returned (a split part,
 * a synthetic data set), checked; its CSV path made absolute. Unknown fields are still errors.
 */
export function toDatasetRef(value: unknown, path = 'dataset'): DatasetRef {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    validate('DatasetRef', value, path);
  }
  const { csv, imageColumn, labelColumn, ...rest } = value as Record<string, unknown>;
  const picked: Record<string, unknown> = { csv };
  if (imageColumn !== undefined) picked.imageColumn = imageColumn;
  if (labelColumn !== undefined) picked.labelColumn = labelColumn;
  for (const key of Object.keys(rest)) if (!DESCRIPTIVE_FIELDS.has(key)) picked[key] = rest[key];
  validate('DatasetRef', picked, path); // unknown keys are reported, with the nearest valid name
  const ref = picked as unknown as DatasetRef;
  return { ...ref, csv: resolve(ref.csv) };
}

/** `rt.data`: data-set helpers that run in the worker. */
export class DataApi {
  constructor(private readonly host: JobHost) {}

  /**
   * Write a synthetic recognition data set: identities × samplesPerIdentity images, each identity a
   * procedurally drawn pattern and each sample a distorted view of it; deterministic for a seed.
   */
  async generateSynthetic(
    options: SyntheticOptions,
    job: JobOptions<SyntheticProgress> = {},
  ): Promise<SyntheticDataset> {
    validate('SyntheticOptions', options);
    const out = await runJob<SyntheticProgress, { csvPath: string } & Omit<SyntheticDataset, 'csv'>>(
      this.host,
      'generateSynthetic',
      'data.synthetic',
      { ...options, outDir: resolve(options.outDir) },
      job,
    );
    return {
      csv: out.csvPath,
      imageDir: out.imageDir,
      numImages: out.numImages,
      identities: out.identities,
      samplesPerIdentity: out.samplesPerIdentity,
      size: out.size,
    };
  }

  private async split(kind: string, dataset: DatasetRef, options: SplitOptions): Promise<SplitResult> {
    const ref = toDatasetRef(dataset);
    validate('SplitOptions', options);
    return (await this.host.invoke('data.split', {
      kind,
      dataset: ref,
      ...options,
      numFolds: options.numFolds ?? 5,
      valFold: options.valFold ?? 0,
      numRefs: options.numRefs ?? 1,
      outDir: resolve(options.outDir),
    })) as SplitResult;
  }

  /** recognite's label-disjoint k-fold split: fold `valFold` of the shuffled labels is validation. */
  async kFoldSplit(dataset: DatasetRef, options: SplitOptions): Promise<{ train: SplitPart; val: SplitPart }> {
    const { parts } = await this.split('kFold', dataset, options);
    return { train: parts.train!, val: parts.val! };
  }

  /** recognite's gallery/query split: per label, `numRefs` random rows to the gallery, the rest to the queries. */
  async galleryQuerySplit(
    dataset: DatasetRef,
    options: SplitOptions,
  ): Promise<{ gallery: SplitPart; query: SplitPart; warnings: string[] }> {
    const { parts, warnings } = await this.split('galleryQuery', dataset, options);
    return { gallery: parts.gallery!, query: parts.query!, warnings };
  }

  /** recognite's train_val_datasets: a k-fold split whose validation part is split into gallery and query. */
  async trainValDatasets(
    dataset: DatasetRef,
    options: SplitOptions,
  ): Promise<{ train: SplitPart; gallery: SplitPart; query: SplitPart; warnings: string[] }> {
    const { parts, warnings } = await this.split('trainVal', dataset, options);
    return { train: parts.train!, gallery: parts.gallery!, query: parts.query!, warnings };
  }
}
