// Faults: a dying worker, a Python exception, a slow call, signals and uncaught exceptions in Node,
// SIGKILL of Node, and a second local user against the session's files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { Recognite, Tensor, ValidationError, WorkerCrashedError, WorkerError, WorkerTimeoutError } from 'recognite-ts';
import { chooseShmDir } from '../src/sdk/core/session-dir.js';
import { isAlive, sessionFiles, startFixture, waitFor } from './helpers.js';
import { debugCall } from './debug.js';

describe('worker faults', () => {
  test('kill -9 mid-call rejects every pending call with WorkerCrashedError within 2 s; a new start works', async () => {
    const rt = await Recognite.start({ device: 'cpu' });
    const pid = rt.workerPid!;
    const { dir, prefix } = rt.sharedMemory;
    const sleeping = debugCall(rt, 'debug.sleep', { seconds: 60 });
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
    await debugCall(rt, 'debug.print', { text: 'LAST-WORDS-BEFORE-CRASH' });
    await new Promise((r) => setTimeout(r, 100)); // let the relay copy it to the log
    const pending = debugCall(rt, 'debug.sleep', { seconds: 60 });
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
    await assert.rejects(debugCall(rt, 'debug.raise', { message: 'on purpose' }), (err: unknown) => {
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
    await assert.rejects(debugCall(rt, 'debug.sleep', { seconds: 1 }), WorkerTimeoutError);
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

describe('session files are private, and a killed session is swept', () => {
  test("each session's files live in a folder of its own, mode 0700, removed at close", async () => {
    const rt = await Recognite.start({ device: 'cpu' });
    const { dir, prefix } = rt.sharedMemory;
    const stat = statSync(dir);
    assert.ok(stat.isDirectory());
    assert.equal(stat.mode & 0o777, 0o700, 'only its owner may enter it');
    assert.equal(dirname(dir), chooseShmDir(), 'inside the shared-memory folder');
    assert.ok(
      sessionFiles(dir, prefix).some((n) => n.endsWith('-stderr.log')),
      "the worker's log is inside",
    );
    await rt.close();
    assert.equal(existsSync(dir), false, 'the folder is gone after close()');
  });

  test('SIGKILL of Node: the worker exits within 2 s, and the next start removes the folder left behind', async () => {
    const { child, done, firstJson } = startFixture('hold-worker');
    const { pid, dir } = (await firstJson()) as { pid: number; dir: string };
    child.kill('SIGKILL');
    await done;
    assert.ok(await waitFor(() => !isAlive(pid), 2000), 'the orphaned worker noticed and exited');
    assert.ok(existsSync(dir), 'nothing could clean up after SIGKILL');
    await using rt = await Recognite.start({ device: 'cpu' });
    assert.equal(existsSync(dir), false, 'swept by the next start');
    assert.ok(existsSync(rt.sharedMemory.dir), 'its own folder stays');
  });

  test('SIGKILL of Node during a long call: the busy worker exits within 2 s all the same', async () => {
    const { child, done, firstJson } = startFixture('long-call');
    const { pid, dir } = (await firstJson()) as { pid: number; dir: string };
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await done;
    assert.ok(await waitFor(() => !isAlive(pid), 2000), 'the worker, 120 s into nothing, noticed and exited');
    assert.ok(Date.now() - killedAt < 2500);
    await using rt = await Recognite.start({ device: 'cpu' });
    assert.equal(existsSync(dir), false, 'swept by the next start');
    assert.ok(rt.workerPid);
  });

  test('a second local user can neither read the session folder nor plant a file in it', async (t) => {
    if (process.getuid?.() !== 0 || spawnSync('id', ['nobody']).status !== 0) {
      console.warn('SKIPPED: the second-user test needs root (to run a process as `nobody`) and a `nobody` user');
      t.skip('needs root and a nobody user');
      return;
    }
    await using rt = await Recognite.start({ device: 'cpu' });
    const { dir, prefix } = rt.sharedMemory;
    const probe = `
      const fs = require('node:fs');
      const out = {};
      for (const [name, act] of Object.entries({
        list: () => fs.readdirSync(${JSON.stringify(dir)}),
        plant: () => fs.symlinkSync('/etc/passwd', ${JSON.stringify(join(dir, `${prefix}-planted`))}),
        read: () => fs.readFileSync(${JSON.stringify(join(dir, `${prefix}-stderr.log`))}),
      })) { try { act(); out[name] = 'allowed'; } catch (e) { out[name] = e.code; } }
      console.log(JSON.stringify(out));`;
    const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { list: 'EACCES', plant: 'EACCES', read: 'EACCES' });
    assert.deepEqual((await rt.echo(new Tensor(new Float32Array([1, 2])))).data, new Float32Array([1, 2]));
  });
});

test("invoke() refuses boot and the test suite's debug.* handlers", async () => {
  await using rt = await Recognite.start({ device: 'cpu' });
  for (const method of ['debug.setenv', 'debug.sleep', 'boot']) {
    await assert.rejects(
      rt.invoke(method, { name: 'PATH', value: '/tmp', seconds: 1 }),
      (e: unknown) => e instanceof ValidationError && e.message.includes(`'${method}' is not a worker method`),
    );
  }
  assert.deepEqual(await rt.invoke('ping', {}), {});
});
