/**
 * Reading a gallery folder the worker saved (py_bridge/gallery/persist.py) with the worker's checks:
 * the manifest's format, version and fields, each file's size and SHA-256, the embeddings' shape.
 * The same messages as the worker, so a damaged gallery reads the same from either side.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { loadNpy } from '../evaluation/npy.js';
import type { CalibrationReport, GalleryModel, Label } from '../gallery/results.js';

/** The metrics a gallery scores with (evaluation/scoring.py METRICS). */
export type Metric = 'cosine' | 'inner' | 'euclid' | 'sq_euclid';
const METRICS: readonly string[] = ['cosine', 'inner', 'euclid', 'sq_euclid'];

/** A saved gallery as read from its folder. */
export interface GalleryFolder {
  metric: Metric;
  dim: number;
  averageReferences: boolean;
  backend: 'exact' | 'faiss';
  index: string;
  labels: Label[];
  threshold: number | null;
  calibration: CalibrationReport | null;
  model: GalleryModel | null;
  /** rows × dim float32, stored ready for the metric (unit length for cosine). */
  embeddings: Tensor<'float32'>;
}

const WHAT = 'loadGallery';
const fail = (message: string): ValidationError => ValidationError.one(WHAT, 'dir', message);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) > 0;
const CONFIG_KEYS = ['metric', 'backend', 'index', 'nprobe', 'efSearch', 'averageReferences', 'dim'];
const NEEDED = ['config', 'count', 'labels', 'threshold', 'calibration', 'model', 'data', 'files'];

function manifestOf(dir: string): Record<string, unknown> {
  const path = join(dir, 'gallery.json');
  let text: string;
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    text = readFileSync(path, 'utf8');
  } catch {
    throw fail(`${dir} is not a gallery folder: gallery.json is missing`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch (err) {
    throw fail(`${path} is damaged: not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(manifest) || manifest.format !== 'recognite-gallery')
    throw fail(`${path} is not a recognite gallery manifest`);
  if (manifest.version !== 1) {
    throw fail(`${path} is gallery format version ${JSON.stringify(manifest.version)}; this SDK reads version 1`);
  }
  const missing = NEEDED.filter((k) => !(k in manifest));
  const config = manifest.config;
  if (missing.length || !isObj(config) || !CONFIG_KEYS.every((k) => k in config)) {
    throw fail(`${path} is damaged: missing ${missing.join(', ') || 'config keys'}`);
  }
  const labels = manifest.labels;
  const checks: Record<string, boolean> = {
    'config.metric': METRICS.includes(config.metric as string),
    'config.backend': config.backend === 'exact' || config.backend === 'faiss',
    'config.index': typeof config.index === 'string',
    'config.dim': posInt(config.dim),
    'config.averageReferences': typeof config.averageReferences === 'boolean',
    count: Number.isSafeInteger(manifest.count) && (manifest.count as number) >= 0,
    labels:
      Array.isArray(labels) &&
      labels.every((l) => typeof l === 'string' || (typeof l === 'number' && Number.isFinite(l))),
    threshold:
      manifest.threshold === null || (typeof manifest.threshold === 'number' && Number.isFinite(manifest.threshold)),
    // only a data folder of its own, never a path out of the gallery's folder
    data: typeof manifest.data === 'string' && /^data-[0-9a-f]+$/.test(manifest.data),
    files: isObj(manifest.files) && isObj(manifest.files.embeddings),
    model: manifest.model === null || isObj(manifest.model),
  };
  const wrong = Object.keys(checks).filter((k) => !checks[k]);
  if (wrong.length) throw fail(`${path} is damaged: ${wrong.map((k) => `${k} is not valid`).join('; ')}`);
  return manifest;
}

function checkedBytes(path: string, entry: Record<string, unknown>): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw fail(`${path} cannot be read (${code}): the gallery is damaged`);
  }
  if (raw.length !== entry.bytes || createHash('sha256').update(raw).digest('hex') !== entry.sha256) {
    throw fail(`${path} is damaged: its checksum does not match the manifest`);
  }
  return raw;
}

/** Read and check a gallery folder; FAISS galleries are refused (their index needs the worker). */
export function readGalleryFolder(dir: string): GalleryFolder {
  if (typeof dir !== 'string' || dir === '') throw fail('must be the folder a gallery was saved to');
  const manifest = manifestOf(dir);
  const config = manifest.config as Record<string, unknown>;
  if (config.backend === 'faiss') {
    throw ValidationError.one(
      WHAT,
      'dir',
      `${dir} is a FAISS gallery (index ${JSON.stringify(config.index)}): its index needs the worker — open it with ` +
        "rt.loadGallery(dir, { model }), or save an exact one (createGallery({ backend: 'exact' })) for Node alone",
    );
  }
  const dim = config.dim as number;
  const count = manifest.count as number;
  const labels = manifest.labels as Label[];
  const npyPath = join(dir, manifest.data as string, 'embeddings.npy');
  checkedBytes(
    npyPath,
    (manifest.files as Record<string, Record<string, unknown>>).embeddings as Record<string, unknown>,
  );
  let embeddings: Tensor;
  try {
    embeddings = loadNpy(npyPath);
  } catch (err) {
    throw fail(`${npyPath} is not a readable .npy file: ${(err as Error).message}`);
  }
  const [rows, cols] = embeddings.shape;
  if (
    embeddings.dtype !== 'float32' ||
    embeddings.shape.length !== 2 ||
    rows !== count ||
    cols !== dim ||
    labels.length !== count
  ) {
    throw fail(
      `${npyPath} holds ${embeddings.dtype} (${embeddings.shape.join(', ')}), but the manifest says float32 ` +
        `(${count}, ${dim}) with ${labels.length} labels`,
    );
  }
  return {
    metric: config.metric as Metric,
    dim,
    averageReferences: config.averageReferences as boolean,
    backend: 'exact',
    index: config.index as string,
    labels,
    threshold: manifest.threshold as number | null,
    calibration: manifest.calibration as CalibrationReport | null,
    model: manifest.model as GalleryModel | null,
    embeddings: embeddings as Tensor<'float32'>,
  };
}
