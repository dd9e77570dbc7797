/** The test suite's access to the worker's debug.* handlers, which the public invoke() refuses. */
import type { Recognite } from 'recognite-ts';
import { DEBUG_CALL } from '../src/sdk/core/debug-call.js';
import type { JobHost } from '../src/sdk/core/jobs.js';

export function debugCall(
  rt: Recognite,
  method: string,
  payload: Record<string, unknown>,
  timeoutMs?: number,
): Promise<unknown> {
  return rt[DEBUG_CALL](method, payload, timeoutMs);
}

/** A job host that starts debug.* jobs and polls them like any other. */
export function debugHost(rt: Recognite): JobHost {
  return {
    invoke: (method, payload) =>
      method.startsWith('debug.') ? debugCall(rt, method, payload) : rt.invoke(method, payload),
  };
}
