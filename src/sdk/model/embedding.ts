/**
 * Embedding image files (a list of paths or a data set): the options, their resolution and the
 * progress events. The work itself runs in the worker (py_bridge/model/embedding.py).
 */
import { availableParallelism } from 'node:os';
import { ValidationError } from '../core/errors.js';
import type { JobEvent, JobOptions } from '../core/jobs.js';
import { resolveOptions } from '../core/validate.js';
import type { Tensor } from '../core/tensor.js';
import type { ModelInfo } from './catalog.js';

/** How to embed image files: the plain, validated part of EmbedOptions. */
export interface EmbedConfig {
  /**
   * Side of the square the images are resized and centre-cropped to.
   * When omitted: the model's defaultInputSize (modelInfo(name).defaultInputSize).
   * @minimum 1
   * @maximum 4096
   * @TJS-type integer
   */
  size?: number;
  /**
   * Images per forward pass.
   * @default 64
   * @minimum 1
   * @maximum 65536
   * @TJS-type integer
   */
  batchSize?: number;
  /**
   * Image-loading processes. When omitted: one per spare core, at most 4 (defaultNumWorkers()).
   * @minimum 0
   * @maximum 64
   * @TJS-type integer
   */
  numWorkers?: number;
  /**
   * Test-time augmentation: average the embeddings of a horizontal flip ('flip'), of recognite's
   * three crops along the longest side ('threeCrop'), or both ('threeCropFlip').
   * @default "none"
   */
  tta?: 'none' | 'flip' | 'threeCrop' | 'threeCropFlip';
  /**
   * Arithmetic of the forward passes: 'bf16' and 'fp16' run them under torch.autocast (faster on
   * GPUs with tensor cores; 'bf16' also on recent CPUs); embeddings are normalised and returned in
   * float32 whatever this is. 'fp16' on the CPU needs a torch whose CPU autocast supports it.
   * @default "fp32"
   */
  precision?: Precision;
}

/** Floating-point format of forward (and, in fit, backward) passes; see EmbedConfig.precision. */
export type Precision = 'fp32' | 'bf16' | 'fp16';

/** An EmbedConfig with every default filled in: what the worker receives. */
export type ResolvedEmbedConfig = Required<EmbedConfig>;

/** Image-loading processes when numWorkers is omitted: one per spare core, at most 4. */
export function defaultNumWorkers(): number {
  return Math.max(0, Math.min(4, availableParallelism() - 1));
}

/**
 * Fill in the options every image-loading call shares (size from the catalog, numWorkers from the
 * cores) and check the size against the model.
 * @throws ValidationError when the size is below the model's minimum
 */
export function resolveLoading<T extends { size?: number; numWorkers?: number }>(
  filled: T,
  info: ModelInfo,
  what: string,
): T & { size: number; numWorkers: number } {
  const size = filled.size ?? info.defaultInputSize;
  if (size < info.minInputSize) {
    throw ValidationError.one(what, 'size', `${info.name} needs at least ${info.minInputSize}, got ${size}`);
  }
  return { ...filled, size, numWorkers: filled.numWorkers ?? defaultNumWorkers() };
}

/** Check an EmbedConfig and fill in every default. */
export function resolveEmbedConfig(config: EmbedConfig, info: ModelInfo): ResolvedEmbedConfig {
  return resolveLoading(
    resolveOptions('EmbedConfig', config, 'EmbedOptions') as ResolvedEmbedConfig,
    info,
    'EmbedOptions',
  );
}

/** Progress of embedding image files. */
export interface EmbedProgress extends JobEvent {
  type: 'progress';
  done: number;
  total: number;
}

/** Options of `embed(paths)`: an EmbedConfig plus progress and cancellation. */
export interface EmbedOptions extends EmbedConfig, JobOptions<EmbedProgress> {}

/** Embeddings (N × D) with one label per row: what embedDataset() returns, and what evaluate() takes. */
export interface EmbeddingSet {
  embeddings: Tensor<'float32'>;
  labels: Array<string | number>;
}
