/**
 * `OnnxRecognizer`: embeddings from a model exported with `model.exportOnnx(path)`, in Node alone —
 * onnxruntime on the CPU, no worker, no Python. It feeds the model exactly what the worker would
 * (images.ts) and checks the file, its sidecar and every input before running anything.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { onnxRuntime } from './optional-deps.js';
import { ClosedError, ValidationError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { imageBatch } from './images.js';
import { readExportedModel } from './read-sidecar.js';
import type { OnnxSidecar } from './sidecar.js';

/** Options of `OnnxRecognizer.load`. */
export interface OnnxRecognizerOptions {
  /** onnxruntime's threads inside one operator (intra-op); default: onnxruntime's choice (the cores). */
  intraOpNumThreads?: number;
  /** Images per onnxruntime run when a call has more (default 32). */
  batchSize?: number;
}

const WHAT = 'OnnxRecognizer.load';

function checkOptions(options: OnnxRecognizerOptions): { threads: number | undefined; batchSize: number } {
  const known = ['intraOpNumThreads', 'batchSize'];
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length) {
    throw ValidationError.one(WHAT, unknown[0] as string, `is not an option; the options are ${known.join(', ')}`);
  }
  const { intraOpNumThreads: threads, batchSize = 32 } = options;
  if (threads !== undefined && !(Number.isSafeInteger(threads) && threads >= 1 && threads <= 1024)) {
    throw ValidationError.one(WHAT, 'intraOpNumThreads', `must be an integer in [1, 1024]; got ${String(threads)}`);
  }
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1 && batchSize <= 4096)) {
    throw ValidationError.one(WHAT, 'batchSize', `must be an integer in [1, 4096]; got ${String(batchSize)}`);
  }
  return { threads, batchSize };
}

/** The graph's input and output must be the sidecar's, with its sizes: else the sidecar describes another model. */
function checkGraph(session: InferenceSession, s: OnnxSidecar, where: string): number | null {
  const mismatch = (path: string, message: string): ValidationError =>
    ValidationError.one(WHAT, `sidecar.${path}`, `${message}: the sidecar does not match ${where}; export again`);
  const input = session.inputMetadata.find((m) => m.name === s.input.name);
  const output = session.outputMetadata.find((m) => m.name === s.output.name);
  if (!input)
    throw mismatch('input.name', `the graph has no input ${s.input.name} (it has ${session.inputNames.join(', ')})`);
  if (!output) {
    throw mismatch(
      'output.name',
      `the graph has no output ${s.output.name} (it has ${session.outputNames.join(', ')})`,
    );
  }
  if (input.isTensor && input.shape.length) {
    const [, c, h, w] = input.shape;
    const fixed = (d: number | string | undefined, v: number): boolean => typeof d !== 'number' || d === v;
    if (input.shape.length !== 4 || !fixed(c, 3) || !fixed(h, s.inputSize) || !fixed(w, s.inputSize)) {
      throw mismatch(
        'inputSize',
        `the graph takes ${JSON.stringify(input.shape)}, not N × 3 × ${s.inputSize} × ${s.inputSize}`,
      );
    }
  }
  if (output.isTensor && output.shape.length) {
    const d = output.shape[1];
    if (output.shape.length !== 2 || (typeof d === 'number' && d !== s.embeddingDim)) {
      throw mismatch('embeddingDim', `the graph returns ${JSON.stringify(output.shape)}, not N × ${s.embeddingDim}`);
    }
  }
  // a graph exported without a dynamic batch takes exactly its own batch size
  const n = input.isTensor ? input.shape[0] : undefined;
  return typeof n === 'number' ? n : null;
}

/** Embeddings from an exported model, in Node alone (no worker, no Python). Make one with `OnnxRecognizer.load`. */
export class OnnxRecognizer {
  /** Everything the export recorded: model, sizes, preprocessing, fingerprint. */
  readonly sidecar: OnnxSidecar;
  private session: InferenceSession | null;
  private readonly batchSize: number;
  private readonly fixedBatch: number | null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(sidecar: OnnxSidecar, session: InferenceSession, batchSize: number, fixedBatch: number | null) {
    this.sidecar = sidecar;
    this.session = session;
    this.batchSize = fixedBatch ?? batchSize;
    this.fixedBatch = fixedBatch;
  }

