/**
 * `Recognizer`: a recognition model living in the worker, driven from TypeScript.
 * Configs and inputs are checked here, against the generated schema and the model
 * catalog, before any worker call; the model itself is py_bridge/model/recognizer.py
 * (recognite's semantics and state-dict keys).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { BusyError, ClosedError, ValidationError, WorkerCrashedError } from '../core/errors.js';
import { runJob, type JobOptions } from '../core/jobs.js';
import { Tensor } from '../core/tensor.js';
import { optionsObject } from '../core/validate.js';
import { toDatasetRef, type DatasetRef } from '../data/dataset-ref.js';
import {
  checkExportPath,
  packageVersion,
  resolveExportOnnxConfig,
  type ExportOnnxOptions,
  type OnnxExportProgress,
  type OnnxExportResult,
} from '../deploy/config.js';
import {
  checkRerankSize,
  resolveEvaluateConfig,
  resolveSide,
  type EvaluateOptions,
  type EvaluateProgress,
} from '../evaluation/config.js';
import type { EvaluationReport, EvaluationReportWithHtml } from '../evaluation/report.js';
import type { CreateGalleryOptions } from '../gallery/config.js';
import { Gallery } from '../gallery/gallery.js';
import { reportSource, withSaveHtml } from '../report/save.js';
import { resolveFitConfig, type FitOptions } from '../training/config.js';
import type { FitEvent, FitOutcome, FitResult } from '../training/results.js';
import { modelInfo, type ModelInfo, type ModelName } from './catalog.js';
import { resolveRecognizerConfig, type RecognizerConfig, type ResolvedRecognizerConfig } from './config.js';
import { resolveEmbedConfig, type EmbedOptions, type EmbedProgress, type EmbeddingSet } from './embedding.js';
import { checkImageBatch } from './input-checks.js';
import type {
  CheckpointDescription,
  ClassifierResult,
  EmbedResult,
  ForwardResult,
  RecognizerDescription,
} from './results.js';

/** How to load a model from a file (rt.loadRecognizer). */
export interface LoadRecognizerOptions {
  /** The backbone of a plain state dict (saveStateDict); fit() checkpoints record theirs. */
  modelName?: ModelName;
}

/** @internal What a Recognizer needs of its Recognite: a way to call the worker. */
export interface WorkerInvoker {
  invoke(method: string, payload: Record<string, unknown>): Promise<unknown>;
}

/**
 * A recognition model in the worker: a torchvision backbone whose output is the embedding, and an
 * optional cosine classifier for training. Made by `rt.createRecognizer(config)` or
 * `rt.loadRecognizer(path)`; `dispose()` frees it in the worker.
 */
export class Recognizer {
  private disposed = false;
  private busy = false;
  private isTraining: boolean;

  private constructor(
    private readonly worker: WorkerInvoker,
    private readonly id: number,
    /** The configuration, with defaults filled in. */
    readonly config: Readonly<ResolvedRecognizerConfig>,
    /** Size of the embeddings. */
    readonly embeddingDim: number,
    /** Rows of the classifier, or null without one. */
    readonly numClasses: number | null,
    training: boolean,
    /** What the checkpoint it was loaded from held (rt.loadRecognizer), else null. */
    readonly checkpoint: Readonly<CheckpointDescription> | null = null,
  ) {
    this.isTraining = training;
  }

  /** @internal use `rt.createRecognizer(config)` */
  static async create(worker: WorkerInvoker, config: RecognizerConfig): Promise<Recognizer> {
    const resolved = resolveRecognizerConfig(config);
    const d = (await worker.invoke('recognizer.create', { config: resolved })) as RecognizerDescription;
    return new Recognizer(worker, d.id, Object.freeze(resolved), d.embeddingDim, d.numClasses, d.training);
  }

