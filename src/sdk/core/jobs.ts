/**
 * Long work as cancellable jobs with progress (the worker side is py_bridge/jobs.py).
 * A job runs on a thread of its own in the worker; this module polls it for progress
 * events, hands them to `onProgress`, turns an AbortSignal into a cancellation that
 * takes effect after the current step, and resolves with the job's result.
 */
import { AbortError, ValidationError, fromWorkerFailure } from './errors.js';
import type { JobPoll } from './worker-results.js';

/** Options every long-running call accepts. */
export interface JobOptions<Event> {
  /** Called with each progress event, in order, while the work runs. */
  onProgress?: (event: Event) => void;
  /** Stops the work after its current step; the promise then rejects with AbortError. */
  signal?: AbortSignal;
}

/** What every progress event carries: its place in the job's sequence of events. */
export interface JobEvent {
  /**
   * 1 for the job's first event, then one more for each (so a gap would show a lost event).
   * @TJS-type integer
   */
  seq: number;
}

/** What a job needs of its Recognite: a way to call the worker. */
export interface JobHost {
  invoke(method: string, payload: Record<string, unknown>): Promise<unknown>;
}

/** A poll's answer (JobPoll) with the job's own event and result types. */
interface Poll<Event, Result> extends Omit<JobPoll, 'events' | 'result'> {
  events: Event[];
  result?: Result;
}

/** How often a running job is polled; progress events arrive at most this late. */
export const POLL_MS = 100;

/** How long the first poll may wait in the worker for a quick job to finish (the worker caps it at 50). */
const FIRST_POLL_WAIT_MS = 20;

function aborted(what: string, signal: AbortSignal): AbortError {
  const err = new AbortError(`${what} was aborted`);
  (err as { cause?: unknown }).cause = signal.reason;
  return err;
}

/**
 * Start a job with `startMethod` (whose result is `{ job: id }`) and see it through.
 * @param what names the work in errors ('fit', 'embed')
 */
export async function runJob<Event, Result>(
  host: JobHost,
  what: string,
  startMethod: string,
  payload: Record<string, unknown>,
  options: JobOptions<Event> = {},
): Promise<Result> {
  const { signal, onProgress } = options;
  // JavaScript callers can pass anything: refuse bad ones before the work starts, not halfway through it
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw ValidationError.one(`${what} options`, 'onProgress', 'must be a function (event) => void');
  }
  if (signal !== undefined && !((signal as unknown) instanceof AbortSignal)) {
    throw ValidationError.one(`${what} options`, 'signal', 'must be an AbortSignal, e.g. AbortSignal.timeout(60_000)');
  }
  if (signal?.aborted) throw aborted(what, signal);
  const { job } = (await host.invoke(startMethod, payload)) as { job: number };
  let cancelAsked = false;
  let callbackError: unknown;
  const cancel = (): void => {
    if (cancelAsked) return;
    cancelAsked = true;
    host.invoke('job.cancel', { id: job }).catch(() => {
      // the job may have finished meanwhile; the next poll tells
    });
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    for (let polls = 0; ; polls++) {
      const waitMs = polls === 0 ? FIRST_POLL_WAIT_MS : 0;
      const poll = (await host.invoke('job.poll', { id: job, waitMs })) as Poll<Event, Result>;
      for (const event of poll.events) {
        try {
          onProgress?.(event);
        } catch (err) {
          callbackError ??= err; // a throwing callback stops the work, and its error is the outcome
          cancel();
        }
      }
      if (poll.state === 'running') {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        continue;
      }
      // a callback's own error is the outcome, whatever it threw
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      if (callbackError !== undefined) throw callbackError;
      if (signal?.aborted) throw aborted(what, signal);
      if (poll.state === 'done') return poll.result as Result;
      if (poll.state === 'failed' && poll.error) throw fromWorkerFailure(what, poll.error);
      throw new AbortError(`${what} was cancelled`);
    }
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}
