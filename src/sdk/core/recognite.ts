/**
 * `Recognite`: one persistent Python worker plus its shared-memory arena, and the
 * lifecycle around them (start, calls with tensors, close, clean-up at exit).
 * Every other public object (models, data sets, jobs) reaches Python through
 * `invoke`, which moves Tensors through shared memory and everything else as JSON.
 */
import { Arena, DEFAULT_PRIMARY_BYTES, type Lease } from './arena.js';
import { chooseShmDir, sweepDeadSessions } from './session-dir.js';
import { DEBUG_CALL } from './debug-call.js';
import { DataApi } from '../data/data-api.js';
import type { CreateGalleryOptions, LoadGalleryOptions } from '../gallery/config.js';
import { Gallery } from '../gallery/gallery.js';
import { Recognizer, type LoadRecognizerOptions } from '../model/recognizer.js';
import type { RecognizerConfig } from '../model/config.js';
import { ClosedError, SharedMemoryError, ValidationError, WorkerTimeoutError } from './errors.js';
import { onProcessExit } from './exit-hooks.js';
import { WORKER_PATH } from './package-root.js';
import { checkInterpreter, choosePython } from './python-env.js';
import { Tensor } from './tensor.js';
import type { TensorView } from './tensor-view.js';
import { readLog, Transport } from './transport.js';
import { ResultChecker } from './result-checks.js';
import { optionsObject, resolveOptions } from './validate.js';
import { TensorMarshal } from './marshal.js';
import { DEFAULT_CALL_TIMEOUT_MS, type Device, type StartOptions, type WorkerInfo } from './start-options.js';

export { DEFAULT_CALL_TIMEOUT_MS };
export type { Device, StartOptions, WorkerInfo } from './start-options.js';

/** Boot imports torch (seconds, longer on a cold disk): it gets its own generous limit. */
const BOOT_TIMEOUT_MS = 300_000;

/** Worker methods no SDK object calls through invoke(): the session's boot, and the test-only debug.* handlers. */
const PRIVATE_METHODS = /^(?:boot$|debug\.)/;

/**
 * A session with one persistent Python worker: `await Recognite.start()`, then create or load models
 * and galleries, and `await rt.close()` (or `await using rt = ...`) to stop the worker and remove its
 * shared memory.
 */
export class Recognite implements AsyncDisposable {
  /** Data-set helpers that run in the worker: synthetic data sets and recognite's splits. */
  readonly data: DataApi = new DataApi(this);
  private closing: Promise<void> | undefined;
  private readonly marshal: TensorMarshal;

  private constructor(
    private readonly transport: Transport,
    private readonly arena: Arena,
    private readonly callTimeoutMs: number,
    private readonly unhookExit: () => void,
    private readonly checker: ResultChecker | undefined,
  ) {
    this.marshal = new TensorMarshal(arena, (release) => {
      if (this.closing || !this.transport.alive) return; // the worker is gone or closing: its segments go with it
      this.transport.call('release', { release }, this.callTimeoutMs).catch(() => {
        // best effort, as above
      });
    });
    // A dead worker leaves nothing behind: its files go at once.
    void transport.exited.then(() => {
      this.arena.close();
      this.unhookExit();
    });
  }

  /**
   * Start the worker: find Python, create the shared-memory arena, spawn the process,
   * import torch once and select the device.
   * @throws ValidationError for bad options or an unavailable device,
   *   PythonEnvironmentError when Python or torch is missing, SharedMemoryError when the arena cannot be made
   */
  static async start(options: StartOptions = {}): Promise<Recognite> {
    const resolved = resolveOptions('StartOptions', options) as StartOptions & {
      device: Device;
      callTimeoutMs: number;
      deterministic: boolean;
    };
    // the schema's pattern for `cuda:${number}` (generated from the template type) also takes 'cuda:'
    if (resolved.device.startsWith('cuda:') && !/^cuda:\d+$/.test(resolved.device)) {
      const message = `must name a device number, e.g. 'cuda:0'; got ${JSON.stringify(resolved.device)}`;
      throw ValidationError.one('StartOptions', 'device', message);
    }
    const checker = ResultChecker.fromEnv();
    const choice = await choosePython(options.python);
    checkInterpreter(choice);
    const shmDir = chooseShmDir(options.shmDir);
    sweepDeadSessions(shmDir); // what sessions killed without cleaning up (SIGKILL) left behind
    const arena = Arena.create(shmDir);
    let transport: Transport | undefined;
    const unhook = onProcessExit(() => {
      transport?.killNow();
      arena.close();
    });
    try {
      const logPath = arena.path('stderr.log');
      transport = await Transport.open(choice.python, WORKER_PATH, () => readLog(logPath));
      const timeout = resolved.callTimeoutMs;
      const booted = await transport.call(
        'boot',
        {
          device: resolved.device,
          threads: resolved.threads ?? null,
          deterministic: resolved.deterministic,
          shmDir: arena.dir,
          prefix: arena.prefix,
          primaryBytes: DEFAULT_PRIMARY_BYTES, // the worker's output segment, as big as ours
          maxBytes: arena.maxBytes, // the bound of its pooled output segments, as ours
          logPath,
          testHandlers: checker !== undefined, // debug.* handlers exist only for the test suite
          setupCommand: choice.setupCommand, // named by the worker's message when torch is missing
        },
        Math.max(timeout, BOOT_TIMEOUT_MS),
      );
      checker?.check('boot', {}, booted);
      const live = transport;
      arena.setShrinker(async (forget) => {
        if (live.alive) await live.call('shm.shrink', { forget }, timeout);
      });
      return new Recognite(transport, arena, timeout, unhook, checker);
    } catch (err) {
      await transport?.close();
      arena.close();
      unhook();
      throw err;
    }
  }

