/** Results of the worker's core calls (lifecycle, echo, jobs), typed so their schemas can be generated. */
import type { WorkerFailure } from './errors.js';
import type { Tensor } from './tensor.js';

/** A call that answers nothing. */
export type EmptyResult = Record<string, never>;

/** The worker's copy of an echoed tensor. */
export interface EchoResult {
  tensor: Tensor;
}

/** A job was started; poll it with this id. */
export interface JobStarted {
  /** @TJS-type integer */
  job: number;
}

/** What a poll of a job answers; its events and result are checked against the job's own schemas. */
export interface JobPoll {
  state: 'running' | 'done' | 'failed' | 'cancelled';
  events: unknown[];
  result?: unknown;
  error?: WorkerFailure | null;
}
