// Faults: a dying worker, a Python exception, a slow call, signals and uncaught exceptions in Node.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Recognite, Tensor, WorkerCrashedError, WorkerError, WorkerTimeoutError } from 'recognite-ts';
import { isAlive, sessionFiles, startFixture, waitFor } from './helpers.js';

describe('worker faults', () => {
  test('kill -9 mid-call rejects every pending call with WorkerCrashedError within 2 s; a new start works', async () => {
    const rt = await Recognite.start({ device: 'cpu' });
    const pid = rt.workerPid!;
    const { dir, prefix } = rt.sharedMemory;
    const sleeping = rt.invoke('debug.sleep', { seconds: 60 });
    await new Promise((r) => setTimeout(r, 200)); // the sleep is running in Python now
    const calls = [
      sleeping,
      ...Array.from({ length: 5 }, () => rt.echo(new Tensor(new Float32Array(1000)))),
      rt.info(),
    ];
    const settled = Promise.allSettled(calls);
    await new Promise((r) => setTimeout(r, 50)); // the others are queued behind it
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const results = await settled;
    const elapsed = Date.now() - killedAt;
    assert.ok(elapsed < 2000, `pending calls took ${elapsed} ms to reject`);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof WorkerCrashedError, String(r.reason));
      assert.equal(r.reason.signal, 'SIGKILL');
    }
    await assert.rejects(rt.info(), WorkerCrashedError); // later calls too, without hanging
    assert.ok(await waitFor(() => sessionFiles(dir, prefix).length === 0, 2000), 'files of the dead worker removed');
    await rt.close(); // still fine after a crash

    const next = await Recognite.start({ device: 'cpu' });
    const t = new Tensor(Float32Array.of(1, 2, 3));
    assert.deepEqual([...(await next.echo(t)).data], [1, 2, 3]);
    await next.close();
  });

  test('a crash report carries the last lines the worker printed', async () => {
    const rt = await Recognite.start({ device: 'cpu' });
    await rt.invoke('debug.print', { text: 'LAST-WORDS-BEFORE-CRASH' });
    await new Promise((r) => setTimeout(r, 100)); // let the relay copy it to the log
    const pending = rt.invoke('debug.sleep', { seconds: 60 });
    process.kill(rt.workerPid!, 'SIGKILL');
    await assert.rejects(pending, (err: unknown) => {
      assert.ok(err instanceof WorkerCrashedError);
      assert.ok(
        err.stderrTail.some((l) => l.includes('LAST-WORDS-BEFORE-CRASH')),
        err.message,
      );
      return true;
    });
    await rt.close();
  });

  test('a Python exception becomes a WorkerError with type, message and traceback; the worker stays usable', async () => {
    await using rt = await Recognite.start({ device: 'cpu' });
    await assert.rejects(rt.invoke('debug.raise', { message: 'on purpose' }), (err: unknown) => {
      assert.ok(err instanceof WorkerError);
      assert.equal(err.pythonType, 'ZeroDivisionError');
      assert.equal(err.pythonMessage, 'on purpose');
      assert.match(err.traceback, /Traceback[\s\S]*debug_raise/);
      return true;
    });
    const t = new Tensor(Int32Array.of(7, 8));
    assert.deepEqual([...(await rt.echo(t)).data], [7, 8]);
  });

  test('an unknown worker method is a ValidationError, not a traceback', async () => {
    await using rt = await Recognite.start({ device: 'cpu' });
    await assert.rejects(rt.invoke('no.such.method', {}), /unknown worker method 'no.such.method'/);
    await rt.info();
  });

  test('a call past its time-out rejects with WorkerTimeoutError; the worker answers again afterwards', async () => {
    await using rt = await Recognite.start({ device: 'cpu', callTimeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(rt.invoke('debug.sleep', { seconds: 1 }), WorkerTimeoutError);
    assert.ok(Date.now() - started < 900);
    await rt.invoke('ping', {}, 5000); // queued behind the sleep, then answered
    const t = new Tensor(Float64Array.of(0.5));
    assert.deepEqual([...(await rt.echo(t)).data], [0.5]);
  });
});

describe('Node going away without close()', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`${signal} to a Node script removes the arena files and the worker`, async () => {
      const { child, done, firstJson } = startFixture('hold-worker');
      const { pid, dir, prefix } = (await firstJson()) as { pid: number; dir: string; prefix: string };
      assert.ok(sessionFiles(dir, prefix).length >= 2);
      child.kill(signal);
      const run = await done;
      assert.equal(run.signal, signal, 'the script still dies of the signal');
      assert.deepEqual(sessionFiles(dir, prefix), []);
      assert.ok(await waitFor(() => !isAlive(pid), 2000), 'no orphan worker');
    });
  }

  test('an uncaught exception removes the arena files and the worker', async () => {
    const { done, firstJson } = startFixture('throw-uncaught');
    const { pid, dir, prefix } = (await firstJson()) as { pid: number; dir: string; prefix: string };
    const run = await done;
    assert.equal(run.code, 1);
    assert.match(run.stderr, /boom/);
    assert.deepEqual(sessionFiles(dir, prefix), []);
    assert.ok(await waitFor(() => !isAlive(pid), 2000));
  });
});