  /** Versions, device and thread count of the worker. */
  async info(): Promise<WorkerInfo> {
    return (await this.invoke('info', {})) as WorkerInfo;
  }

  /**
   * Build a recognition model in the worker. The config is checked against the schema and the
   * model catalog first: nothing invalid reaches Python.
   * @throws ValidationError listing every problem, with the nearest model names or the valid weights
   */
  async createRecognizer(config: RecognizerConfig): Promise<Recognizer> {
    if (this.closing) throw new ClosedError('cannot create a model: this Recognite has been closed');
    return Recognizer.create(this, config);
  }

  /**
   * A model loaded from a file, in evaluation mode: a fit() checkpoint (last.pt of a checkpointDir,
   * which records its backbone and classes) or a plain state dict (saveStateDict) with `{ modelName }`.
   * `model.checkpoint` says what the file held (epoch, classes, history).
   * @throws ValidationError for a missing or unreadable file, or a state dict without modelName
   */
  async loadRecognizer(path: string, options: LoadRecognizerOptions = {}): Promise<Recognizer> {
    if (this.closing) throw new ClosedError('cannot load a model: this Recognite has been closed');
    return Recognizer.load(this, path, options);
  }

  /**
   * A gallery in the worker: enrol references (embeddings, image files or data sets), then identify
   * queries (with "unknown" below a threshold), verify pairs, calibrate the threshold, save and load it.
   * Exact search by default; `backend: 'faiss'` with an `index` factory string for large galleries.
   * @throws ValidationError for bad options, before anything reaches the worker
   */
  async createGallery(options: CreateGalleryOptions = {}): Promise<Gallery> {
    if (this.closing) throw new ClosedError('cannot create a gallery: this Recognite has been closed');
    return Gallery.create(this, options);
  }

  /**
   * Load a gallery saved with gallery.save(dir). With `{ model }` it can embed images, and the model
   * must be the one the gallery was made with (same name and weights) or this is a ValidationError.
   */
  async loadGallery(dir: string, options: LoadGalleryOptions = {}): Promise<Gallery> {
    if (this.closing) throw new ClosedError('cannot load a gallery: this Recognite has been closed');
    return Gallery.load(this, dir, options);
  }

  /**
   * Send a tensor to the worker and get the worker's copy back: the diagnostic round trip through
   * shared memory.
   * @param options `out`: a tensor of the same dtype and shape to receive the copy (no new memory);
   *   `view: true`: the result as a TensorView over the worker's shared memory, no copy
   *   (with the native add-on; a copy without it); release() it (or `using`) when done
   */
  async echo<T extends Tensor>(tensor: T, options: { view: true }): Promise<TensorView<T['dtype']>>;
  async echo<T extends Tensor>(tensor: T, options?: { out?: T; view?: false }): Promise<T>;
  async echo<T extends Tensor>(tensor: T, given?: { out?: T; view?: boolean }): Promise<T | TensorView> {
    const options = optionsObject(given, 'echo() options');
    if (!(tensor instanceof Tensor)) {
      throw ValidationError.one(
        'echo() argument',
        'tensor',
        'must be a Tensor; build one with new Tensor(data, shape)',
      );
    }
    const { out, view = false } = options;
    if (out !== undefined && view) {
      throw ValidationError.one(
        'echo() options',
        'view',
        'cannot be true together with out: choose one way to receive',
      );
    }
    if (
      out !== undefined &&
      (!(out instanceof Tensor) || out.dtype !== tensor.dtype || out.shape.join() !== tensor.shape.join())
    ) {
      throw ValidationError.one(
        'echo() options',
        'out',
        `must be a ${tensor.dtype} Tensor of shape [${tensor.shape.join(', ')}]`,
      );
    }
    const receive = view ? 'views' : out ? { tensor: out } : undefined;
    const result = (await this.invoke('echo', { tensor }, this.callTimeoutMs, receive)) as { tensor: T };
    return result.tensor;
  }

