// Starting, describing and closing the worker, as a user's script experiences it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ClosedError,
  PythonEnvironmentError,
  Recognite,
  RecogniteError,
  Tensor,
  ValidationError,
  type WorkerInfo,
} from 'recognite-ts';
import { isAlive, runFixture, sessionFiles, waitFor } from './helpers.js';

describe('one worker', () => {
  test('info() reports versions, device and threads', async () => {
    await using rt = await Recognite.start({ device: 'auto', threads: 1 });
    const info: WorkerInfo = await rt.info();
    assert.match(info.python, /^3\.\d+\.\d+$/);
    assert.match(info.torch, /^2\.\d+/);
    assert.match(info.torchvision, /^0\.\d+/);
    assert.equal(info.device, info.cuda ? 'cuda:0' : 'cpu');
    assert.equal(info.threads, 1);
    assert.ok(isAlive(info.pid));
    assert.equal(info.deterministic, false, 'the default');
  });

  test('deterministic: true sets torch to deterministic algorithms, as info() reports', async () => {
    await using rt = await Recognite.start({ device: 'cpu', deterministic: true });
    assert.equal((await rt.info()).deterministic, true);
  });

  test('close() is idempotent, removes the files and stops the worker; later calls get ClosedError', async () => {
    const rt = await Recognite.start({ device: 'cpu' });
    const { pid } = await rt.info();
    const { dir, prefix } = rt.sharedMemory;
    await rt.echo(new Tensor(new Float32Array(10)));
    assert.ok(sessionFiles(dir, prefix).length >= 2, 'both sides made segments');
    await Promise.all([rt.close(), rt.close()]);
    await rt.close();
    assert.deepEqual(sessionFiles(dir, prefix), []);
    assert.ok(await waitFor(() => !isAlive(pid), 2000), 'worker process is gone');
    await assert.rejects(rt.info(), ClosedError);
    await assert.rejects(rt.echo(new Tensor(new Float32Array(1))), ClosedError);
  });

  test('a second start() while one is open is a clear error; after close() it works', async () => {
    const first = await Recognite.start({ device: 'cpu' });
    await assert.rejects(Recognite.start({ device: 'cpu' }), (err: unknown) => {
      assert.ok(err instanceof RecogniteError);
      assert.match(err.message, /already running in this process.*reuse that Recognite instance, or close\(\) it/);
      return true;
    });
    assert.deepEqual((await first.info()).device, 'cpu', 'the first one is unharmed');
    await first.close();
    const second = await Recognite.start({ device: 'cpu' });
    assert.equal((await second.info()).device, 'cpu');
    await second.close();
  });
});

describe('bad start options and environments', () => {
  test('BAD CALL - CUDA asked for where there is none is a ValidationError naming the fix', async (t) => {
    const probe = await Recognite.start({ device: 'cpu' });
    const { cuda } = await probe.info();
    await probe.close();
    if (cuda) {
      t.skip('this machine has CUDA');
      return;
    }
    for (const device of ['cuda', 'cuda:0'] as const) {
      await assert.rejects(Recognite.start({ device }), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.problems[0]?.path, 'device');
        assert.match(err.message, /no CUDA GPU.*use device 'cpu' or 'auto'/);
        return true;
      });
    }
    // and the failed start left nothing running: a new one starts
    const rt = await Recognite.start({ device: 'cpu' });
    await rt.close();
  });

  test('BAD CALL - malformed device string is rejected before Python starts', async () => {
    await assert.rejects(Recognite.start({ device: 'gpu' as never }), ValidationError);
  });

  test('BAD CALL - a python path that does not exist', async () => {
    await assert.rejects(Recognite.start({ python: '/nonexistent/python3' }), (err: unknown) => {
      assert.ok(err instanceof PythonEnvironmentError);
      assert.match(err.message, /cannot run the Python interpreter '\/nonexistent\/python3'.*npm run setup/);
      return true;
    });
  });

  test('BAD CALL - a python without torch names the interpreter and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recognite-notorch-'));
    try {
      execFileSync('python3', ['-m', 'venv', '--without-pip', dir]);
      const python = join(dir, 'bin', 'python');
      await assert.rejects(Recognite.start({ python }), (err: unknown) => {
        assert.ok(err instanceof PythonEnvironmentError, String(err));
        assert.match(err.message, /torch cannot be imported by .*recognite-notorch-.*npm run setup/);
        return true;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const rt = await Recognite.start({ device: 'cpu' }); // nothing left behind
    await rt.close();
  });

  test('BAD CALL - an arena folder that cannot be written is a SharedMemoryError', async () => {
    await assert.rejects(Recognite.start({ shmDir: '/nonexistent/shm' }), (err: unknown) => {
      assert.ok(err instanceof RecogniteError && err.name === 'SharedMemoryError');
      assert.match(err.message, /\/nonexistent\/shm.*shmDir option/);
      return true;
    });
  });
});

describe('the Node process around the worker', () => {
  test('after close() the script exits by itself and leaves no worker or files', async () => {
    const run = await runFixture('start-close');
    assert.equal(run.code, 0, run.stderr);
    const { pid, dir, prefix } = JSON.parse(run.stdout) as { pid: number; dir: string; prefix: string };
    assert.ok(await waitFor(() => !isAlive(pid), 2000));
    assert.deepEqual(sessionFiles(dir, prefix), []);
  });

  test('a script that forgets close() still exits, and the exit hook cleans up', async () => {
    const run = await runFixture('forget-close');
    assert.equal(run.code, 0, run.stderr);
    const { pid, dir, prefix } = JSON.parse(run.stdout) as { pid: number; dir: string; prefix: string };
    assert.ok(await waitFor(() => !isAlive(pid), 2000));
    assert.deepEqual(sessionFiles(dir, prefix), []);
  });

  test("what the worker prints never reaches the user's stdout", async () => {
    const run = await runFixture('worker-prints');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'USER-OUTPUT\n');
    assert.match(run.stderr, /PYTHON-NOISE\n/);
    assert.match(run.stderr, /PYTHON-NOISE \(fd 1\)/);
  });
});
