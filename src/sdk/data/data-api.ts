/**
 * `rt.data`: synthetic data sets and CSV splits with recognite's semantics (label-disjoint
 * k folds, gallery/query), each part written as a CSV. The work runs in the worker
 * (py_bridge/data/).
 */
import { resolve } from 'node:path';
import { runJob, type JobHost, type JobOptions } from '../core/jobs.js';
import { TransportError, ValidationError } from '../core/errors.js';
import { resolveOptions } from '../core/validate.js';
import { datasetFromFolder } from './folder.js';
import { toDatasetRef, type DatasetRef, type SplitPart } from './dataset-ref.js';
import type {
  DatasetCounts,
  FolderDataset,
  FolderOptions,
  SplitOptions,
  SplitResult,
  SyntheticDataset,
  SyntheticOptions,
  SyntheticProgress,
  SyntheticResult,
} from './options.js';

/** One part of a split's answer; the worker always writes the parts of its kind. */
function part(parts: SplitResult['parts'], name: keyof SplitResult['parts']): SplitPart {
  const found = parts[name];
  if (!found) throw new TransportError(`the worker's split answered without its '${name}' part`);
  return found;
}

/** `rt.data`: data-set helpers that run in the worker. */
export class DataApi {
  /** @internal use `rt.data` */
  constructor(private readonly host: JobHost) {}

  /**
   * Write a synthetic recognition data set: identities × samplesPerIdentity images, each identity a
   * procedurally drawn pattern and each sample a distorted view of it; deterministic for a seed.
   */
  async generateSynthetic(
    options: SyntheticOptions,
    job: JobOptions<SyntheticProgress> = {},
  ): Promise<SyntheticDataset> {
    const resolved = resolveOptions('SyntheticOptions', options) as Required<SyntheticOptions>;
    const out = await runJob<SyntheticProgress, SyntheticResult>(
      this.host,
      'generateSynthetic',
      'data.synthetic',
      { ...resolved, outDir: resolve(resolved.outDir) },
      job,
    );
    const { csvPath, ...described } = out;
    return { csv: csvPath, ...described };
  }

  /**
   * A data set from a folder laid out one sub-folder per identity (the common "ImageFolder" layout:
   * `dir/<label>/…/<image>`, nested folders counting for their identity): every PNG, JPEG, GIF and WebP
   * image found (extensions case-insensitive, hidden files and folders skipped), sorted, written to
   * `options.csv` as `image,label` with paths relative to the CSV's folder. Runs in Node; no worker call.
   * Use the result as any data set (`describe`, `trainValDatasets`, `fit`).
   * @throws ValidationError for a missing folder, a file instead of a folder, no identity folders, no
   *   images, or images lying directly in `dir`
   */
  // eslint-disable-next-line @typescript-eslint/require-await -- async like every rt.data call: errors reject
  async fromFolder(dir: string, options: FolderOptions): Promise<FolderDataset> {
    return datasetFromFolder(dir, options);
  }

  /**
   * Rows and distinct labels of a CSV data set (the labels are the numClasses of a model trained on it).
   * @throws ValidationError for a missing file, missing columns or missing images
   */
  async describe(dataset: DatasetRef): Promise<SplitPart> {
    const ref = toDatasetRef(dataset);
    const counts = (await this.host.invoke('data.describe', { dataset: ref })) as DatasetCounts;
    return { ...ref, ...counts };
  }

  private async split(kind: string, dataset: DatasetRef, options: SplitOptions): Promise<SplitResult> {
    const ref = toDatasetRef(dataset);
    const resolved = resolveOptions('SplitOptions', options) as Required<SplitOptions>;
    if (resolved.valFold >= resolved.numFolds) {
      const message = `must be less than numFolds (${resolved.numFolds}), got ${resolved.valFold}`;
      throw ValidationError.one('SplitOptions', 'valFold', message);
    }
    const payload = { kind, dataset: ref, ...resolved, outDir: resolve(resolved.outDir) };
    return (await this.host.invoke('data.split', payload)) as SplitResult;
  }

  /** recognite's label-disjoint k-fold split: fold `valFold` of the shuffled labels is validation. */
  async kFoldSplit(dataset: DatasetRef, options: SplitOptions): Promise<{ train: SplitPart; val: SplitPart }> {
    const { parts } = await this.split('kFold', dataset, options);
    return { train: part(parts, 'train'), val: part(parts, 'val') };
  }

  /** recognite's gallery/query split: per label, `numRefs` random rows to the gallery, the rest to the queries. */
  async galleryQuerySplit(
    dataset: DatasetRef,
    options: SplitOptions,
  ): Promise<{ gallery: SplitPart; query: SplitPart; warnings: string[] }> {
    const { parts, warnings } = await this.split('galleryQuery', dataset, options);
    return { gallery: part(parts, 'gallery'), query: part(parts, 'query'), warnings };
  }

  /** recognite's train_val_datasets: a k-fold split whose validation part is split into gallery and query. */
  async trainValDatasets(
    dataset: DatasetRef,
    options: SplitOptions,
  ): Promise<{ train: SplitPart; gallery: SplitPart; query: SplitPart; warnings: string[] }> {
    const { parts, warnings } = await this.split('trainVal', dataset, options);
    return { train: part(parts, 'train'), gallery: part(parts, 'gallery'), query: part(parts, 'query'), warnings };
  }
}
