// Long work as jobs: progress while it runs, cancellation after the current step, results and errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AbortError, Recognite, Tensor, WorkerError } from 'recognite-ts';
import { runJob, type JobHost } from '../src/sdk/core/jobs.js';
import { debugHost } from './debug.js';

let rt: Recognite;
let host: JobHost; // reaches the test-only debug.countJob, which rt.invoke() refuses
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  host = debugHost(rt);
});
after(async () => {
  await rt.close();
});

interface Step {
  type: 'step';
  step: number;
  of: number;
}

test('progress events arrive in order while the job runs, then its result (tensors included)', async () => {
  const seen: number[] = [];
  let loopTicks = 0;
  const ticker = setInterval(() => loopTicks++, 10);
  const result = await runJob<Step, { counted: number; values: Tensor }>(
    host,
    'count',
    'debug.countJob',
    { steps: 20, stepSeconds: 0.03, failAt: null },
    { onProgress: (e) => seen.push(e.step) },
  );
  clearInterval(ticker);
  assert.deepEqual(
    seen,
    Array.from({ length: 20 }, (_, i) => i + 1),
  );
  assert.equal(result.counted, 20);
  assert.deepEqual([...result.values.data], [...Array(20).keys()]);
  assert.ok(loopTicks > 20, `the event loop stayed responsive (${loopTicks} ticks)`);
});

test('other calls are answered while a job runs', async () => {
  const job = runJob(host, 'count', 'debug.countJob', { steps: 10, stepSeconds: 0.1, failAt: null });
  const started = Date.now();
  await rt.info();
  assert.ok(Date.now() - started < 500, 'info() did not wait for the job');
  await job;
});

test('an AbortSignal stops the job after its current step and rejects with AbortError', async () => {
  const controller = new AbortController();
  const seen: number[] = [];
  const job = runJob<Step, unknown>(
    host,
    'count',
    'debug.countJob',
    { steps: 1000, stepSeconds: 0.02, failAt: null },
    {
      signal: controller.signal,
      onProgress: (e) => {
        seen.push(e.step);
        if (e.step === 5) controller.abort();
      },
    },
  );
  await assert.rejects(job, AbortError);
  assert.ok(seen.length < 100, `stopped soon after the abort (${seen.length} steps)`);
  await rt.info(); // the worker is fine
});

test('an already aborted signal starts nothing', async () => {
  await assert.rejects(
    runJob(
      host,
      'count',
      'debug.countJob',
      { steps: 5, stepSeconds: 0.01, failAt: null },
      { signal: AbortSignal.abort() },
    ),
    AbortError,
  );
});

test('a job that raises rejects with WorkerError; a throwing onProgress cancels the job and rejects with its error', async () => {
  await assert.rejects(
    runJob(host, 'count', 'debug.countJob', { steps: 5, stepSeconds: 0.01, failAt: 3 }),
    (err: unknown) => {
      assert.ok(err instanceof WorkerError);
      assert.match(err.message, /failed at step 3/);
      return true;
    },
  );
  const boom = new Error('callback failed');
  await assert.rejects(
    runJob<Step, unknown>(
      host,
      'count',
      'debug.countJob',
      { steps: 1000, stepSeconds: 0.01, failAt: null },
      {
        onProgress: () => {
          throw boom;
        },
      },
    ),
    (err: unknown) => err === boom,
  );
});
