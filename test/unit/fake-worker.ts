/**
 * A fake worker for unit tests of the TypeScript facade: no Python. It records every call and
 * answers like the real worker (shapes only), so the tests can look at exactly what would cross
 * the bridge: every option resolved, nothing undefined.
 */
import assert from 'node:assert/strict';
import { loadSchema, type JsonSchema } from '../../src/sdk/core/validate.js';

export interface Call {
  method: string;
  payload: Record<string, unknown>;
}

type Answer = (payload: Record<string, unknown>) => unknown;

export class FakeWorker {
  readonly calls: Call[] = [];
  /** Polls answer 'running' until this is set: lets a test hold a job open. */
  jobDone = true;
  private readonly answers: Record<string, Answer> = {
    'recognizer.create': (p) => ({
      id: 1,
      embeddingDim: 512,
      numClasses: (p.config as { numClasses: number | null }).numClasses,
      training: true,
    }),
    'recognizer.mode': (p) => ({ id: 1, embeddingDim: 512, numClasses: 10, training: p.training }),
    'recognizer.dispose': () => ({}),
    'recognizer.fit': () => ({ job: 1 }),
    'recognizer.embedFiles': () => ({ job: 2 }),
    'recognizer.evaluate': () => ({ job: 3 }),
    'data.synthetic': () => ({ job: 4 }),
    'data.split': () => ({ parts: {}, warnings: [] }),
    'job.cancel': () => ({}),
    'job.poll': () =>
      this.jobDone ? { state: 'done', events: [], result: { history: [], seconds: 0, classes: [] } } : noProgress,
  };

  invoke(method: string, payload: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ method, payload: structuredClone(payload) });
    const answer = this.answers[method];
    if (!answer) throw new Error(`the fake worker has no answer for ${method}`);
    return Promise.resolve(answer(payload));
  }

  /** The payload of the last call of `method`. */
  last(method: string): Record<string, unknown> {
    const call = [...this.calls].reverse().find((c) => c.method === method);
    assert.ok(call, `no call of ${method}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
    return call.payload;
  }
}

const noProgress = { state: 'running', events: [] };

/**
 * Assert that `value` holds every option of schema `name` (nested objects too), none undefined:
 * what the worker receives must be the resolved config, since Python reads options as required keys.
 */
export function assertResolved(name: string, value: unknown): void {
  const walk = (schema: JsonSchema, v: unknown, path: string): void => {
    if (!schema.properties || !v || typeof v !== 'object') return;
    for (const [key, prop] of Object.entries(schema.properties)) {
      const inner = (v as Record<string, unknown>)[key];
      assert.ok(inner !== undefined, `${path}${key} is not resolved (undefined) in ${JSON.stringify(v)}`);
      for (const branch of [prop, ...(prop.anyOf ?? [])]) walk(branch, inner, `${path}${key}.`);
    }
  };
  walk(loadSchema(name), value, `${name}.`);
}
