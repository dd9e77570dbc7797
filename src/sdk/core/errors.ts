/**
 * The error hierarchy callers `catch` by kind. Every message says what went wrong
 * and what to do about it. `fromWorkerFailure` is the one place where a failure
 * reported by the Python worker becomes a typed TypeScript error.
 */

/** A stable, machine-readable kind of every error, for callers that switch on it instead of `instanceof`. */
export type ErrorCode =
  | 'recognite'
  | 'validation'
  | 'python-environment'
  | 'shared-memory'
  | 'worker'
  | 'worker-crashed'
  | 'worker-timeout'
  | 'aborted'
  | 'closed'
  | 'busy'
  | 'already-started'
  | 'transport';

/** Base of every error this SDK throws. */
export class RecogniteError extends Error {
  /** The class's name (`'ValidationError'`, ...), shown first when the error is printed. */
  override name = 'RecogniteError';
  /** The kind of error, stable across releases: switch on it instead of `instanceof` where that is easier. */
  readonly code: ErrorCode = 'recognite';
}

/** One thing wrong with an input: where (`path`, e.g. `device` or `shape[1]`) and what. */
export interface Problem {
  /** Where in the input: an option name, a dotted path or an index (`device`, `rerank.k1`, `shape[1]`); '' for the whole input. */
  path: string;
  /** What is wrong there and, where possible, the fix or the nearest valid name. */
  message: string;
}

/** Bad input, caught before it could do harm; lists every problem found. */
export class ValidationError extends RecogniteError {
  override name = 'ValidationError';
  override readonly code: ErrorCode = 'validation';
  /** Every problem found, not just the first. */
  readonly problems: Problem[];

  constructor(what: string, problems: Problem[]) {
    const lines = problems.map((p) => `  - ${p.path ? `${p.path}: ` : ''}${p.message}`);
    super(`invalid ${what}:\n${lines.join('\n')}`);
    this.problems = problems;
  }

  /** A ValidationError with a single problem. */
  static one(what: string, path: string, message: string): ValidationError {
    return new ValidationError(what, [{ path, message }]);
  }
}

/** The Python environment cannot run the worker (no interpreter, no torch); the message names the fix. */
export class PythonEnvironmentError extends RecogniteError {
  override name = 'PythonEnvironmentError';
  override readonly code: ErrorCode = 'python-environment';
}

/** Shared memory could not be created or is full; the message names the folder and the fix. */
export class SharedMemoryError extends RecogniteError {
  override name = 'SharedMemoryError';
  override readonly code: ErrorCode = 'shared-memory';
}

/** A Python exception raised while serving a call; the worker stays usable. */
export class WorkerError extends RecogniteError {
  override name = 'WorkerError';
  override readonly code: ErrorCode = 'worker';
  constructor(
    /** The worker method that was called (`fit`, `embed`, ...). */
    readonly method: string,
    /** The Python exception's class name, e.g. `RuntimeError`. */
    readonly pythonType: string,
    /** The Python exception's message. */
    readonly pythonMessage: string,
    /** The Python traceback, as Python formats it. */
    readonly traceback: string,
  ) {
    super(`${pythonType} in worker call '${method}': ${pythonMessage}`);
  }
}

/** The worker process died; every pending call rejects with this at once. */
export class WorkerCrashedError extends RecogniteError {
  override name = 'WorkerCrashedError';
  override readonly code: ErrorCode = 'worker-crashed';
  constructor(
    /** The worker's exit code, or null when a signal killed it. */
    readonly exitCode: number | null,
    /** The signal that killed the worker (`SIGKILL`, ...), or null when it exited. */
    readonly signal: NodeJS.Signals | null,
    /** The last lines the worker wrote to stderr before it died (also in the message). */
    readonly stderrTail: string[],
  ) {
    const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
    const tail = stderrTail.length ? `\nlast worker output:\n${stderrTail.join('\n')}` : '';
    super(`the Python worker ${how}; start a new one with Recognite.start()${tail}`);
  }
}

/** A call took longer than its time-out; the worker keeps running and its late answer is dropped. */
export class WorkerTimeoutError extends RecogniteError {
  override name = 'WorkerTimeoutError';
  override readonly code: ErrorCode = 'worker-timeout';
  constructor(
    /** The worker method that did not answer in time. */
    readonly method: string,
    /** The time-out it ran under, in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super(
      `worker call '${method}' did not answer within ${timeoutMs} ms; ` +
        'raise callTimeoutMs in Recognite.start() if the work is legitimately long',
    );
  }
}

/** Long work stopped by its AbortSignal; what it leaves behind (model, last checkpoint) is consistent. */
export class AbortError extends RecogniteError {
  override name = 'AbortError';
  override readonly code: ErrorCode = 'aborted';
}

/** A call on a Recognite (or a model of it) after `close()`. */
export class ClosedError extends RecogniteError {
  override name = 'ClosedError';
  override readonly code: ErrorCode = 'closed';
}

/** A model is running a job (fit, embed, evaluate) and cannot take another call until it ends. */
export class BusyError extends RecogniteError {
  override name = 'BusyError';
  override readonly code: ErrorCode = 'busy';
}

/** Recognite.start() while another Recognite of this process is open (one worker per Node process). */
export class AlreadyStartedError extends RecogniteError {
  override name = 'AlreadyStartedError';
  override readonly code: ErrorCode = 'already-started';
}

/** The bridge itself failed: pythonia did not start, or an answer could not be read. */
export class TransportError extends RecogniteError {
  override name = 'TransportError';
  override readonly code: ErrorCode = 'transport';
}

/** What the worker sends back when a handler raised (see py_bridge/worker.py `describe`). */
export interface WorkerFailure {
  kind: 'validation' | 'environment' | 'shared-memory' | 'python';
  type: string;
  message: string;
  path: string;
  traceback: string;
}

/** Turn a structured worker failure into the matching typed error. */
export function fromWorkerFailure(method: string, failure: WorkerFailure): RecogniteError {
  switch (failure.kind) {
    case 'validation':
      return ValidationError.one(`input to '${method}'`, failure.path, failure.message);
    case 'environment':
      return new PythonEnvironmentError(failure.message);
    case 'shared-memory':
      return new SharedMemoryError(failure.message);
    default:
      return new WorkerError(method, failure.type, failure.message, failure.traceback);
  }
}
