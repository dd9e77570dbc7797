/**
 * How to evaluate: EvaluateConfig as users write it, its resolution (every default filled in)
 * and the two sides (data sets or precomputed embeddings).
 */
import { ValidationError } from '../core/errors.js';
import type { JobEvent, JobOptions } from '../core/jobs.js';
import { Tensor } from '../core/tensor.js';
import { resolveOptions } from '../core/validate.js';
import { toDatasetRef, type DatasetRef } from '../data/dataset-ref.js';
import type { ModelInfo } from '../model/catalog.js';
import { resolveLoading, type EmbedConfig, type EmbeddingSet } from '../model/embedding.js';

/** How to evaluate: the plain, validated part of EvaluateOptions (data sets are embedded with the EmbedConfig part). */
export interface EvaluateConfig extends EmbedConfig {
  /**
   * How a query is compared with a gallery item; larger is more similar ('euclid' and 'sq_euclid' are negated distances).
   * @default "cosine"
   */
  metric?: 'cosine' | 'inner' | 'euclid' | 'sq_euclid';
  /**
   * Rank of top-k accuracy and kNN, and length of the CMC curve.
   * @default 5
   * @minimum 1
   * @TJS-type integer
   */
  k?: number;
  /**
   * Average the gallery images of each label into one reference (renormalised when the model normalises).
   * @default false
   */
  averageReferences?: boolean;
  /**
   * Return the k best gallery rows and their scores for every query.
   * @default false
   */
  topMatches?: boolean;
  /**
   * Return per-query tensors: AP, rank of the first correct match, kNN prediction (a label), max F1,
   * hardest positive and negative score (NaN where a query has none).
   * @default false
   */
  perQuery?: boolean;
  /**
   * Return the whole Nq × Ng score matrix (through shared memory): only for sets small enough to hold it.
   * @default false
   */
  returnScores?: boolean;
  /**
   * Return every query's precision-recall curve (recognite's layout: ascending thresholds, then the
   * point precision 1, recall 0): only for small sets.
   * @default false
   */
  curves?: boolean;
  /**
   * Return the gallery and query embeddings too, to reuse them (e.g. saveNpy).
   * @default false
   */
  returnEmbeddings?: boolean;
  /**
   * Query rows per block of the score matrix: memory grows with chunkSize × gallery size.
   * When omitted (null in the resolved config): as many as fit in about 256 MiB of working memory (at most 1024).
   * @minimum 1
   * @TJS-type integer
   */
  chunkSize?: number;
}

/** Progress of an evaluation: embedding the gallery, the queries, then scoring. */
export interface EvaluateProgress extends JobEvent {
  type: 'progress';
  phase: 'gallery' | 'query' | 'scoring';
  done: number;
  total: number;
}

/** Options of evaluate(): the two sets, an EvaluateConfig, progress and cancellation. */
export interface EvaluateOptions extends EvaluateConfig, JobOptions<EvaluateProgress> {
  gallery: DatasetRef | EmbeddingSet;
  query: DatasetRef | EmbeddingSet;
}

/** An EvaluateConfig with every default filled in: what the worker receives (chunkSize null: sized to memory). */
export interface ResolvedEvaluateConfig extends Required<Omit<EvaluateConfig, 'chunkSize'>> {
  chunkSize: number | null;
}

/** Check an EvaluateConfig and fill in every default. */
export function resolveEvaluateConfig(config: EvaluateConfig, info: ModelInfo): ResolvedEvaluateConfig {
  const filled = resolveLoading(resolveOptions('EvaluateConfig', config, 'EvaluateOptions'), info, 'EvaluateOptions');
  return { ...(filled as Required<EvaluateConfig>), chunkSize: filled.chunkSize ?? null };
}

/** One side of an evaluation as the worker takes it: a resolved data set, or embeddings with labels. */
export type EvaluationSide = { dataset: Required<DatasetRef> } | EmbeddingSet;

/** Check one side (gallery or query) of an evaluation. */
export function resolveSide(value: DatasetRef | EmbeddingSet, name: string): EvaluationSide {
  if ((value as unknown) && typeof value === 'object' && 'embeddings' in value) {
    const { embeddings, labels } = value as { embeddings: unknown; labels: unknown }; // checked at run time
    if (!(embeddings instanceof Tensor) || embeddings.dtype !== 'float32' || embeddings.shape.length !== 2) {
      throw ValidationError.one('EvaluateOptions', `${name}.embeddings`, 'must be a float32 Tensor of shape N × D');
    }
    if (!Array.isArray(labels) || labels.length !== embeddings.shape[0]) {
      const message = `must hold one label per row (${embeddings.shape[0]})`;
      throw ValidationError.one('EvaluateOptions', `${name}.labels`, message);
    }
    const bad = labels.findIndex(
      (l: unknown) => typeof l !== 'string' && !(typeof l === 'number' && Number.isFinite(l)),
    );
    if (bad >= 0) {
      const message = `must be a string or a finite number, got ${String(labels[bad])}`;
      throw ValidationError.one('EvaluateOptions', `${name}.labels[${bad}]`, message);
    }
    return { embeddings: embeddings as Tensor<'float32'>, labels: labels as Array<string | number> };
  }
  return { dataset: toDatasetRef(value, name) };
}
