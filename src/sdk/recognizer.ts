/**
 * `Recognizer`: a recognition model living in the worker, driven from TypeScript.
 * Configs and inputs are checked here, against the generated schema and the model
 * catalog, before any worker call; the model itself is py_bridge/recognizer.py
 * (recognite's semantics and state-dict keys).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClosedError, ValidationError, type Problem } from './errors.js';
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

  private async call(method: string, payload: Record<string, unknown> = {}): Promise<unknown> {
    if (this.disposed) throw new ClosedError(`cannot call ${method}: this Recognizer has been disposed`);
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

  /** Evaluation-mode embeddings of a batch of images (N × embeddingDim), whatever the current mode. */
  async embed(x: Tensor): Promise<Tensor<'float32'>> {
    checkImageBatch(x, this.info, 'input', this.pretrained);
    return ((await this.call('recognizer.forward', { input: x, eval: true })) as { output: Tensor<'float32'> }).output;
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

  /** Free the model in the worker. Idempotent; later calls get ClosedError. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.worker.invoke('recognizer.dispose', { id: this.id }).catch((err: unknown) => {
      if (!(err instanceof ClosedError) && (err as Error).name !== 'WorkerCrashedError') throw err;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
