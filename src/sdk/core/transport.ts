/**
 * The control channel: the only module that touches pythonia.
 *
 * pythonia 1.2.6 on its own spawns Python when it is *loaded*, keeps Node alive
 * forever, hangs (then crashes Node) when Python dies mid-call, reuses object ids
 * after a restart, and reports Python exceptions as text. This module makes up for
 * each: it loads pythonia lazily with a checked interpreter, watches the child process
 * and rejects every pending call the moment it exits, keeps Node's event loop free
 * when no call is pending, and talks to exactly one Python function,
 * `worker.dispatch(method, json) -> json`, so no Python object handle ever reaches
 * the rest of the SDK and errors arrive structured.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  AlreadyStartedError,
  ClosedError,
  fromWorkerFailure,
  RecogniteError,
  TransportError,
  WorkerCrashedError,
  WorkerTimeoutError,
} from './errors.js';
import type { WorkerFailure } from './errors.js';

const require = createRequire(import.meta.url);

/** The parts of pythonia's CommonJS module this file uses. */
interface Pythonia {
  python: ((file: string) => Promise<WorkerModule>) & { exit(): void };
  com: { proc: ChildProcess | null; handlers: Record<string, unknown>; start(): void };
}
interface PythoniaBridge {
  loop: NodeJS.Timeout;
  freeable: unknown[];
  finalizer: FinalizationRegistry<unknown>;
  runTasks(): void;
  end(): void;
}
interface WorkerModule {
  dispatch(method: string, payload: string): Promise<string>;
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: WorkerFailure };

interface Pending {
  method: string;
  reject(err: Error): void;
}

/** One live worker process. pythonia allows one per Node process, so at most one Transport is open. */
export class Transport {
  private static current: Transport | undefined;
  private readonly pending = new Set<Pending>();
  private deathError: RecogniteError | undefined;
  private closing = false;
  /** Resolves when the worker process has exited, for whatever reason. */
  readonly exited: Promise<void>;