  /**
   * Open `onnxPath` and its sidecar `<onnxPath>.json` (both written by `model.exportOnnx`): the file must be
   * the one the sidecar describes (SHA-256), and the graph's input and output the sidecar's.
   */
  static async load(onnxPath: string, options?: OnnxRecognizerOptions): Promise<OnnxRecognizer> {
    const { threads, batchSize } = checkOptions(options ?? {});
    const ort = await onnxRuntime(); // first: without it nothing else can be checked usefully
    const { bytes, sidecar } = readExportedModel(onnxPath);
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
        interOpNumThreads: 1,
        ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
      });
    } catch (err) {
      const reason = (err as Error).message.split('\n')[0] ?? '';
      throw ValidationError.one(
        WHAT,
        'onnxPath',
        `${onnxPath} is not a model onnxruntime can run (${reason}): export it again`,
      );
    }
    try {
      return new OnnxRecognizer(sidecar, session, batchSize, checkGraph(session, sidecar, onnxPath));
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  /** The torchvision backbone the file was exported from. */
  get modelName(): string {
    return this.sidecar.modelName;
  }
  /** Size of the embeddings. */
  get embeddingDim(): number {
    return this.sidecar.embeddingDim;
  }
  /** Side of the square input (images are resized and cropped to it; tensors must have it). */
  get inputSize(): number {
    return this.sidecar.inputSize;
  }
  /** Fingerprint of the embedding weights: a gallery made with the same weights records the same. */
  get weightsFingerprint(): string {
    return this.sidecar.weightsFingerprint;
  }

  /**
   * Evaluation-mode embeddings (N × embeddingDim float32) of an image batch — a float32 N × 3 × inputSize ×
   * inputSize Tensor, normalised as the worker's inputs — or of image files, preprocessed as the worker does.
   */
  embed(input: Tensor | readonly string[]): Promise<Tensor<'float32'>> {
    const run = this.queue.then(() => this.embedNow(input));
    this.queue = run.catch(() => undefined); // one run at a time: onnxruntime's threads are already all busy
    return run;
  }

  private async embedNow(input: Tensor | readonly string[]): Promise<Tensor<'float32'>> {
    const session = this.session;
    if (!session) throw new ClosedError('this OnnxRecognizer was disposed: load the model again');
    const size = this.inputSize;
    const per = 3 * size * size;
    const dim = this.embeddingDim;
    if (Array.isArray(input)) {
      const paths = input as readonly string[];
      const bad = paths.findIndex((p) => typeof p !== 'string' || p === '');
      if (bad >= 0) throw ValidationError.one('OnnxRecognizer.embed', `paths[${bad}]`, 'must be an image file path');
      const out = new Float32Array(paths.length * dim);
      for (let start = 0; start < paths.length; start += this.batchSize) {
        const chunk = paths.slice(start, start + this.batchSize);
        const pixels = await imageBatch(chunk, size, this.sidecar.preprocess);
        out.set(await this.run(session, pixels, chunk.length), start * dim);
      }
      return new Tensor(out, [paths.length, dim]);
    }
    const x = this.checkTensor(input);
    const n = x.shape[0] as number;
    const out = new Float32Array(n * dim);
    for (let start = 0; start < n; start += this.batchSize) {
      const count = Math.min(this.batchSize, n - start);
      out.set(await this.run(session, x.data.subarray(start * per, (start + count) * per), count), start * dim);
    }
    return new Tensor(out, [n, dim]);
  }

  private checkTensor(x: unknown): Tensor<'float32'> {
    const what = 'OnnxRecognizer.embed';
    if (!(x instanceof Tensor)) throw ValidationError.one(what, 'x', 'must be a Tensor or an array of image paths');
    const s = this.inputSize;
    if (x.dtype !== 'float32') throw ValidationError.one(what, 'dtype', `must be float32; got ${x.dtype}`);
    const [, c, h, w] = x.shape;
    if (x.shape.length !== 4 || c !== 3 || h !== s || w !== s) {
      const message =
        `must be N × 3 × ${s} × ${s} (the size ${this.modelName} was exported for); got ${x.shape.join(' × ')}` +
        (x.shape.length === 4 && c === 3 ? `: resize the images to ${s}, or pass their paths` : '');
      throw ValidationError.one(what, 'shape', message);
    }
    const data = x.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        const image = Math.floor(i / (3 * s * s));
        throw ValidationError.one(what, 'x', `holds NaN or infinite values (first in image ${image}): fix or drop it`);
      }
    }
    return x as Tensor<'float32'>;
  }

  /** One onnxruntime run of `count` images (padded to a fixed batch when the graph has one). */
  private async run(session: InferenceSession, pixels: Float32Array, count: number): Promise<Float32Array> {
    const s = this.inputSize;
    const batch = this.fixedBatch ?? count;
    let data = pixels;
    if (batch !== count) {
      data = new Float32Array(batch * 3 * s * s);
      data.set(pixels);
    }
    const ort = await onnxRuntime(); // loaded by load() already: a resolved promise
    const feeds = { [this.sidecar.input.name]: new ort.Tensor('float32', data, [batch, 3, s, s]) };
    const result = await session.run(feeds, [this.sidecar.output.name]);
    const out = result[this.sidecar.output.name];
    const dim = this.embeddingDim;
    if (!out || out.type !== 'float32' || out.dims.length !== 2 || out.dims[0] !== batch || out.dims[1] !== dim) {
      const got = out ? `${out.type} ${out.dims.join(' × ')}` : 'nothing';
      throw ValidationError.one(
        'OnnxRecognizer.embed',
        'sidecar',
        `the model returned ${got}, not ${batch} × ${dim} float32`,
      );
    }
    const values = out.data as Float32Array;
    return count === batch ? values : values.subarray(0, count * dim);
  }

  /** Release onnxruntime's session (idempotent); later calls throw a ClosedError. */
  async dispose(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) {
      await this.queue;
      await session.release();
    }
  }

  /** `await using model = await OnnxRecognizer.load(...)` disposes it at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