  /**
   * @internal use `rt.loadRecognizer(path)`. A fit() checkpoint records its model; a plain state dict
   * needs `modelName` (its number of classes is read from the file).
   */
  static async load(worker: WorkerInvoker, path: string, options: LoadRecognizerOptions = {}): Promise<Recognizer> {
    const { modelName } = optionsObject(options, 'loadRecognizer options');
    if (typeof path !== 'string' || path === '') throw ValidationError.one('path', 'path', 'must be a file path');
    if (!existsSync(path)) throw ValidationError.one('path', 'path', `file not found: ${resolve(path)}`);
    const described = (await worker.invoke('recognizer.inspect', { path: resolve(path) })) as CheckpointDescription;
    const recorded = described.modelName;
    if (recorded !== null && modelName !== undefined && modelName !== recorded) {
      throw ValidationError.one(
        'modelName',
        'modelName',
        `${path} holds a ${recorded} (recorded by fit()), not a ${modelName}: leave modelName out`,
      );
    }
    const name = recorded ?? modelName;
    if (name === undefined) {
      throw ValidationError.one(
        'modelName',
        'modelName',
        `${path} is a plain state dict, which does not record its backbone: pass { modelName } (e.g. 'resnet18')`,
      );
    }
    const config = resolveRecognizerConfig({
      modelName: name as ModelName,
      ...(described.numClasses !== null && { numClasses: described.numClasses }),
      clfBias: described.clfBias,
      ...(described.normalize !== null && { normalize: described.normalize }),
    });
    const d = (await worker.invoke('recognizer.create', { config })) as RecognizerDescription;
    const model = new Recognizer(
      worker,
      d.id,
      Object.freeze(config),
      d.embeddingDim,
      d.numClasses,
      d.training,
      Object.freeze(described),
    );
    try {
      await model.loadStateDict(path);
      await model.eval();
    } catch (err) {
      await model.dispose();
      throw err;
    }
    return model;
  }

  /** @internal The model's id in the worker (galleries record which model they were made with). */
  get workerId(): number {
    return this.id;
  }

  /**
   * A gallery of this model's embeddings: enrol references, then identify and verify images.
   * Same as `rt.createGallery({ model, ...options })`.
   */
  async createGallery(options: Omit<CreateGalleryOptions, 'model' | 'dim'> = {}): Promise<Gallery> {
    this.assertUsable('create a gallery');
    return Gallery.create(this.worker, { ...options, model: this });
  }

  /** The catalog entry of this model's backbone. */
  get info(): ModelInfo {
    return modelInfo(this.config.modelName);
  }

  private get pretrained(): boolean {
    return this.config.weights !== null || this.config.weightsPath !== null;
  }

  /** Whether the model is in training mode (a new model is, as in PyTorch). */
  get training(): boolean {
    return this.isTraining;
  }

  private assertUsable(what: string): void {
    if (this.disposed) throw new ClosedError(`cannot ${what}: this Recognizer has been disposed`);
    if (this.busy) {
      throw new BusyError(
        `cannot ${what}: a fit(), embed() or evaluate() job is running on this model; await it first`,
      );
    }
  }

  private async call(method: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    this.assertUsable(method);
    return this.worker.invoke(method, { id: this.id, ...payload });
  }

  /** Switch to training mode: forward returns logits when there is a classifier. */
  async train(): Promise<void> {
    await this.call('recognizer.mode', { training: true });
    this.isTraining = true;
  }

  /** Switch to evaluation mode: forward returns embeddings. */
  async eval(): Promise<void> {
    await this.call('recognizer.mode', { training: false });
    this.isTraining = false;
  }

  /**
   * Run the model on a batch of images (float32, N × 3 × H × W, already normalised).
   * @returns logits (N × numClasses) in training mode with a classifier, else embeddings (N × embeddingDim)
   */
  async forward(x: Tensor): Promise<Tensor<'float32'>> {
    checkImageBatch(x, this.info, 'input', this.pretrained);
    return ((await this.call('recognizer.forward', { input: x, eval: false })) as ForwardResult).output;
  }