  private constructor(
    private readonly pythonia: Pythonia,
    private readonly proc: ChildProcess,
    private readonly stderrLog: () => string | undefined,
  ) {
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.onExit(code, signal);
        resolve();
      });
    });
    proc.on('error', () => {}); // spawn errors are reported through 'exit' and checkInterpreter
    this.updateRef();
  }

  /** The one open transport, if any. */
  static get active(): Transport | undefined {
    return Transport.current;
  }

  /**
   * Spawn the worker with `python` and import `workerPath` into it.
   * @param stderrLog returns the worker's recent output, for crash reports
   */
  static async open(python: string, workerPath: string, stderrLog: () => string | undefined): Promise<Transport> {
    if (Transport.current) {
      throw new AlreadyStartedError(
        'a Recognite worker is already running in this process (pythonia allows one Python process per ' +
          'Node process); reuse that Recognite instance, or close() it before starting another',
      );
    }
    const pythonia = loadPythonia(python);
    const proc = pythonia.com.proc;
    if (!proc) throw new TransportError('pythonia did not start a Python process');
    const transport = new Transport(pythonia, proc, stderrLog);
    Transport.current = transport;
    try {
      const mod = await transport.guard('import worker', pythonia.python(workerPath));
      transport.worker = mod;
    } catch (err) {
      await transport.close();
      throw err;
    }
    return transport;
  }

  private worker: WorkerModule | undefined;
  /** Size of the largest control message sent so far, in characters: tensors must never inflate it. */
  largestMessage = 0;

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Whether calls can still be made. */
  get alive(): boolean {
    return !this.deathError && !this.closing;
  }

  /**
   * Call `method` in the worker with a JSON payload; resolves with its result, or rejects
   * with a typed error (ValidationError, WorkerError, WorkerCrashedError, WorkerTimeoutError…).
   * @param onLate runs when a call that timed out answers after all (with its result, or undefined if it failed)
   */
  call(method: string, payload: unknown, timeoutMs: number, onLate?: (result: unknown) => void): Promise<unknown> {
    if (this.deathError) return Promise.reject(this.deathError);
    if (this.closing || !this.worker) {
      return Promise.reject(new ClosedError(`cannot call '${method}': this Recognite has been closed`));
    }
    const text = JSON.stringify(payload ?? {});
    if (text.length > this.largestMessage) this.largestMessage = text.length;
    const answer = this.worker.dispatch(method, text);
    return this.guard(method, answer, timeoutMs, onLate).then((raw) => {
      const outcome = JSON.parse(raw) as Outcome;
      if (!outcome.ok) throw fromWorkerFailure(method, outcome.error);
      return outcome.result;
    });
  }

  /** Race a pythonia promise against the worker's death and an optional time-out. */
  private guard<T>(method: string, answer: Promise<T>, timeoutMs = 0, onLate?: (result: unknown) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const entry: Pending = {
        method,
        reject: (err) => {
          finish(() => {
            reject(err);
          });
        },
      };
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.pending.delete(entry);
        this.updateRef();
        fn();
      };
      this.pending.add(entry);
      this.updateRef();
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          finish(() => {
            reject(new WorkerTimeoutError(method, timeoutMs));
          });
        }, timeoutMs);
      }
      answer.then(
        (value) => {
          if (settled) {
            if (onLate && typeof value === 'string') {
              const outcome = JSON.parse(value) as Outcome;
              onLate(outcome.ok ? outcome.result : undefined);
            }
            return;
          }
          finish(() => {
            resolve(value);
          });
        },
        (err: unknown) => {
          finish(() => {
            reject(pythoniaError(method, err));
          });
        },
      );
    });
  }

  /** Keep Node's event loop alive only while a call is pending, so a forgotten close() never hangs a script. */
  private updateRef(): void {
    const channel = (this.proc as ChildProcess & { channel?: { ref(): void; unref(): void } }).channel;
    if (this.pending.size > 0 && !this.deathError) {
      this.proc.ref();
      channel?.ref();
    } else {
      this.proc.unref();
      channel?.unref();
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.resetPythonia();
    if (Transport.current === this) Transport.current = undefined;
    const error = this.closing
      ? new ClosedError('the worker was closed while this call was pending')
      : new WorkerCrashedError(code, signal, tailLines(this.stderrLog()));
    this.deathError = error;
    for (const entry of [...this.pending]) entry.reject(error);
  }

  /** Undo pythonia's per-process state so a later start() gets a clean bridge. */
  private resetPythonia(): void {
    const bridge = (globalThis as { __pythonBridge?: PythoniaBridge }).__pythonBridge;
    if (bridge) {
      bridge.end(); // stop the clean-up timer that would write to a dead channel
      bridge.freeable = [];
      // Proxies of the dead worker must never free objects of the next one (ids restart at 1).
      bridge.finalizer = new FinalizationRegistry(() => {});
    }
    if (this.pythonia.com.proc === this.proc) this.pythonia.com.proc = null;
    this.pythonia.com.handlers = {};
  }

  /** Stop the worker: SIGTERM, then SIGKILL if it has not exited within `graceMs`. Idempotent. */
  async close(graceMs = 3000): Promise<void> {
    this.closing = true;
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      const killer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(killer);
    }
    if (Transport.current === this) Transport.current = undefined;
  }

  /** Kill the worker at once, synchronously (for process exit handlers). */
  killNow(): void {
    this.closing = true;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

/** Load pythonia (first time) or restart its Python process (later times) with a chosen interpreter. */
function loadPythonia(python: string): Pythonia {
  const saved = { PYTHON_BIN: process.env.PYTHON_BIN, PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED };
  const savedTimeout = process.env.REQ_TIMEOUT;
  process.env.PYTHON_BIN = python;
  process.env.PYTHONUNBUFFERED = '1'; // or Python's output is lost when it exits
  process.env.REQ_TIMEOUT = '0'; // no pythonia time-out: this module times calls itself
  try {
    const firstLoad = !require.cache[require.resolve('pythonia')];
    const pythonia = require('pythonia') as Pythonia; // spawns Python on first load
    const bridge = (globalThis as { __pythonBridge?: PythoniaBridge }).__pythonBridge;
    if (!bridge) throw new TransportError('pythonia loaded without its bridge (an unsupported pythonia version?)');
    if (!firstLoad) {
      pythonia.com.start();
      bridge.loop = setInterval(() => {
        bridge.runTasks();
      }, 1000);
    }
    bridge.loop.unref(); // its clean-up timer alone must never keep Node running
    return pythonia;
  } finally {
    restoreEnv('PYTHON_BIN', saved.PYTHON_BIN);
    restoreEnv('PYTHONUNBUFFERED', saved.PYTHONUNBUFFERED);
    restoreEnv('REQ_TIMEOUT', savedTimeout);
  }
}

function restoreEnv(key: 'PYTHON_BIN' | 'PYTHONUNBUFFERED' | 'REQ_TIMEOUT', value: string | undefined): void {
  if (value === undefined) Reflect.deleteProperty(process.env, key);
  else process.env[key] = value;
}

/** pythonia's own errors carry the Python text only in `stack`. */
function pythoniaError(method: string, err: unknown): RecogniteError {
  if (err instanceof RecogniteError) return err;
  const text = err instanceof Error ? err.stack || err.message : String(err);
  return new TransportError(`worker call '${method}' failed in the bridge: ${text}`);
}

function tailLines(text: string | undefined, count = 20): string[] {
  if (!text) return [];
  return text.trimEnd().split('\n').slice(-count);
}

/** Read a log file, or undefined when it does not exist. */
export function readLog(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
