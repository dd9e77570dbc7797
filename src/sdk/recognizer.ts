/**
 * `Recognizer`: a recognition model living in the worker, driven from TypeScript.
 * Configs and inputs are checked here, against the generated schema and the model
 * catalog, before any worker call; the model itself is py_bridge/recognizer.py
 * (recognite's semantics and state-dict keys).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { toDatasetRef, type DatasetRef } from './data.js';
import { ClosedError, RecogniteError, ValidationError, WorkerCrashedError, type Problem } from './errors.js';
import { runJob, type JobOptions } from './jobs.js';
import { modelInfo, type ModelInfo, type ModelName } from './models.js';
import { Tensor } from './tensor.js';
import { validate } from './validate.js';

/** How to build a Recognizer. */
export interface RecognizerConfig {
  /** The torchvision backbone (see SUPPORTED_MODELS). */
  modelName: ModelName;
  /**
   * Rows of the bias-free classifier that replaces the backbone's last fully-connected layer,
   * one per training class. Without it the model has no classifier and returns embeddings in both modes.
   * @minimum 1
   * @TJS-type integer
   */
  numClasses?: number;
  /**
   * Pretrained weights: null for random initialisation, 'DEFAULT', or a name such as
   * 'ResNet18_Weights.IMAGENET1K_V1' (see modelInfo(name).weights). Loaded from torchvision's cache (TORCH_HOME).
   * @default null
   */
  weights?: string | null;
  /**
   * A local torchvision-format state dict of the base model (with its 1000-class head),
   * loaded before the classifier is replaced. Exclusive with `weights`.
   */
  weightsPath?: string;
  /**
   * Give the classifier a bias.
   * @default false
   */
  clfBias?: boolean;
  /**
   * L2-normalise embeddings, and the classifier's rows in training mode (cosine-similarity logits).
   * @default true
   */
  normalize?: boolean;
}

/** How to train: the plain, validated part of FitOptions. */
export interface FitConfig {
  /** The training set; its number of labels must equal the model's numClasses. */
  train: DatasetRef;
  /** A gallery and a query set of labels unseen in training: top-1 accuracy is measured after each epoch. */
  validation?: { gallery: DatasetRef; query: DatasetRef };
  /**
   * Passes over the training set.
   * @minimum 1
   * @TJS-type integer
   */
  epochs: number;
  /**
   * @default 32
   * @minimum 1
   * @TJS-type integer
   */
  batchSize?: number;
  /**
   * SGD learning rate.
   * @default 0.01
   * @exclusiveMinimum 0
   */
  lr?: number;
  /**
   * @default 0.9
   * @minimum 0
   */
  momentum?: number;
  /**
   * @default 0.0005
   * @minimum 0
   */
  weightDecay?: number;
  /**
   * Side of the square training crops (shortest side resized to it, then a random crop).
   * @default the model's defaultInputSize
   * @minimum 1
   * @TJS-type integer
   */
  size?: number;
  /**
   * Random horizontal flips during training.
   * @default true
   */
  hflip?: boolean;
  /**
   * Multiplies the cosine logits before the softmax (NormFace). With margin 0, 1 reproduces
   * recognite's objective exactly, whose unscaled logits barely train; 16 (with margin 0.2) is the
   * measured default (docs/BENCHMARKS.md).
   * @default 16
   * @exclusiveMinimum 0
   */
  logitScale?: number;
  /**
   * Additive cosine margin on the target class (CosFace); 0 turns it off.
   * @default 0.2
   * @minimum 0
   */
  margin?: number;
  /**
   * Data order, augmentation and dropout derive from it: the same seed, the same run (on the CPU).
   * @default 0
   * @minimum 0
   * @TJS-type integer
   */
  seed?: number;
  /**
   * Image-loading processes.
   * @default one per spare core, at most 4
   * @minimum 0
   * @TJS-type integer
   */
  numWorkers?: number;
  /** Folder for an atomic checkpoint (last.pt) after every epoch. */
  checkpointDir?: string;
  /** A checkpoint (last.pt) to continue from. */
  resumeFrom?: string;
}

/** A progress event of one training batch. */
export interface FitBatchEvent {
  type: 'batch';
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  samplesPerSec: number;
  etaSeconds: number;
}

