/** Options and results of the data-set helpers (`rt.data`): synthetic data sets and recognite's splits. */
import type { JobEvent } from '../core/jobs.js';
import type { DatasetRef, SplitPart } from './dataset-ref.js';

/** Options of rt.data.generateSynthetic(): where to write, how many identities and images, their size. */
export interface SyntheticOptions {
  /**
   * Folder to write images/ and dataset.csv into (created if missing).
   * @minLength 1
   */
  outDir: string;
  /**
   * Number of identities (labels).
   * @minimum 2
   * @maximum 1000000
   * @TJS-type integer
   */
  identities: number;
  /**
   * Images per identity.
   * @minimum 1
   * @maximum 100000
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
   * @maximum 4294967295
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
export interface SyntheticDataset extends DatasetRef, Omit<SyntheticResult, 'csvPath'> {}

/** Options of the splits (rt.data.kFoldSplit, galleryQuerySplit, trainValDatasets), recognite's semantics. */
export interface SplitOptions {
  /**
   * Folder to write the part CSVs into (created if missing).
   * @minLength 1
   */
  outDir: string;
  /**
   * Number of label folds.
   * @default 5
   * @minimum 2
   * @maximum 1000
   * @TJS-type integer
   */
  numFolds?: number;
  /**
   * The fold used for validation, 0 ≤ valFold < numFolds.
   * @default 0
   * @minimum 0
   * @maximum 999
   * @TJS-type integer
   */
  valFold?: number;
  /**
   * Seed of the label shuffle (numpy's legacy seeding, as recognite).
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  seed?: number;
  /**
   * Gallery images per label.
   * @default 1
   * @minimum 1
   * @maximum 100000
   * @TJS-type integer
   */
  numRefs?: number;
  /**
   * Seed of the gallery/query row shuffle (pandas' sample random_state, as recognite).
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  refSeed?: number;
}

/** Progress of generateSynthetic: images written so far. */
export interface SyntheticProgress extends JobEvent {
  type: 'progress';
  done: number;
  total: number;
}

/** How big a data set is: what rt.data.describe() adds to a DatasetRef. */
export interface DatasetCounts {
  rows: number;
  /** Distinct labels: the numClasses of a model trained on it. */
  labels: number;
}

/** What the worker's split returns: the parts written (train/val or gallery/query) and warnings. */
export interface SplitResult {
  parts: { train?: SplitPart; val?: SplitPart; gallery?: SplitPart; query?: SplitPart };
  warnings: string[];
}

/** What the worker's synthetic generator returns (the SDK renames csvPath to csv). */
export interface SyntheticResult {
  csvPath: string;
  imageDir: string;
  numImages: number;
  identities: number;
  samplesPerIdentity: number;
  size: number;
  format: 'png' | 'jpg';
  seed: number;
}

/** Options of rt.data.fromFolder(): where to write the CSV. */
export interface FolderOptions {
  /**
   * Path of the CSV file to write (its folder is created if missing). Image paths in it are relative
   * to its folder. Required, so that nothing is written into your image folder unasked.
   * @minLength 1
   */
  csv: string;
}

/** What fromFolder returns: the CSV written, what it holds, and the image files it left out. */
export interface FolderDataset extends SplitPart {
  /** The folder that was read (absolute). */
  imageDir: string;
  /**
   * Image files in formats the worker cannot decode (BMP, TIFF, PPM), relative to imageDir: left out
   * of the CSV. Convert them to PNG or JPEG to use them.
   */
  skipped: string[];
}
