// A full shared-memory folder: a typed SharedMemoryError that says what to do, and the worker survives.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Recognite, SharedMemoryError, Tensor } from 'recognite-ts';

/** A 2 MiB tmpfs of our own (needs root, as on CI); undefined where mounting is not allowed. */
function mountTinyTmpfs(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'recognite-tinyshm-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

test('BAD CALL - tensors that do not fit in a full shared-memory folder', async (t) => {
  const dir = mountTinyTmpfs();
  if (!dir) {
    t.skip('cannot mount a small tmpfs here (not root)');
    return;
  }
  try {
    const rt = await Recognite.start({ device: 'cpu', shmDir: dir });
    try {
      // TypeScript's own write fails: 4 MiB into a 2 MiB folder
      await assert.rejects(rt.echo(new Tensor(new Float32Array(1024 * 1024))), (err: unknown) => {
        assert.ok(err instanceof SharedMemoryError, String(err));
        assert.match(err.message, /shared memory is full.*shmDir option \/ RECOGNITE_SHM_DIR/);
        return true;
      });
      // TypeScript's copy fits, the worker's answer does not: the worker reports it instead of dying of SIGBUS
      await assert.rejects(rt.echo(new Tensor(new Float32Array(320 * 1024))), (err: unknown) => {
        assert.ok(err instanceof SharedMemoryError, String(err));
        assert.match(err.message, /worker could not reserve 1310720 bytes/);
        return true;
      });
      // nothing was lost: the space came back and a tensor that fits still round-trips
      const small = new Tensor(Float32Array.from({ length: 1000 }, (_, i) => i));
      assert.deepEqual([...(await rt.echo(small)).data], [...small.data]);
      const again = new Tensor(new Float32Array(200 * 1024).fill(3));
      assert.equal((await rt.echo(again)).data[204799], 3);
    } finally {
      await rt.close();
    }
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
