/**
 * Data sets as TypeScript sees them: CSV files the worker reads (pixels never cross the bridge).
 * `toDatasetRef` accepts the richer objects this SDK returns (split parts, synthetic data sets)
 * and resolves a DatasetRef completely (absolute CSV path, both column names) for the worker.
 */
import { resolve } from 'node:path';
import { resolveOptions, validate } from '../core/validate.js';

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

/** Fields of the objects this SDK returns as data sets (SplitPart, SyntheticDataset, FolderDataset), besides DatasetRef's. */
const DESCRIPTIVE_FIELDS = new Set([
  'rows',
  'labels',
  'imageDir',
  'numImages',
  'identities',
  'samplesPerIdentity',
  'size',
  'format',
  'seed',
  'skipped',
]);

/**
 * The DatasetRef inside a value that may be a richer data-set object this SDK returned (a split part,
 * a synthetic data set), checked; its CSV path made absolute. Unknown fields are still errors.
 */
export function toDatasetRef(value: unknown, path = 'dataset'): Required<DatasetRef> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    validate('DatasetRef', value, path);
  }
  const { csv, imageColumn, labelColumn, ...rest } = value as Record<string, unknown>;
  const picked: Record<string, unknown> = { csv };
  if (imageColumn !== undefined) picked.imageColumn = imageColumn;
  if (labelColumn !== undefined) picked.labelColumn = labelColumn;
  for (const key of Object.keys(rest)) if (!DESCRIPTIVE_FIELDS.has(key)) picked[key] = rest[key];
  // unknown keys are reported, with the nearest valid name; the column defaults are filled in
  const ref = resolveOptions('DatasetRef', picked as unknown as DatasetRef, path) as Required<DatasetRef>;
  return { ...ref, csv: resolve(ref.csv) };
}