  /**
   * Evaluation-mode embeddings (N × embeddingDim), whatever the current mode, of a batch of images
   * (a Tensor), or of image files: a list of paths or a data set CSV, decoded in the worker in
   * batches (resize + centre crop to `size`), with progress and cancellation.
   */
  async embed(x: Tensor): Promise<Tensor<'float32'>>;
  async embed(x: string[] | DatasetRef, options?: EmbedOptions): Promise<Tensor<'float32'>>;
  async embed(x: Tensor | string[] | DatasetRef, options: EmbedOptions = {}): Promise<Tensor<'float32'>> {
    if (x instanceof Tensor) {
      checkImageBatch(x, this.info, 'input', this.pretrained);
      return ((await this.call('recognizer.forward', { input: x, eval: true })) as ForwardResult).output;
    }
    return (await this.embedFiles(x, options)).embeddings;
  }

  /**
   * A data set's evaluation-mode embeddings together with its labels (one per row, in the CSV's
   * order): what evaluate() and galleries take, without reading the CSV yourself.
   */
  async embedDataset(dataset: DatasetRef, options: EmbedOptions = {}): Promise<EmbeddingSet> {
    const given: unknown = dataset; // JavaScript callers can pass anything
    if (!given || typeof given !== 'object' || Array.isArray(given) || given instanceof Tensor) {
      throw ValidationError.one('embedDataset input', '', 'must be a data set ({ csv })');
    }
    const { embeddings, labels } = await this.embedFiles(dataset, options);
    return { embeddings, labels: labels ?? [] };
  }

  private async embedFiles(x: string[] | DatasetRef, options: EmbedOptions): Promise<EmbedResult> {
    const { onProgress, signal, ...config } = optionsObject(options, 'embed options');
    const resolved = resolveEmbedConfig(config, this.info);
    let source: { paths: string[]; dataset: null } | { paths: null; dataset: Required<DatasetRef> };
    if (Array.isArray(x)) {
      const bad = x.findIndex((p) => typeof p !== 'string' || p === '');
      if (bad >= 0 || x.length === 0) {
        const path = bad >= 0 ? `paths[${bad}]` : 'paths';
        throw ValidationError.one('embed input', path, 'must be a non-empty list of image file paths');
      }
      source = { paths: x.map((p) => resolve(p)), dataset: null };
    } else if ((x as unknown) && typeof x === 'object') {
      source = { paths: null, dataset: toDatasetRef(x) };
    } else {
      throw ValidationError.one('embed input', '', 'must be a Tensor, a list of image paths, or a data set ({ csv })');
    }
    const payload = { id: this.id, ...source, options: resolved };
    return this.runModelJob<EmbedProgress, EmbedResult>('embed', 'recognizer.embedFiles', payload, {
      onProgress,
      signal,
    });
  }

  /** Run a job on this model: it refuses other calls (BusyError) until the job ends. */
  private async runModelJob<Event, Result>(
    what: string,
    method: string,
    payload: Record<string, unknown>,
    job: JobOptions<Event>,
  ): Promise<Result> {
    this.assertUsable(what);
    this.busy = true;
    try {
      return await runJob<Event, Result>(this.worker, what, method, payload, job);
    } finally {
      this.busy = false;
    }
  }

  /** Copies of the classifier's weight (numClasses × embeddingDim) and bias, or null without a classifier. */
  async classifierWeights(): Promise<{ weight: Tensor<'float32'>; bias: Tensor<'float32'> | null } | null> {
    const out = (await this.call('recognizer.classifier')) as ClassifierResult;
    return out.weight ? { weight: out.weight, bias: out.bias } : null;
  }

  /** Save the state dict (keys as recognite's Recognizer: backbone.*, classifier.*), atomically. */
  async saveStateDict(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw ValidationError.one('path', 'path', 'must be a file path');
    await this.call('recognizer.save', { path: resolve(path) });
  }

  /**
   * Load a state dict saved by saveStateDict (or by recognite, or torch.save(model.state_dict())).
   * @throws ValidationError naming the missing, unexpected or mis-shaped keys when it does not fit
   */
  async loadStateDict(path: string): Promise<void> {
    if (typeof path !== 'string' || path === '') throw ValidationError.one('path', 'path', 'must be a file path');
    if (!existsSync(path)) throw ValidationError.one('path', 'path', `file not found: ${resolve(path)}`);
    await this.call('recognizer.load', { path: resolve(path) });
  }

