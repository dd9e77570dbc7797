/**
 * How to evaluate: EvaluateConfig as users write it, its resolution (every default filled in)
 * and the two sides (data sets or precomputed embeddings).
 */
import { ValidationError } from '../core/errors.js';
import type { JobEvent, JobOptions } from '../core/jobs.js';
import { Tensor } from '../core/tensor.js';
import { loadSchema, resolveOptions, type JsonSchema } from '../core/validate.js';
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
   * @maximum 10000
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
   * hardest positive and negative score, inverse negative penalty (NaN where a query has none).
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
   * @maximum 1000000
   * @TJS-type integer
   */
  chunkSize?: number;
  /**
   * k-reciprocal re-ranking (Zhong et al. 2017, torchreid's `re_ranking` ported to torch, on the CPU):
   * `true` for the paper's parameters, or some of them. Every metric, top match, per-query value,
   * score and threshold is then of the re-ranked scores (minus the re-ranked distances). Needs a
   * distance (not metric 'inner'), and it is dense: Nq + Ng (references with averageReferences) at
   * most 20000 (2.7 GiB of extra memory for the whole evaluation there).
   * @default false
   */
  rerank?: boolean | RerankConfig;
  /**
   * Average query expansion (alpha-QE with alpha 0): each query is replaced by the mean of itself and
   * its k best gallery items (renormalised like averageReferences) before scoring and re-ranking.
   * `true` for the default k. Works at any size.
   * @default false
   */
  queryExpansion?: boolean | QueryExpansionConfig;
}

/** k-reciprocal re-ranking's parameters; the defaults are the paper's, torchreid's and fast-reid's. */
export interface RerankConfig {
  /**
   * Neighbours whose k-reciprocal sets encode each item.
   * @default 20
   * @minimum 1
   * @maximum 1000
   * @TJS-type integer
   */
  k1?: number;
  /**
   * Neighbours whose encodings are averaged into each item's (1: none).
   * @default 6
   * @minimum 1
   * @maximum 1000
   * @TJS-type integer
   */
  k2?: number;
  /**
   * Weight of the original distance in the final one; the Jaccard distance gets 1 - lambda.
   * @default 0.3
   * @minimum 0
   * @maximum 1
   */
  lambda?: number;
}

/** Average query expansion's parameter. */
export interface QueryExpansionConfig {
  /**
   * Gallery items averaged into each query.
   * @default 5
   * @minimum 1
   * @maximum 10000
   * @TJS-type integer
   */
  k?: number;
}

/** Re-ranking's dense matrices hold (Nq + Ng)² floats: py_bridge/evaluation/rerank.py holds the same limit. */
export const MAX_RERANK_ITEMS = 20_000;

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

/**
 * An EvaluateConfig with every default filled in: what the worker receives (chunkSize null: sized to
 * memory; rerank and queryExpansion null: off, else every parameter).
 */
export interface ResolvedEvaluateConfig extends Required<
  Omit<EvaluateConfig, 'chunkSize' | 'rerank' | 'queryExpansion'>
> {
  chunkSize: number | null;
  rerank: Required<RerankConfig> | null;
  queryExpansion: Required<QueryExpansionConfig> | null;
}

/** Check an EvaluateConfig and fill in every default. */
export function resolveEvaluateConfig(config: EvaluateConfig, info: ModelInfo): ResolvedEvaluateConfig {
  const filled = resolveLoading(resolveOptions('EvaluateConfig', config, 'EvaluateOptions'), info, 'EvaluateOptions');
  const full = filled as Required<EvaluateConfig>; // the schema filled in every literal default
  const resolved: ResolvedEvaluateConfig = {
    ...full,
    chunkSize: filled.chunkSize ?? null,
    rerank: switchedOn(full.rerank, 'rerank') as Required<RerankConfig> | null,
    queryExpansion: switchedOn(full.queryExpansion, 'queryExpansion') as Required<QueryExpansionConfig> | null,
  };
  if (resolved.rerank && resolved.metric === 'inner') {
    const message =
      "needs a distance and metric 'inner' has none: use metric 'cosine' (the same ranking for normalised " +
      "embeddings), 'euclid' or 'sq_euclid'";
    throw ValidationError.one('EvaluateOptions', 'rerank', message);
  }
  return resolved;
}

/**
 * `false` → null; `true` or an object → the object with the defaults of its schema branch filled in
 * (ajv fills no defaults inside anyOf, so they are read from the same generated schema here).
 */
export function switchedOn(
  value: boolean | object,
  option: 'rerank' | 'queryExpansion',
  schema: 'EvaluateConfig' | 'IdentifyConfig' = 'EvaluateConfig',
): Record<string, unknown> | null {
  if (value === false) return null;
  const branches = loadSchema(schema).properties?.[option]?.anyOf ?? [];
  const props: Record<string, JsonSchema> = branches.find((b) => b.type === 'object')?.properties ?? {};
  const defaults = Object.fromEntries(Object.entries(props).map(([key, schema]) => [key, schema.default]));
  return { ...defaults, ...(value === true ? {} : value) };
}

/**
 * Refuse a re-ranking too big for its dense matrices before anything is sent, when the sizes are known
 * (embeddings; the worker checks data sets once it has read them).
 */
export function checkRerankSize(gallery: EvaluationSide, query: EvaluationSide, options: ResolvedEvaluateConfig): void {
  if (!options.rerank || !('labels' in gallery) || !('labels' in query)) return;
  const numGallery = options.averageReferences ? new Set(gallery.labels).size : gallery.labels.length;
  const total = query.labels.length + numGallery;
  if (total > MAX_RERANK_ITEMS) {
    const gib = ((4 * total * total) / 2 ** 30).toFixed(1);
    const message =
      `re-ranking builds dense (Nq + Ng)² matrices and Nq + Ng = ${total} exceeds its limit of ${MAX_RERANK_ITEMS} ` +
      `(about ${gib} GiB per matrix): evaluate without rerank, on a subset of the queries or of the gallery, ` +
      'or with averageReferences; queryExpansion works at any size';
    throw ValidationError.one('EvaluateOptions', 'rerank', message);
  }
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