/** What one epoch gave: mean loss, duration, and top-1 on the validation set when one was given. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  /** Unseen-identity top-1 accuracy of the queries against the gallery. */
  top1?: number;
  top5?: number;
  /** Mean average precision (recognite's convention: a query without positives counts as 0). */
  mAP?: number;
  /** 1 / number of gallery labels: what guessing would score. */
  chanceTop1?: number;
}

export type FitEvent = FitBatchEvent | ({ type: 'epoch'; epochs: number } & EpochRecord);

/** Training options: a FitConfig plus progress and cancellation. */
export interface FitOptions extends FitConfig, JobOptions<FitEvent> {}

/** What fit returns. */
export interface FitResult {
  history: EpochRecord[];
  seconds: number;
  /** The training labels, in the order of the classifier's rows. */
  classes: Array<string | number>;
}

/** How to embed image files: the plain, validated part of EmbedOptions. */
export interface EmbedConfig {
  /**
   * Side of the square the images are resized and centre-cropped to.
   * @default the model's defaultInputSize
   * @minimum 1
   * @TJS-type integer
   */
  size?: number;
  /**
   * @default 64
   * @minimum 1
   * @TJS-type integer
   */
  batchSize?: number;
  /**
   * Image-loading processes.
   * @default one per spare core, at most 4
   * @minimum 0
   * @TJS-type integer
   */
  numWorkers?: number;
}

/** Progress of embedding image files. */
export interface EmbedProgress {
  type: 'progress';
  done: number;
  total: number;
}

/** Options of `embed(paths)`: an EmbedConfig plus progress and cancellation. */
export interface EmbedOptions extends EmbedConfig, JobOptions<EmbedProgress> {}

/** Precomputed embeddings (N × D) with one label per row. */
export interface EmbeddingSet {
  embeddings: Tensor<'float32'>;
  labels: Array<string | number>;
}

/** How to evaluate: the plain, validated part of EvaluateOptions. */
export interface EvaluateConfig {
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
   * Test-time augmentation for data sets: average the embeddings of a horizontal flip ('flip'),
   * of recognite's three crops along the longest side ('threeCrop'), or both ('threeCropFlip').
   * @default "none"
   */
  tta?: 'none' | 'flip' | 'threeCrop' | 'threeCropFlip';
  /**
   * Return the k best gallery rows and their scores for every query.
   * @default false
   */
  topMatches?: boolean;
  /**
   * Return per-query tensors: AP, rank of the first correct match, kNN prediction (label index), max F1,
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
   * @default as many as fit in about 256 MiB of working memory (at most 1024)
   * @minimum 1
   * @TJS-type integer
   */
  chunkSize?: number;
  /**
   * Side of the square images are resized and centre-cropped to, for data sets.
   * @default the model's defaultInputSize
   * @minimum 1
   * @TJS-type integer
   */
  size?: number;
  /**
   * @default 64
   * @minimum 1
   * @TJS-type integer
   */
  batchSize?: number;
  /**
   * @minimum 0
   * @TJS-type integer
   */
  numWorkers?: number;
}