  /**
   * Train the model (softmax cross-entropy over its cosine logits, scaled by logitScale, with an
   * optional CosFace margin; SGD). Runs in the worker as a job: progress events reach
   * `onProgress`, `signal` stops it after the current batch (rejecting with AbortError), and
   * `checkpointDir` gets an atomic checkpoint after every epoch.
   * @returns the history, the classes, and the configuration that ran (every default filled in)
   * @throws ValidationError for bad options, before anything runs
   */
  async fit(options: FitOptions): Promise<FitResult> {
    const { onProgress, signal, ...config } = optionsObject(options, 'fit options');
    const resolved = resolveFitConfig(config, this.info, this.numClasses);
    const payload = { id: this.id, options: resolved };
    const outcome = await this.runModelJob<FitEvent, FitOutcome>('fit', 'recognizer.fit', payload, {
      onProgress,
      signal,
    });
    return { ...outcome, config: resolved };
  }

  /**
   * How well this model recognises the queries against the gallery: both are data sets (embedded
   * here in evaluation mode, with progress) or precomputed embeddings with labels. Scores are
   * computed in chunks, so memory stays bounded whatever the sizes. The report holds what its HTML
   * page draws (pair-score histograms, the PR curve, the worst and best queries), and
   * `report.saveHtml(path)` writes that page (docs/REPORT.md).
   * @throws ValidationError for bad options, before anything runs
   */
  async evaluate(options: EvaluateOptions): Promise<EvaluationReportWithHtml> {
    const { onProgress, signal, gallery, query, ...config } = optionsObject(options, 'evaluate options');
    const payload = {
      id: this.id,
      gallery: resolveSide(gallery, 'gallery'),
      query: resolveSide(query, 'query'),
      options: resolveEvaluateConfig(config, this.info),
    };
    checkRerankSize(payload.gallery, payload.query, payload.options);
    const report = await this.runModelJob<EvaluateProgress, EvaluationReport>(
      'evaluate',
      'recognizer.evaluate',
      payload,
      { onProgress, signal },
    );
    const source = reportSource(this.worker, this.config, this.checkpoint, payload);
    return withSaveHtml(report, source);
  }

  /**
   * Export the embedding path (backbone plus the L2 normalisation: exactly what embed() computes) to
   * an ONNX file, with a JSON sidecar beside it (`<path>.json`: input size, preprocessing, opset,
   * weights fingerprint, … see OnnxSidecar) for running it without Python (OnnxRecognizer). Runs in the
   * worker as a job (torch's dynamo exporter on a CPU copy; the model itself is left as it is), which
   * then runs the file with onnxruntime against torch on probe images and refuses (writing nothing)
   * when they disagree.
   * @param path the .onnx file to write, in a folder that exists
   * @returns the paths written and the sidecar, whose `check` holds the measured agreement
   * @throws ValidationError for a bad path or options (a size the model cannot take), before the worker is asked
   * @throws WorkerError (pythonType 'OnnxCheckFailed') when the exported file disagrees with the model
   */
  async exportOnnx(path: string, options: ExportOnnxOptions = {}): Promise<OnnxExportResult> {
    const { onProgress, signal, ...config } = optionsObject(options, 'exportOnnx options');
    const target = checkExportPath(path);
    const resolved = resolveExportOnnxConfig(config, this.info, this.pretrained);
    const payload = { id: this.id, path: target, options: resolved, recogniteTs: packageVersion() };
    return this.runModelJob<OnnxExportProgress, OnnxExportResult>('exportOnnx', 'recognizer.exportOnnx', payload, {
      onProgress,
      signal,
    });
  }

  /** Free the model in the worker. Idempotent; later calls get ClosedError. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.worker.invoke('recognizer.dispose', { id: this.id }).catch((err: unknown) => {
      // a closed or dead worker has freed the model already
      if (!(err instanceof ClosedError) && !(err instanceof WorkerCrashedError)) throw err;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
