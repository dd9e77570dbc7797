/**
 * `Gallery`: enrolled references that answer "who is this?" (identify), "same person?" (verify),
 * and "nobody I know" below a threshold that calibrate() chooses from data. It lives in the worker
 * (py_bridge/gallery/): embeddings cross only through shared memory. Operations on one gallery run
 * one at a time, in the order they were called.
 */
import { resolve } from 'node:path';
import { ClosedError, ValidationError, WorkerCrashedError } from '../core/errors.js';
import { runJob, type JobOptions } from '../core/jobs.js';
import type { Tensor } from '../core/tensor.js';
import { loadSchema, optionsObject, resolveOptions } from '../core/validate.js';
import { switchedOn } from '../evaluation/config.js';
import type { EmbedConfig, EmbedProgress } from '../model/embedding.js';
import type { Recognizer, WorkerInvoker } from '../model/recognizer.js';
import {
  checkKeys,
  checkThreshold,
  resolveCreateOptions,
  resolveLoadOptions,
  type CreateGalleryOptions,
  type LoadGalleryOptions,
  type CalibrateOptions,
  type GalleryMetric,
  type GalleryProgress,
  type IdentifyOptions,
  type MeasureRecallConfig,
  type TrainIndexConfig,
} from './config.js';
import { checkLabels, embedPart, queryEmbeddings, referenceSet, type GalleryInput, type QueryInput } from './inputs.js';
import type {
  CalibrationReport,
  GalleryDescription,
  GalleryLabels,
  GalleryModel,
  GalleryRemoved,
  GalleryTrained,
  IdentifyRaw,
  IdentifyResult,
  Label,
  RecallReport,
  VerifyResult,
  VerifyScores,
} from './results.js';
import { answersOf } from './answers.js';

type AddOptions = EmbedConfig & JobOptions<EmbedProgress>;

/**
 * Labelled reference embeddings to recognise queries against: add references, calibrate a threshold,
 * identify or verify, save and load. Made by `rt.createGallery(options)` (or `model.createGallery`) or
 * `rt.loadGallery(dir)`; it lives in the worker until `dispose()`.
 */