/** Progress of an evaluation: embedding the gallery, the queries, then scoring. */
export interface EvaluateProgress {
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

/** An acceptance threshold for open-set use, at a target false-accept rate. */
export interface ThresholdAtFar {
  /** The false-accept rate asked for. */
  far: number;
  threshold: number | null;
  /** False-accept rate the threshold gives on this data. */
  measuredFar: number | null;
  /** True-accept rate at that threshold. */
  tar: number | null;
}

/** What evaluate() measured: recognite's metrics and more (null where undefined). */
export interface EvaluationReport {
  metric: string;
  k: number;
  numQueries: number;
  numGallery: number;
  /** Queries whose label has no gallery item. */
  queriesWithoutPositives: number;
  /** Top-1: the best-scoring gallery item has the query's label. */
  accuracy: number;
  /** One of the k best has the query's label. */
  topKAccuracy: number;
  /** Rank-1 … rank-k accuracy. */
  cmc: number[];
  /** k-nearest-neighbour vote (ties to the nearest). */
  knnAccuracy: number;
  /** Mean average precision, a query without positives counting as 0 (recognite's convention). */
  mAP: number;
  /** Mean AP over queries that have a positive (the re-identification convention). */
  mAPWithPositives: number | null;
  apPerLabel: Array<{ label: string | number; ap: number | null }>;
  /** Means over queries of the point of maximum F1 on each query's precision-recall curve. */
  meanMaxF1: { f1: number; precision: number; recall: number; threshold: number };
  /** pytorch-metric-learning's precision@1, R-precision and MAP@R. */
  precisionAt1: number;
  rPrecision: number;
  mapAtR: number;
  meanHardPositiveScore: number | null;
  meanHardNegativeScore: number | null;
  /** Suggested acceptance thresholds, from each query's best positive and best negative score. */
  thresholds: {
    positives: number;
    negatives: number;
    maxF1: { threshold: number; f1: number; precision: number; recall: number } | null;
    falseAcceptTargets: ThresholdAtFar[];
  };
  /** With topMatches: the k best gallery rows (int64) and scores of every query, Nq × k. */
  topMatches?: { indices: Tensor<'int64'>; scores: Tensor<'float32'> };
  /** With returnEmbeddings. */
  embeddings?: { gallery: Tensor<'float32'>; query: Tensor<'float32'> };
  /** With perQuery: one entry per query (NaN where undefined). */
  perQuery?: {
    ap: Tensor<'float32'>;
    /** 0-based rank of the first gallery item with the query's label (Ng when there is none). */
    firstHitRank: Tensor<'int64'>;
    knnPrediction: Tensor<'int64'>;
    maxF1: Tensor<'float32'>;
    hardPositiveScore: Tensor<'float32'>;
    hardNegativeScore: Tensor<'float32'>;
  };
  /** With returnScores: Nq × Ng. */
  scores?: Tensor<'float32'>;
  /** With curves: each query's precision-recall curve. */
  curves?: Array<{ precision: number[]; recall: number[]; thresholds: number[] }>;
}

/** A RecognizerConfig with every default filled in. */
export interface ResolvedRecognizerConfig {
  modelName: ModelName;
  numClasses: number | null;
  weights: string | null;
  weightsPath: string | null;
  clfBias: boolean;
  normalize: boolean;
}

/** What a Recognizer needs of its Recognite: a way to call the worker. */
export interface WorkerInvoker {
  invoke(method: string, payload: Record<string, unknown>): Promise<unknown>;
}

interface Described {
  id: number;
  embeddingDim: number;
  numClasses: number | null;
  training: boolean;
}

/**
 * Check a RecognizerConfig against the schema and the catalog, and fill in its defaults.
 * @throws ValidationError listing every problem (unknown model names and weights get the valid choices)
 */
export function resolveRecognizerConfig(config: RecognizerConfig): ResolvedRecognizerConfig {
  validate('RecognizerConfig', config);
  const info = modelInfo(config.modelName);
  const problems: Problem[] = [];
  if (typeof config.weights === 'string' && !info.weights.includes(config.weights)) {
    problems.push({
      path: 'weights',
      message: `unknown weights ${JSON.stringify(config.weights)} for ${config.modelName}; valid: ${info.weights.join(', ')} (or null for random initialisation)`,
    });
  }
  if (config.weightsPath !== undefined) {
    if (typeof config.weights === 'string') {
      problems.push({ path: 'weightsPath', message: 'pass either weights or weightsPath, not both' });
    }
    if (!existsSync(config.weightsPath)) {
      problems.push({ path: 'weightsPath', message: `file not found: ${resolve(config.weightsPath)}` });
    }
  }
  if (problems.length) throw new ValidationError('RecognizerConfig', problems);
  return {
    modelName: config.modelName,
    numClasses: config.numClasses ?? null,
    weights: config.weights ?? null,
    weightsPath: config.weightsPath === undefined ? null : resolve(config.weightsPath),
    clfBias: config.clfBias ?? false,
    normalize: config.normalize ?? true,
  };
}

/**
 * Check that `x` is a batch of images this model can take: float32, N × 3 × H × W with N ≥ 1,
 * H and W at least the model's minimum (exactly its size where it is fixed), all values finite.
 */
export function checkImageBatch(
  x: unknown,
  info: ModelInfo,
  what = 'input',
  pretrained = false,
): asserts x is Tensor<'float32'> {
  // The catalog's sizes are those of the model built without weights; pretrained ViT weights
  // can fix a larger size (vit_h_14's DEFAULT: 518), which only the worker knows.
  const bounded = !(pretrained && info.fixedInputSize);
  const size = bounded ? info.minInputSize : 1;
  const max = bounded ? (info.maxInputSize ?? Infinity) : Infinity;
  const expected =
    info.fixedInputSize && bounded
      ? `N × 3 × ${size} × ${size} (${info.name} takes exactly ${size}×${size})`
      : `N × 3 × H × W with ${max < Infinity ? `${size} ≤ H, W ≤ ${max}` : `H, W ≥ ${size}`}`;
  if (!(x instanceof Tensor)) {
    throw ValidationError.one(what, '', `must be a Tensor of shape ${expected}, got ${typeof x}`);
  }
  const problems: Problem[] = [];
  if (x.dtype !== 'float32') problems.push({ path: 'dtype', message: `must be 'float32', got '${x.dtype}'` });
  const [n, c, h, w] = x.shape;
  if (x.shape.length !== 4 || n === undefined || c === undefined || h === undefined || w === undefined) {
    problems.push({ path: 'shape', message: `must be ${expected}, got [${x.shape.join(', ')}]` });
  } else {
    if (n < 1) problems.push({ path: 'shape[0]', message: 'the batch is empty; pass at least one image' });
    if (c !== 3) problems.push({ path: 'shape[1]', message: `must be 3 colour channels, got ${c}` });
    const ok = h >= size && w >= size && h <= max && w <= max;
    if (!ok) problems.push({ path: 'shape', message: `must be ${expected}, got [${x.shape.join(', ')}]` });
  }
  if (problems.length === 0) {
    const data = x.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        problems.push({ path: `data[${i}]`, message: `must be finite, got ${data[i]}` });
        break;
      }
    }
  }
  if (problems.length) throw new ValidationError(what, problems);
}

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
  ) {
    this.isTraining = training;
  }

  /** @internal use `rt.createRecognizer(config)` */
  static async create(worker: WorkerInvoker, config: RecognizerConfig): Promise<Recognizer> {
    const resolved = resolveRecognizerConfig(config);
    const d = (await worker.invoke('recognizer.create', { config: resolved })) as Described;
    return new Recognizer(worker, d.id, Object.freeze(resolved), d.embeddingDim, d.numClasses, d.training);
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
      throw new RecogniteError(`cannot ${what}: a fit() or embed() job is running on this model; await it first`);
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
    return ((await this.call('recognizer.forward', { input: x })) as { output: Tensor<'float32'> }).output;
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
      return ((await this.call('recognizer.forward', { input: x, eval: true })) as { output: Tensor<'float32'> })
        .output;
    }
    const { onProgress, signal, ...config } = options;
    validate('EmbedConfig', config);
    let source: { paths: string[] } | { dataset: DatasetRef };
    if (Array.isArray(x)) {
      const bad = x.findIndex((p) => typeof p !== 'string' || p === '');
      if (bad >= 0 || x.length === 0) {
        const path = bad >= 0 ? `paths[${bad}]` : 'paths';
        throw ValidationError.one('embed input', path, 'must be a non-empty list of image file paths');
      }
      source = { paths: x.map((p) => resolve(p)) };
    } else if (x && typeof x === 'object') {
      source = { dataset: toDatasetRef(x) };
    } else {
      throw ValidationError.one('embed input', '', 'must be a Tensor, a list of image paths, or a data set ({ csv })');
    }
    const size = config.size ?? this.info.defaultInputSize;
    if (size < this.info.minInputSize) {
      const message = `${this.config.modelName} needs at least ${this.info.minInputSize}, got ${size}`;
      throw ValidationError.one('EmbedOptions', 'size', message);
    }
    this.assertUsable('embed');
    this.busy = true; // the model is busy until the job ends
    try {
      const out = await runJob<EmbedProgress, { embeddings: Tensor<'float32'> }>(
        this.worker,
        'embed',
        'recognizer.embedFiles',
        { id: this.id, ...config, size, ...source },
        { onProgress, signal },
      );
      return out.embeddings;
    } finally {
      this.busy = false;
    }
  }

  /** Copies of the classifier's weight (numClasses × embeddingDim) and bias, or null without a classifier. */
  async classifierWeights(): Promise<{ weight: Tensor<'float32'>; bias: Tensor<'float32'> | null } | null> {
    const out = (await this.call('recognizer.classifier')) as {
      weight: Tensor<'float32'> | null;
      bias: Tensor<'float32'> | null;
    };
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
   * @throws ValidationError for bad options, before anything runs
   */
  async fit(options: FitOptions): Promise<FitResult> {
    const { onProgress, signal, ...rest } = options;
    const config: FitConfig = {
      ...rest,
      train: rest.train && toDatasetRef(rest.train, 'train'),
      validation: rest.validation && {
        gallery: toDatasetRef(rest.validation.gallery, 'validation.gallery'),
        query: toDatasetRef(rest.validation.query, 'validation.query'),
      },
    };
    if (config.validation === undefined) delete config.validation;
    validate('FitConfig', config);
    const problems: Problem[] = [];
    if (this.numClasses === null) {
      problems.push({
        path: 'numClasses',
        message: 'this model has no classifier: create it with numClasses to train it',
      });
    }
    const size = config.size ?? this.info.defaultInputSize;
    if (size < this.info.minInputSize) {
      problems.push({
        path: 'size',
        message: `${this.config.modelName} needs at least ${this.info.minInputSize}, got ${size}`,
      });
    }
    if (config.resumeFrom !== undefined && !existsSync(config.resumeFrom)) {
      problems.push({ path: 'resumeFrom', message: `checkpoint not found: ${resolve(config.resumeFrom)}` });
    }
    if (problems.length) throw new ValidationError('FitOptions', problems);
    const payload = {
      ...config,
      size,
      checkpointDir: config.checkpointDir && resolve(config.checkpointDir),
      resumeFrom: config.resumeFrom && resolve(config.resumeFrom),
    };
    this.assertUsable('fit');
    this.busy = true;
    try {
      return await runJob<FitEvent, FitResult>(
        this.worker,
        'fit',
        'recognizer.fit',
        { id: this.id, options: payload },
        { onProgress, signal },
      );
    } finally {
      this.busy = false;
    }
  }

  /**
   * How well this model recognises the queries against the gallery: both are data sets (embedded
   * here in evaluation mode, with progress) or precomputed embeddings with labels. Scores are
   * computed in chunks, so memory stays bounded whatever the sizes.
   * @throws ValidationError for bad options, before anything runs
   */
  async evaluate(options: EvaluateOptions): Promise<EvaluationReport> {
    const { onProgress, signal, gallery, query, ...config } = options;
    validate('EvaluateConfig', config);
    const size = config.size ?? this.info.defaultInputSize;
    const side = (value: DatasetRef | EmbeddingSet, name: string): Record<string, unknown> => {
      if (value && typeof value === 'object' && 'embeddings' in value) {
        const { embeddings, labels } = value;
        if (!(embeddings instanceof Tensor) || embeddings.dtype !== 'float32' || embeddings.shape.length !== 2) {
          throw ValidationError.one('EvaluateOptions', `${name}.embeddings`, 'must be a float32 Tensor of shape N × D');
        }
        if (!Array.isArray(labels) || labels.length !== embeddings.shape[0]) {
          throw ValidationError.one(
            'EvaluateOptions',
            `${name}.labels`,
            `must hold one label per row (${embeddings.shape[0]})`,
          );
        }
        return { embeddings, labels };
      }
      return { dataset: toDatasetRef(value, name) };
    };
    const payload = {
      id: this.id,
      gallery: side(gallery, 'gallery'),
      query: side(query, 'query'),
      options: { ...config, size },
    };
    this.assertUsable('evaluate');
    this.busy = true;
    try {
      return await runJob<EvaluateProgress, EvaluationReport>(this.worker, 'evaluate', 'recognizer.evaluate', payload, {
        onProgress,
        signal,
      });
    } finally {
      this.busy = false;
    }
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
