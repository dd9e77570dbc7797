/**
 * What galleries take: embeddings with labels, image files with labels, data sets, or image
 * tensors. Images are embedded here with the gallery's model (in the worker, in evaluation mode),
 * so the gallery itself only ever sees embeddings.
 */
import { ValidationError } from '../core/errors.js';
import type { JobOptions } from '../core/jobs.js';
import { Tensor } from '../core/tensor.js';
import { loadSchema } from '../core/validate.js';
import type { DatasetRef } from '../data/dataset-ref.js';
import type { EmbedConfig, EmbedProgress, EmbeddingSet } from '../model/embedding.js';
import type { Recognizer } from '../model/recognizer.js';
import type { Label } from './results.js';

/** References to enrol: embeddings with labels, image files with labels, or a data set (CSV). */
export type GalleryInput = EmbeddingSet | { paths: string[]; labels: Label[] } | DatasetRef;

/** Queries: embeddings (N × D), images (N × 3 × H × W, normalised), image file paths, or a data set. */
export type QueryInput = Tensor | string[] | DatasetRef;

/** The options of embedding, picked out of a wider options object (the keys come from EmbedConfig's schema). */
export function embedPart(options: object): EmbedConfig {
  const keys = Object.keys(loadSchema('EmbedConfig').properties ?? {});
  return Object.fromEntries(Object.entries(options).filter(([key]) => keys.includes(key)));
}

function needModel(model: Recognizer | undefined, what: string): Recognizer {
  if (!model) {
    throw ValidationError.one(
      what,
      'model',
      'this gallery has no model to embed images with: create it with { model } (or rt.loadGallery(dir, { model })), or pass embeddings',
    );
  }
  return model;
}

/** Check labels: one per row, each a string or a finite number. */
export function checkLabels(labels: unknown, rows: number, what: string): Label[] {
  if (!Array.isArray(labels) || labels.length !== rows) {
    throw ValidationError.one(what, 'labels', `must hold one label per row (${rows}); got ${describeCount(labels)}`);
  }
  const bad = labels.findIndex((l: unknown) => typeof l !== 'string' && !(typeof l === 'number' && Number.isFinite(l)));
  if (bad >= 0) {
    throw ValidationError.one(
      what,
      `labels[${bad}]`,
      `must be a string or a finite number; got ${String(labels[bad])}`,
    );
  }
  return labels as Label[];
}

function describeCount(labels: unknown): string {
  return Array.isArray(labels) ? `${labels.length}` : typeof labels;
}

function checkEmbeddings(value: unknown, what: string, path: string): Tensor<'float32'> {
  if (!(value instanceof Tensor) || value.dtype !== 'float32' || value.shape.length !== 2) {
    throw ValidationError.one(what, path, 'must be a float32 Tensor of shape N × D (one embedding per row)');
  }
  return value as Tensor<'float32'>;
}

type Embedding = JobOptions<EmbedProgress> & EmbedConfig;

/** Embeddings and labels of references to enrol (or validation queries to calibrate with). */
export async function referenceSet(
  input: GalleryInput,
  model: Recognizer | undefined,
  options: Embedding,
  what: string,
): Promise<EmbeddingSet> {
  const given: unknown = input;
  if (!given || typeof given !== 'object' || Array.isArray(given) || given instanceof Tensor) {
    throw ValidationError.one(what, '', 'must be { embeddings, labels }, { paths, labels } or a data set ({ csv })');
  }
  if ('embeddings' in given) {
    const embeddings = checkEmbeddings(given.embeddings, what, 'embeddings');
    return { embeddings, labels: checkLabels((given as { labels?: unknown }).labels, embeddings.shape[0] ?? 0, what) };
  }
  if ('paths' in given) {
    const { paths, labels } = given as { paths: unknown; labels: unknown };
    if (!Array.isArray(paths)) throw ValidationError.one(what, 'paths', 'must be a list of image file paths');
    const checked = checkLabels(labels, paths.length, what);
    const embeddings = await needModel(model, what).embed(paths as string[], options);
    return { embeddings, labels: checked };
  }
  return needModel(model, what).embedDataset(input as DatasetRef, options);
}

/** Query embeddings: as given (2-D), or made by the model from images, files or a data set. */
export async function queryEmbeddings(
  queries: QueryInput,
  model: Recognizer | undefined,
  options: Embedding,
  what: string,
): Promise<Tensor<'float32'>> {
  if (queries instanceof Tensor) {
    if (queries.shape.length === 2) return checkEmbeddings(queries, what, 'queries');
    if (queries.shape.length !== 4) {
      throw ValidationError.one(
        what,
        'queries',
        `must be embeddings (N × D) or images (N × 3 × H × W); got shape [${queries.shape.join(', ')}]`,
      );
    }
    return needModel(model, what).embed(queries);
  }
  if (Array.isArray(queries)) return needModel(model, what).embed(queries, options);
  const given: unknown = queries;
  if (!given || typeof given !== 'object') {
    throw ValidationError.one(what, 'queries', 'must be a Tensor, a list of image paths, or a data set ({ csv })');
  }
  return (await needModel(model, what).embedDataset(queries, options)).embeddings;
}