export class Gallery {
  private disposed = false;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly worker: WorkerInvoker,
    private readonly id: number,
    private readonly model: Recognizer | undefined,
    private state: GalleryDescription,
  ) {}

  /** @internal use `rt.createGallery(options)` or `model.createGallery(options)` */
  static async create(worker: WorkerInvoker, options?: CreateGalleryOptions): Promise<Gallery> {
    const { model, dim, config: resolved } = resolveCreateOptions(options);
    const modelId = model ? model.workerId : null;
    const d = (await worker.invoke('gallery.create', {
      config: resolved,
      model: modelId,
      dim: dim ?? null,
    })) as GalleryDescription;
    return new Gallery(worker, d.id, model, d);
  }

  /** @internal use `rt.loadGallery(dir, options)` */
  static async load(worker: WorkerInvoker, dir: string, options?: LoadGalleryOptions): Promise<Gallery> {
    const model = resolveLoadOptions(dir, options);
    const modelId = model ? model.workerId : null;
    const d = await runJob<never, GalleryDescription>(worker, 'loadGallery', 'gallery.load', {
      dir: resolve(dir),
      model: modelId,
    });
    return new Gallery(worker, d.id, model, d);
  }

  /** References (rows) held. */
  get size(): number {
    return this.state.size;
  }
  /** Distinct labels enrolled. */
  get labelCount(): number {
    return this.state.labelCount;
  }
  /** Length of each embedding it holds. */
  get dim(): number {
    return this.state.dim;
  }
  /** How queries are compared with references (GalleryConfig.metric). */
  get metric(): GalleryMetric {
    return this.state.metric as GalleryMetric;
  }
  /** 'exact' (every query against every reference) or 'faiss' (a FAISS index). */
  get backend(): 'exact' | 'faiss' {
    return this.state.backend as 'exact' | 'faiss';
  }
  /** Whether the index can be searched: false for an IVF or PQ index until train(). */
  get trained(): boolean {
    return this.state.trained;
  }
  /** The acceptance threshold identify() and verify() use by default, or null. */
  get threshold(): number | null {
    return this.state.threshold;
  }
  /** What the last calibrate() measured, or null (none yet, or a threshold set by hand since). */
  get calibration(): CalibrationReport | null {
    return this.state.calibration;
  }
  /** The model the gallery was made with (name, embedding size; the fingerprint once saved), or null. */
  get modelInfo(): GalleryModel | null {
    return this.state.model;
  }

  /** Run operations on this gallery one at a time, in call order. */
  private exclusive<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.disposed) return Promise.reject(new ClosedError(`cannot ${what}: this Gallery has been disposed`));
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => {});
    return run;
  }

  private job<Event, Result>(
    what: string,
    method: string,
    payload: object,
    job: JobOptions<Event> = {},
  ): Promise<Result> {
    return runJob<Event, Result>(this.worker, what, method, { id: this.id, ...payload }, job);
  }

  private keep<T extends GalleryDescription>(d: T): T {
    this.state = d;
    return d;
  }

  /**
   * Enrol references: `{ embeddings, labels }`, `{ paths, labels }` (image files, embedded with the
   * gallery's model), or a data set. Several references per label are fine.
   * @returns the number of references added
   */
  add(input: GalleryInput, options?: AddOptions): Promise<number> {
    return this.exclusive('add', async () => {
      const { onProgress, signal, ...config } = optionsObject(options, 'add options');
      resolveOptions('EmbedConfig', config, 'add options'); // unknown or misspelt options too
      const set = await referenceSet(input, this.model, { ...config, onProgress, signal }, 'gallery.add');
      this.keep(await this.job<never, GalleryDescription>('add', 'gallery.add', set, { signal }));
      return set.labels.length;
    });
  }

  /** Forget every reference of these labels. @returns how many references went */
  remove(labels: Label | Label[]): Promise<number> {
    const list = Array.isArray(labels) ? labels : [labels];
    return this.exclusive('remove', async () => {
      checkLabels(list, list.length, 'remove');
      const d = this.keep(
        (await this.worker.invoke('gallery.remove', { id: this.id, labels: list })) as GalleryRemoved,
      );
      return d.removed;
    });
  }

  /** The distinct labels enrolled, in order of enrolment. */
  labels(): Promise<Label[]> {
    return this.exclusive('list labels', async () => {
      return ((await this.worker.invoke('gallery.labels', { id: this.id })) as GalleryLabels).labels;
    });
  }

  /**
   * Who each query is: its k best matches and a verdict, the best label or null (unknown) when the
   * score is below the threshold (the option, else the gallery's own).
   */
  identify(queries: QueryInput, options: IdentifyOptions = {}): Promise<IdentifyResult> {
    return this.exclusive('identify', async () => {
      const { onProgress, signal, ...config } = options;
      const resolved = resolveOptions('IdentifyConfig', config, 'identify options');
      const threshold = checkThreshold(resolved.threshold, this.metric, 'identify options');
      const embedding = { ...embedPart(resolved), signal };
      const q = await queryEmbeddings(queries, this.model, embedding, 'gallery.identify');
      const payload = {
        queries: q,
        k: resolved.k,
        threshold,
        vote: resolved.vote,
        rerank: switchedOn(resolved.rerank ?? false, 'rerank', 'IdentifyConfig'),
        queryExpansion: switchedOn(resolved.queryExpansion ?? false, 'queryExpansion', 'IdentifyConfig'),
      };
      const raw = await this.job<GalleryProgress, IdentifyRaw>('identify', 'gallery.identify', payload, {
        onProgress,
        signal,
      });
      return { answers: answersOf(raw), threshold: raw.threshold, scores: raw.scores, rows: raw.rows };
    });
  }

  /**
   * Whether each pair (a[i], b[i]) is the same identity: its score against the threshold (the option,
   * else the gallery's own). Pairs of embeddings, image tensors, or image files (one path each, or lists).
   */
  verify(
    a: Tensor | string | string[],
    b: Tensor | string | string[],
    options?: EmbedConfig & { threshold?: number },
  ): Promise<VerifyResult> {
    return this.exclusive('verify', async () => {
      const { threshold: given, ...rest } = optionsObject(options, 'verify options');
      checkKeys(rest, Object.keys(loadSchema('EmbedConfig').properties ?? {}).concat('threshold'), 'verify options');
      const threshold = checkThreshold(given, this.metric, 'verify options') ?? this.state.threshold;
      if (threshold === null) {
        throw ValidationError.one(
          'verify options',
          'threshold',
          'no threshold: pass { threshold } or calibrate() the gallery first',
        );
      }
      const embed = embedPart(resolveOptions('EmbedConfig', embedPart(rest), 'verify options'));
      const [ea, eb] = [
        await queryEmbeddings(typeof a === 'string' ? [a] : a, this.model, embed, 'gallery.verify'),
        await queryEmbeddings(typeof b === 'string' ? [b] : b, this.model, embed, 'gallery.verify'),
      ];
      const out = (await this.worker.invoke('gallery.verify', { id: this.id, a: ea, b: eb })) as VerifyScores;
      const scores = Array.from(out.scores.data);
      return { same: scores.map((s) => s >= threshold), scores, threshold };
    });
  }

  /**
   * Choose the acceptance threshold from labelled held-out queries (some of enrolled identities,
   * some of others), store it with the gallery, and report the open-set figures at it.
   */
  calibrate(validation: GalleryInput, options: CalibrateOptions = {}): Promise<CalibrationReport> {
    return this.exclusive('calibrate', async () => {
      const { onProgress, signal, ...config } = options;
      const resolved = resolveOptions('CalibrateConfig', config, 'calibrate options');
      const set = await referenceSet(validation, this.model, { ...embedPart(resolved), signal }, 'gallery.calibrate');
      const payload = { ...set, targetFar: resolved.targetFar, strategy: resolved.strategy };
      const report = await this.job<GalleryProgress, CalibrationReport>('calibrate', 'gallery.calibrate', payload, {
        onProgress,
        signal,
      });
      this.state = { ...this.state, threshold: report.threshold, calibration: report };
      return report;
    });
  }

  /** Set the acceptance threshold by hand (null: none, every query gets its best label). */
  setThreshold(threshold: number | null): Promise<void> {
    return this.exclusive('set the threshold', async () => {
      const value = checkThreshold(threshold, this.metric, 'setThreshold');
      this.keep(
        (await this.worker.invoke('gallery.setThreshold', { id: this.id, threshold: value })) as GalleryDescription,
      );
    });
  }

  /** Train a FAISS index that needs it (IVF, PQ) on the references, then index them all. @returns references trained on */
  train(options: TrainIndexConfig = {}): Promise<number> {
    return this.exclusive('train', async () => {
      const resolved = resolveOptions('TrainIndexConfig', options, 'train options');
      const payload = { sample: resolved.sample ?? null, seed: resolved.seed };
      return this.keep(await this.job<never, GalleryTrained>('train', 'gallery.train', payload)).trainedOn;
    });
  }

  /** Recall@k of the search index against exact search, on references drawn at random as queries. */
  measureRecall(options: MeasureRecallConfig = {}): Promise<RecallReport> {
    return this.exclusive('measure recall', async () => {
      const resolved = resolveOptions('MeasureRecallConfig', options, 'measureRecall options');
      return this.job<never, RecallReport>('measureRecall', 'gallery.measureRecall', resolved);
    });
  }

  /** Save into a folder (made if missing), atomically: a crash mid-save leaves the previous gallery intact. */
  save(dir: string): Promise<void> {
    if (typeof dir !== 'string' || dir === '')
      return Promise.reject(ValidationError.one('save', 'dir', 'must be a folder path'));
    return this.exclusive('save', async () => {
      await this.job<never, Record<string, never>>('save', 'gallery.save', { dir: resolve(dir) });
      this.keep((await this.worker.invoke('gallery.describe', { id: this.id })) as GalleryDescription);
    });
  }

  /** Free the gallery in the worker. Idempotent; later calls get ClosedError. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue;
    await this.worker.invoke('gallery.dispose', { id: this.id }).catch((err: unknown) => {
      if (!(err instanceof ClosedError) && !(err instanceof WorkerCrashedError)) throw err;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
