/**
 * A saved gallery opened in Node alone: `identify` and `verify` with exact search in TypeScript
 * (search.ts), the same answers as the worker's gallery on the same folder, in the same shapes
 * (src/sdk/gallery/results.ts), so code moves between the two. Read-only: enrolling, calibrating
 * and saving stay with the worker.
 */
import { ValidationError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type {
  CalibrationReport,
  GalleryModel,
  IdentifyResult,
  Label,
  QueryAnswer,
  VerifyResult,
} from '../gallery/results.js';
import { readGalleryFolder, type GalleryFolder, type Metric } from './gallery-folder.js';
import type { OnnxRecognizer } from './recognizer.js';
import { averageReferences, pairScores, prepare, topK } from './search.js';

/** Queries: image files (needs the gallery's model), an image batch N × 3 × S × S (likewise), or embeddings N × D. */
export type NodeQueries = Tensor | readonly string[];

/** Options of identify(): as the worker's, less re-ranking and query expansion. */
export interface NodeIdentifyOptions {
  /** Matches per query, best first (default 5). */
  k?: number;
  /** Accept the verdict only at or above this score; default: the gallery's own threshold, if any. */
  threshold?: number;
  /** 'top1' (default): the best match's label; 'knn': the label with most of the k matches (ties: better best score). */
  vote?: 'top1' | 'knn';
}

/** Options of `loadGallery`. */
export interface NodeGalleryOptions {
  /** The model that embeds image queries; it must be the one the gallery was made with (name and weights). */
  model?: OnnxRecognizer;
}

function checkThreshold(value: unknown, metric: Metric, what: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw ValidationError.one(what, 'threshold', `must be a finite number; got ${JSON.stringify(value)}`);
  }
  if (metric === 'cosine' && (value < -1 || value > 1)) {
    throw ValidationError.one(what, 'threshold', `must lie in [-1, 1] for cosine scores; got ${value}`);
  }
  if (metric !== 'cosine' && metric !== 'inner' && value > 0) {
    throw ValidationError.one(
      what,
      'threshold',
      `must be ≤ 0 for ${metric} (scores are negated distances); got ${value}`,
    );
  }
  return value;
}

/** The worker's persist.py _check_model: the same dim, model name and (when recorded) weights. */
function checkModel(stored: GalleryModel | null, model: OnnxRecognizer, dim: number): void {
  const fail = (message: string): ValidationError => ValidationError.one('loadGallery', 'model', message);
  if (model.embeddingDim !== dim) {
    throw fail(`the gallery holds ${dim}-dim embeddings, but this model makes ${model.embeddingDim}-dim ones`);
  }
  if (!stored) return;
  if (stored.modelName !== model.modelName) {
    throw fail(`the gallery was built with ${stored.modelName}, not ${model.modelName}: load it with that model`);
  }
  if (stored.fingerprint && stored.fingerprint !== model.weightsFingerprint) {
    throw fail(
      `the gallery was built with other ${stored.modelName} weights (fingerprint ${stored.fingerprint}, ` +
        `this model's is ${model.weightsFingerprint}): load the same weights, or rebuild the gallery`,
    );
  }
}

/** A saved exact gallery, searched in Node. Open one with `loadGallery(dir, { model })`. */
export class NodeGallery {
  private readonly searched: Float32Array;
  private readonly searchedLabels: Label[];

  private constructor(
    private readonly folder: GalleryFolder,
    /** The model that embeds image queries, or undefined (then only embeddings are taken). */
    readonly model: OnnxRecognizer | undefined,
  ) {
    const rows = folder.embeddings.data;
    if (folder.averageReferences && folder.labels.length) {
      const avg = averageReferences(rows, folder.labels, folder.dim, folder.metric);
      this.searched = avg.vectors;
      this.searchedLabels = avg.labels;
    } else {
      this.searched = rows;
      this.searchedLabels = folder.labels;
    }
  }

  /** Open a gallery folder saved by the worker (`gallery.save(dir)`); see NodeGalleryOptions. */
  static load(dir: string, options: NodeGalleryOptions = {}): NodeGallery {
    const folder = readGalleryFolder(dir);
    if (options.model !== undefined) checkModel(folder.model, options.model, folder.dim);
    return new NodeGallery(folder, options.model);
  }

  /** References (rows) held. */
  get size(): number {
    return this.folder.labels.length;
  }
  /** Distinct labels. */
  get labelCount(): number {
    return new Set(this.folder.labels).size;
  }
  /** Size of the embeddings it holds. */
  get dim(): number {
    return this.folder.dim;
  }
  /** How queries are scored against references (larger is more similar; distances are negated). */
  get metric(): Metric {
    return this.folder.metric;
  }
  /** The threshold saved with the gallery, or null. */
  get threshold(): number | null {
    return this.folder.threshold;
  }
  /** What the worker's calibrate() measured, saved with the gallery, or null. */
  get calibration(): CalibrationReport | null {
    return this.folder.calibration;
  }
  /** The model the gallery was made with, as it recorded it. */
  get galleryModel(): GalleryModel | null {
    return this.folder.model;
  }

