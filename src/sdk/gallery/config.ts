/**
 * How galleries are made and asked: the options users write, checked against their generated
 * schemas and resolved (every default filled in) before anything reaches the worker.
 */
import { ValidationError } from '../core/errors.js';
import type { JobEvent, JobOptions } from '../core/jobs.js';
import { optionsObject, resolveOptions, show } from '../core/validate.js';
import type { QueryExpansionConfig, RerankConfig } from '../evaluation/config.js';
import type { EmbedConfig } from '../model/embedding.js';
import type { Recognizer } from '../model/recognizer.js';
import { didYouMean } from '../core/suggest.js';

/**
 * How a query is compared with a reference: 'cosine' similarity, 'inner' product, or the negated
 * euclidean ('euclid') or squared euclidean ('sq_euclid') distance; larger is always more similar.
 */
export type GalleryMetric = 'cosine' | 'inner' | 'euclid' | 'sq_euclid';

/** How a gallery compares and searches: the plain, validated part of CreateGalleryOptions. */
export interface GalleryConfig {
  /**
   * How a query is compared with a reference; larger is more similar ('euclid' and 'sq_euclid' are negated distances).
   * @default "cosine"
   */
  metric?: GalleryMetric;
  /**
   * 'exact': every query against every reference (the reference answer; fine up to about a million
   * references). 'faiss': a FAISS index (see `index`), approximate and much faster at scale.
   * @default "exact"
   */
  backend?: 'exact' | 'faiss';
  /**
   * The FAISS index, as a factory string: 'Flat' (exact), 'HNSW32', 'IVF1024,Flat', 'IVF4096,PQ64', …
   * IVF and PQ indexes must be trained (gallery.train()) once references are added. Only with backend 'faiss'.
   * @default "Flat"
   * @minLength 1
   * @maxLength 200
   */
  index?: string;
  /**
   * IVF lists visited per query (IVF indexes only): more is slower and finds more.
   * When omitted: FAISS's own default (1).
   * @minimum 1
   * @maximum 65536
   * @TJS-type integer
   */
  nprobe?: number;
  /**
   * Candidates kept while searching an HNSW graph (HNSW indexes only): more is slower and finds more.
   * When omitted: FAISS's own default (16).
   * @minimum 1
   * @maximum 65536
   * @TJS-type integer
   */
  efSearch?: number;
  /**
   * Search one reference per label, the average of its embeddings (renormalised for cosine), instead of every row.
   * @default false
   */
  averageReferences?: boolean;
}

/** A GalleryConfig with every default filled in (nprobe/efSearch null: FAISS's own). */
export interface ResolvedGalleryConfig extends Required<Omit<GalleryConfig, 'nprobe' | 'efSearch'>> {
  nprobe: number | null;
  efSearch: number | null;
}

/** How to identify queries: the plain part of IdentifyOptions (images are embedded with the EmbedConfig part). */
export interface IdentifyConfig extends EmbedConfig {
  /**
   * Matches returned per query, best first.
   * @default 5
   * @minimum 1
   * @maximum 10000
   * @TJS-type integer
   */
  k?: number;
  /**
   * Accept a query's best label only when its score is at least this; below it the verdict is null (unknown).
   * When omitted: the gallery's threshold (from calibrate() or setThreshold()); without one every query gets its best label.
   */
  threshold?: number;
  /**
   * 'top1': the verdict is the best match's label. 'knn': the label with most of the k matches (ties: the better best score).
   * @default "top1"
   */
  vote?: 'top1' | 'knn';
  /**
   * k-reciprocal re-ranking of every score before the k best are taken (as in evaluate; `true` for the
   * paper's k1 20, k2 6, lambda 0.3). Exact backend only, and dense: queries plus references at most 20000.
   * Scores are then minus the re-ranked distances (in [-1, 0]): calibrate thresholds with the same setting.
   * @default false
   */
  rerank?: boolean | RerankConfig;
  /**
   * Average query expansion: each query is replaced by the mean of itself and its k nearest references
   * (found by the gallery's own search, so with FAISS too) before the search. `true` for k 5.
   * @default false
   */
  queryExpansion?: boolean | QueryExpansionConfig;
}

/** How to choose the threshold in calibrate(): the plain part of CalibrateOptions. */
export interface CalibrateConfig extends EmbedConfig {
  /**
   * 'far': the lowest threshold whose false-accept rate is at most targetFar. 'maxF1': the threshold of maximum F1.
   * @default "far"
   */
  strategy?: 'far' | 'maxF1';
  /**
   * The false-accept rate to meet with strategy 'far' (the share of impostor queries accepted).
   * @default 0.01
   * @exclusiveMinimum 0
   * @maximum 1
   */
  targetFar?: number;
}

