/**
 * How to train: FitConfig as users write it, and its resolution (every default filled in, paths
 * made absolute, the model-dependent size taken from the catalog) before it reaches the worker.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError, type Problem } from '../core/errors.js';
import type { JobOptions } from '../core/jobs.js';
import { resolveOptions } from '../core/validate.js';
import { toDatasetRef, type DatasetRef } from '../data/dataset-ref.js';
import type { ModelInfo } from '../model/catalog.js';
import { resolveLoading, type Precision } from '../model/embedding.js';
import type { FitEvent } from './results.js';

/** How to train: the plain, validated part of FitOptions. */
export interface FitConfig {
  /** The training set; its number of labels must equal the model's numClasses. */
  train: DatasetRef;
  /** A gallery and a query set of labels unseen in training: top-1 accuracy is measured after each epoch. */
  validation?: { gallery: DatasetRef; query: DatasetRef };
  /**
   * Passes over the training set.
   * @minimum 1
   * @maximum 100000
   * @TJS-type integer
   */
  epochs: number;
  /**
   * Images per training step (at least 2: BatchNorm needs two images to normalise over).
   * @default 32
   * @minimum 2
   * @maximum 65536
   * @TJS-type integer
   */
  batchSize?: number;
  /**
   * SGD learning rate.
   * @default 0.01
   * @exclusiveMinimum 0
   * @maximum 100
   */
  lr?: number;
  /**
   * SGD momentum.
   * @default 0.9
   * @minimum 0
   * @maximum 1
   */
  momentum?: number;
  /**
   * SGD weight decay (L2 penalty).
   * @default 0.0005
   * @minimum 0
   * @maximum 1
   */
  weightDecay?: number;
  /**
   * Side of the square training crops (shortest side resized to it, then a random crop).
   * When omitted: the model's defaultInputSize (modelInfo(name).defaultInputSize).
   * @minimum 1
   * @maximum 4096
   * @TJS-type integer
   */
  size?: number;
  /**
   * Random horizontal flips during training. Off by default: a flip turns some identities into
   * others (characters, text, asymmetric marks); turn it on for mirror-symmetric ones such as
   * people or vehicles (docs/BENCHMARKS.md, "Training defaults on two data sets").
   * @default false
   */
  hflip?: boolean;
  /**
   * Multiplies the cosine logits before the softmax (NormFace). With margin 0, 1 reproduces
   * recognite's objective exactly, whose unscaled logits barely train; 16 is the measured default
   * (docs/BENCHMARKS.md).
   * @default 16
   * @exclusiveMinimum 0
   * @maximum 1000
   */
  logitScale?: number;
  /**
   * Additive cosine margin on the target class (CosFace); 0 turns it off. Off by default: with
   * flips off it gained nothing on either measured data set (docs/BENCHMARKS.md).
   * @default 0
   * @minimum 0
   * @maximum 2
   */
  margin?: number;
  /**
   * Data order, augmentation (in every loader process) and dropout derive from it: the same seed
   * gives the same run on the same machine and device (on the CPU, with any numWorkers).
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  seed?: number;
  /**
   * Image-loading processes. When omitted: one per spare core, at most 4 (defaultNumWorkers()).
   * @minimum 0
   * @maximum 64
   * @TJS-type integer
   */
  numWorkers?: number;
  /**
   * Arithmetic of training (and validation) passes: 'bf16' and 'fp16' run the forward passes under
   * torch.autocast, with the weights and optimizer kept in float32; 'fp16' also scales the loss
   * (torch.amp.GradScaler) so small gradients survive. A loss that turns NaN or infinite stops fit.
   * @default "fp32"
   */
  precision?: Precision;
  /** Folder for an atomic checkpoint (last.pt) after every epoch. */
  checkpointDir?: string;
  /** A checkpoint (last.pt) to continue from. */
  resumeFrom?: string;
}

/** Training options: a FitConfig plus progress and cancellation. */
export interface FitOptions extends FitConfig, JobOptions<FitEvent> {}

/** A FitConfig with every default filled in: what the worker receives, and what FitResult.config reports. */
export interface ResolvedFitConfig extends Required<Omit<FitConfig, 'validation' | 'checkpointDir' | 'resumeFrom'>> {
  train: Required<DatasetRef>;
  validation: { gallery: Required<DatasetRef>; query: Required<DatasetRef> } | null;
  checkpointDir: string | null;
  resumeFrom: string | null;
}

/**
 * Check a FitConfig (schema, then what needs the model: a classifier, the input size, the files)
 * and fill in every default.
 * @throws ValidationError listing every problem
 */
export function resolveFitConfig(config: FitConfig, info: ModelInfo, numClasses: number | null): ResolvedFitConfig {
  const given = config as Partial<FitConfig>; // JavaScript callers can leave out anything
  const picked = {
    ...config,
    train: given.train && toDatasetRef(given.train, 'train'),
    validation: given.validation && {
      gallery: toDatasetRef(given.validation.gallery, 'validation.gallery'),
      query: toDatasetRef(given.validation.query, 'validation.query'),
    },
  } as FitConfig;
  if (picked.validation === undefined) delete picked.validation;
  const filled = resolveLoading(resolveOptions('FitConfig', picked, 'FitOptions'), info, 'FitOptions');
  const problems: Problem[] = [];
  if (numClasses === null) {
    problems.push({
      path: 'numClasses',
      message: 'this model has no classifier: create it with numClasses to train it',
    });
  }
  if (filled.resumeFrom !== undefined && !existsSync(filled.resumeFrom)) {
    problems.push({ path: 'resumeFrom', message: `checkpoint not found: ${resolve(filled.resumeFrom)}` });
  }
  if (problems.length) throw new ValidationError('FitOptions', problems);
  return {
    ...(filled as Required<FitConfig>),
    train: picked.train as Required<DatasetRef>,
    validation: (picked.validation as ResolvedFitConfig['validation'] | undefined) ?? null,
    checkpointDir: filled.checkpointDir === undefined ? null : resolve(filled.checkpointDir),
    resumeFrom: filled.resumeFrom === undefined ? null : resolve(filled.resumeFrom),
  };
}