  /** Query embeddings, prepared for the metric: embedded with the model unless they are already N × D. */
  private async queries(input: unknown, what: string): Promise<Float32Array> {
    const dim = this.folder.dim;
    let emb: Tensor;
    if (input instanceof Tensor && input.shape.length === 2) {
      emb = input;
    } else if ((input instanceof Tensor && input.shape.length === 4) || Array.isArray(input)) {
      if (!this.model) {
        throw ValidationError.one(
          what,
          'queries',
          'images need a model: loadGallery(dir, { model }) with an OnnxRecognizer',
        );
      }
      emb = await this.model.embed(input as Tensor | string[]);
    } else {
      throw ValidationError.one(
        what,
        'queries',
        `must be image paths, an N × 3 × S × S image Tensor or N × ${dim} embeddings`,
      );
    }
    if (emb.dtype !== 'float32' || emb.shape[1] !== dim) {
      throw ValidationError.one(
        what,
        'queries',
        `query embeddings of shape (${emb.shape.join(', ')}) ${emb.dtype} do not fit this gallery of ${dim}-dim float32 embeddings`,
      );
    }
    const data = emb.data as Float32Array;
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw ValidationError.one(
        what,
        'queries',
        `hold NaN or infinite values in row ${Math.floor(bad / dim)}: fix or drop it`,
      );
    }
    return prepare(data, dim, this.folder.metric);
  }

  /** Who each query is: its k best matches and a verdict (null: unknown, below the threshold). */
  async identify(queries: NodeQueries, options?: NodeIdentifyOptions): Promise<IdentifyResult> {
    const what = 'identify options';
    const { k = 5, vote = 'top1', threshold: given, ...rest } = options ?? {};
    const extra = Object.keys(rest);
    if (extra.length) {
      const why = ['rerank', 'queryExpansion'].includes(extra[0] as string)
        ? 'needs the worker (rt.loadGallery); Node galleries search plainly'
        : 'is not an option; the options are k, threshold, vote';
      throw ValidationError.one(what, extra[0] as string, why);
    }
    if (!(Number.isSafeInteger(k) && k >= 1 && k <= 10000))
      throw ValidationError.one(what, 'k', 'must be an integer in [1, 10000]');
    if (!['top1', 'knn'].includes(vote)) throw ValidationError.one(what, 'vote', "must be 'top1' or 'knn'");
    const threshold = checkThreshold(given, this.folder.metric, what) ?? this.folder.threshold;
    if (this.size === 0)
      throw ValidationError.one('gallery.identify', 'gallery', 'the gallery is empty: add references first');
    const dim = this.folder.dim;
    const q = await this.queries(queries, 'gallery.identify');
    const found = topK(q, this.searched, dim, k, this.folder.metric);
    const n = q.length / dim;
    const rows = new Int32Array(found.rows.length);
    const answers: QueryAnswer[] = [];
    for (let i = 0; i < n; i++) {
      const matches = [];
      for (let j = i * found.k; j < (i + 1) * found.k; j++) {
        const row = found.rows[j] as number;
        rows[j] = this.folder.averageReferences ? -1 : row; // a label's mean is no gallery row
        matches.push({
          label: this.searchedLabels[row] as Label,
          score: found.scores[j] as number,
          row: rows[j] as number,
        });
      }
      let label: Label | null = matches[0]?.label ?? null;
      let best = matches[0]?.score ?? NaN;
      if (vote === 'knn' && matches.length > 1) {
        // most votes, then the better best score; a tie on both keeps the label met first (Python's max)
        const tally = new Map<Label, [number, number]>();
        for (const m of matches) {
          const [count, top] = tally.get(m.label) ?? [0, -Infinity];
          tally.set(m.label, [count + 1, Math.max(top, m.score)]);
        }
        let winner: [Label, [number, number]] | null = null;
        for (const entry of tally) {
          if (!winner || entry[1][0] > winner[1][0] || (entry[1][0] === winner[1][0] && entry[1][1] > winner[1][1]))
            winner = entry;
        }
        if (winner) [label, [, best]] = [winner[0], winner[1]];
      }
      if (threshold !== null && !(best >= threshold)) label = null;
      answers.push({ label, score: best, matches });
    }
    return {
      answers,
      threshold,
      scores: new Tensor(found.scores, [n, found.k]),
      rows: new Tensor(rows, [n, found.k]),
    };
  }

  /** Whether each pair (a[i], b[i]) is the same identity: its score against the threshold (the option, else the gallery's). */
  async verify(
    a: NodeQueries | string,
    b: NodeQueries | string,
    options?: { threshold?: number },
  ): Promise<VerifyResult> {
    const threshold = checkThreshold(options?.threshold, this.folder.metric, 'verify options') ?? this.folder.threshold;
    if (threshold === null) {
      throw ValidationError.one(
        'verify options',
        'threshold',
        'no threshold: pass { threshold } or calibrate() the gallery first',
      );
    }
    const ea = await this.queries(typeof a === 'string' ? [a] : a, 'gallery.verify');
    const eb = await this.queries(typeof b === 'string' ? [b] : b, 'gallery.verify');
    if (ea.length !== eb.length) {
      const dim = this.folder.dim;
      throw ValidationError.one(
        'gallery.verify',
        'b',
        `verify takes two batches of the same size, got ${ea.length / dim} and ${eb.length / dim}`,
      );
    }
    const scores = pairScores(ea, eb, this.folder.dim, this.folder.metric);
    return { same: scores.map((s) => s >= threshold), scores, threshold };
  }
}

/** Open a gallery folder saved by the worker, in Node alone (exact galleries; FAISS ones need the worker). */
export function loadGallery(dir: string, options: NodeGalleryOptions = {}): Promise<NodeGallery> {
  // a Promise as rt.loadGallery's, so code moves between the two
  return new Promise((resolve) => {
    resolve(NodeGallery.load(dir, options));
  });
}