  /**
   * Call a worker method. Tensors anywhere in `payload` travel through shared memory;
   * tensor descriptors in the result come back as Tensors (or, with `into` = 'views', as TensorViews
   * over the worker's shared memory). Internal to the SDK: `boot` and the test suite's `debug.*`
   * handlers are refused here (the test suite reaches those through DEBUG_CALL).
   * @internal
   */
  async invoke(
    method: string,
    payload: Record<string, unknown>,
    timeoutMs = this.callTimeoutMs,
    into?: Record<string, Tensor> | 'views',
  ): Promise<unknown> {
    if (PRIVATE_METHODS.test(method)) {
      throw ValidationError.one('invoke', 'method', `'${method}' is not a worker method the SDK's objects call`);
    }
    return this.call(method, payload, timeoutMs, into);
  }

  /** @internal The test suite's way to the worker's debug.* handlers (which exist only in its test mode). */
  [DEBUG_CALL](method: string, payload: Record<string, unknown>, timeoutMs = this.callTimeoutMs): Promise<unknown> {
    return this.call(method, payload, timeoutMs);
  }

  private async call(
    method: string,
    payload: Record<string, unknown>,
    timeoutMs: number,
    into?: Record<string, Tensor> | 'views',
  ): Promise<unknown> {
    if (this.closing) throw new ClosedError(`cannot call '${method}': this Recognite has been closed`);
    const leases: Lease[] = [];
    const releaseLeases = (): void => {
      leases.forEach((l) => {
        l.release();
      });
    };
    let encoded: unknown;
    try {
      encoded = await this.marshal.encode(payload, leases);
    } catch (err) {
      releaseLeases();
      if (err instanceof SharedMemoryError) await this.trimSharedMemory();
      throw err;
    }
    const release = this.marshal.takeReleases();
    let timedOut = false;
    try {
      const result = await this.transport.call(method, { ...(encoded as object), release }, timeoutMs, (late) => {
        // The worker finished after the caller gave up: only now may its input regions be reused.
        releaseLeases();
        if (late !== undefined) this.marshal.collectRefs(late);
      });
      this.checker?.check(method, payload, result);
      return await this.marshal.decode(result, into);
    } catch (err) {
      timedOut = err instanceof WorkerTimeoutError;
      if (err instanceof SharedMemoryError) {
        releaseLeases();
        await this.trimSharedMemory();
      }
      throw err;
    } finally {
      if (!timedOut) releaseLeases();
    }
  }

  /** After a 'shared memory is full' error: have the worker return the pages of every free region. */
  private async trimSharedMemory(): Promise<void> {
    await this.arena.whileFreeSpaceClaimed(async (space) => {
      await this.transport.call('shm.trim', space, this.callTimeoutMs).catch(() => {
        // best effort: the original error is what the caller needs to see
      });
    });
  }

  /** Stop the worker and remove the shared-memory files. Idempotent; pending calls reject with ClosedError. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.transport.alive) {
        await this.transport.call('shutdown', {}, 5000).catch(() => {});
      }
      await this.transport.close();
      this.arena.close();
      this.unhookExit();
    })();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Size in characters of the largest control message sent to the worker so far (diagnostics and tests). */
  get largestControlMessage(): number {
    return this.transport.largestMessage;
  }

  /** Process id of the worker (diagnostics and tests). */
  get workerPid(): number | undefined {
    return this.transport.pid;
  }

  /**
   * Folder and name prefix of this session's shared-memory files, how Node moves bytes in and
   * out of them ('mapped' with the native add-on, 'file-io' without it), the size of Node's pooled
   * segments and the number of live zero-copy TensorViews (diagnostics and tests).
   */
  get sharedMemory(): {
    dir: string;
    prefix: string;
    mode: 'mapped' | 'file-io';
    pooledBytes: number;
    liveViews: number;
  } {
    return { dir: this.arena.dir, prefix: this.arena.prefix, mode: this.arena.mode, ...this.arena.usage };
  }
}