/** How to train a FAISS index (IVF, PQ) on the gallery's references. */
export interface TrainIndexConfig {
  /**
   * Train on this many references drawn at random (seeded); when omitted, on all of them.
   * @minimum 1
   * @maximum 1000000000
   * @TJS-type integer
   */
  sample?: number;
  /**
   * Seed of the sample.
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  seed?: number;
}

/** How to measure a FAISS index's recall against exact search. */
export interface MeasureRecallConfig {
  /**
   * References used as queries, drawn at random (seeded).
   * @default 1000
   * @minimum 1
   * @maximum 1000000
   * @TJS-type integer
   */
  sample?: number;
  /**
   * Recall@k: the share of the exact k best that the index finds too.
   * @default 10
   * @minimum 1
   * @maximum 10000
   * @TJS-type integer
   */
  k?: number;
  /**
   * Seed of the sample.
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  seed?: number;
}

/** Progress of a gallery search (identify). */
export interface GalleryProgress extends JobEvent {
  type: 'progress';
  phase: 'search';
  done: number;
  total: number;
}

/** Options of gallery.identify(): the IdentifyConfig, and a job's progress callback and AbortSignal. */
export type IdentifyOptions = IdentifyConfig & JobOptions<GalleryProgress>;
/** Options of gallery.calibrate(): the CalibrateConfig, and a job's progress callback and AbortSignal. */
export type CalibrateOptions = CalibrateConfig & JobOptions<GalleryProgress>;

/** Check a GalleryConfig and fill in every default; index, nprobe and efSearch only go with FAISS. */
export function resolveGalleryConfig(config: GalleryConfig): ResolvedGalleryConfig {
  const filled = resolveOptions('GalleryConfig', config, 'createGallery options') as Required<GalleryConfig>;
  if (filled.backend === 'exact') {
    const faissOnly = (['index', 'nprobe', 'efSearch'] as const).filter((key) => config[key] !== undefined);
    if (faissOnly.length) {
      throw new ValidationError(
        'createGallery options',
        faissOnly.map((key) => ({ path: key, message: "applies only to backend 'faiss'; add backend: 'faiss'" })),
      );
    }
  }
  return { ...filled, nprobe: config.nprobe ?? null, efSearch: config.efSearch ?? null };
}

/** Where a threshold may lie for a metric: cosine scores lie in [-1, 1], negated distances are ≤ 0. */
export function checkThreshold(threshold: unknown, metric: GalleryMetric, what: string): number | null {
  if (threshold === undefined || threshold === null) return null;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold)) {
    const shown = typeof threshold === 'number' ? String(threshold) : JSON.stringify(threshold);
    throw ValidationError.one(what, 'threshold', `must be a finite number; got ${shown}`);
  }
  if (metric === 'cosine' && (threshold < -1 || threshold > 1)) {
    throw ValidationError.one(what, 'threshold', `must lie in [-1, 1] for cosine scores; got ${threshold}`);
  }
  if ((metric === 'euclid' || metric === 'sq_euclid') && threshold > 0) {
    const message = `must be ≤ 0 for ${metric} (scores are negated distances: a distance of 0.8 is -0.8); got ${threshold}`;
    throw ValidationError.one(what, 'threshold', message);
  }
  return threshold;
}

/** The largest embedding a gallery takes (the widest catalog model's is 4096). */
export const MAX_DIM = 65536;

/** A model option must be a Recognizer (JavaScript callers can pass anything). */
export function checkModel(model: unknown, what: string): asserts model is Recognizer | undefined {
  const workerId: unknown = model && typeof model === 'object' ? (model as { workerId?: unknown }).workerId : undefined;
  if (model !== undefined && typeof workerId !== 'number') {
    throw ValidationError.one(what, 'model', 'must be a Recognizer from rt.createRecognizer()');
  }
}

/** Refuse keys outside `known`, with the nearest valid name. */
export function checkKeys(options: object, known: string[], what: string): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length) {
    throw new ValidationError(
      what,
      unknown.map((key) => ({
        path: key,
        message: `unknown option${didYouMean(key, known)}; valid options: ${known.join(', ')}`,
      })),
    );
  }
}

/** Options of createGallery(): a GalleryConfig, and the model whose embeddings it holds. */
export interface CreateGalleryOptions extends GalleryConfig {
  /** The model that embeds images for this gallery; recorded (name and weights fingerprint) when saved. */
  model?: Recognizer;
  /** Embedding size, for a gallery of precomputed embeddings without a model. */
  dim?: number;
}

/** Options of rt.loadGallery(). */
export interface LoadGalleryOptions {
  /** The model to embed images with: it must be the one the gallery was saved with (same name and weights). */
  model?: Recognizer;
}

/** Check createGallery()'s options: a GalleryConfig resolved, and a model or an embedding size (not both). */
export function resolveCreateOptions(options: CreateGalleryOptions | undefined): {
  model: Recognizer | undefined;
  dim: number | undefined;
  config: ResolvedGalleryConfig;
} {
  const { model, dim, ...rest } = optionsObject(options, 'createGallery options');
  const config = resolveGalleryConfig(rest);
  checkModel(model, 'createGallery options');
  if (model !== undefined && dim !== undefined) {
    const message = `give the model or dim, not both: the model's embeddings have ${model.embeddingDim} values`;
    throw ValidationError.one('createGallery options', 'dim', message);
  }
  if (model === undefined && (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 1 || dim > MAX_DIM)) {
    const message =
      dim === undefined
        ? 'give the model whose embeddings the gallery holds, or dim (the embedding size) without one'
        : `must be an integer from 1 to ${MAX_DIM}; got ${show(dim)}`;
    throw ValidationError.one('createGallery options', dim === undefined ? 'model' : 'dim', message);
  }
  return { model, dim, config };
}

/** Check loadGallery()'s folder and options; the model to load with, if any. */
export function resolveLoadOptions(dir: unknown, options: LoadGalleryOptions | undefined): Recognizer | undefined {
  if (typeof dir !== 'string' || dir === '') throw ValidationError.one('loadGallery', 'dir', 'must be a folder path');
  const given = optionsObject(options, 'loadGallery options');
  checkKeys(given, ['model'], 'loadGallery options');
  checkModel(given.model, 'loadGallery options');
  return given.model;
}
