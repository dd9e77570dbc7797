// Zero-copy result views (TensorView) and shared-memory pools that grow and shrink, against the real worker.
// Runs with and without the native add-on (RECOGNITE_NO_NATIVE=1: views are copies, same rules).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { ClosedError, Recognite, Tensor, TensorView, ValidationError } from 'recognite-ts';
import { nativeShm } from '../src/sdk/core/native.js';
import { gc } from './helpers.js';

const MiB = 1024 * 1024;
process.env.RECOGNITE_SHM_IDLE_MS = '300'; // read when the arena is made: shrink soon after the work

let rt: Recognite;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
});
after(async () => {
  await rt.close();
});

const floats = (mib: number, value: number): Tensor<'float32'> =>
  new Tensor(new Float32Array((mib * MiB) / 4).fill(value));
const sessionFiles = (kind: 'ts' | 'py'): string[] =>
  readdirSync(rt.sharedMemory.dir)
    .filter((n) => n.startsWith(`${rt.sharedMemory.prefix}-${kind}-`))
    .sort();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mapped = (): boolean => rt.sharedMemory.mode === 'mapped';
/** Wait until both pools are back to their primary segment (the idle shrink has run). */
async function settled(): Promise<void> {
  for (let i = 0; i < 50 && sessionFiles('py').length + sessionFiles('ts').length > 2; i++) await sleep(100);
  assert.deepEqual(sessionFiles('ts'), [`${rt.sharedMemory.prefix}-ts-0`]);
  assert.deepEqual(sessionFiles('py'), [`${rt.sharedMemory.prefix}-py-0`]);
}

describe('TensorView results', () => {
  test('a view holds the result; release is idempotent and guards every later read', async () => {
    const sent = new Tensor(
      Int32Array.from({ length: 1000 }, (_, i) => i * 3),
      [10, 100],
    );
    const view = await rt.echo(sent, { view: true });
    assert.ok(view instanceof TensorView && view instanceof Tensor);
    assert.equal(view.zeroCopy, mapped());
    assert.deepEqual(view.shape, [10, 100]);
    assert.equal(view.dtype, 'int32');
    assert.deepEqual([...view.data], [...sent.data]);
    const kept = view.data;
    view.release();
    view.release(); // idempotent
    assert.ok(view.released);
    assert.throws(() => view.data, ClosedError);
    assert.throws(() => view.byteLength, ClosedError);
    if (mapped()) assert.equal(kept.length, 0, 'the released buffer is detached, not stale');
    await assert.rejects(rt.echo(view), ClosedError); // a released view cannot be sent either
  });

  test('`using` releases at the end of the block, and a released region is reused', async () => {
    let first: { segment: string; kept: Float32Array } | undefined;
    {
      using view = await rt.echo(floats(8, 1), { view: true });
      assert.equal(view.data[0], 1);
      first = { segment: 'py-0', kept: view.data };
    }
    assert.ok(first);
    if (mapped()) assert.equal(first.kept.length, 0);
    // the worker's region was given back: the next results land in the same primary segment
    using again = await rt.echo(floats(8, 2), { view: true });
    assert.equal(again.data[(8 * MiB) / 4 - 1], 2);
    assert.deepEqual(sessionFiles('py'), [`${rt.sharedMemory.prefix}-py-0`]);
  });

  test('a live view keeps its region: later results never overwrite it', async () => {
    const held = await rt.echo(floats(40, 7), { view: true });
    const others = await Promise.all([rt.echo(floats(40, 8)), rt.echo(floats(1, 9), { view: true })]);
    assert.equal(others[0].data[0], 8);
    assert.ok(
      held.data.every((v) => v === 7),
      'the held view kept its bytes',
    );
    others[1].release();
    held.release();
  });

  test('concurrent calls with views each get their own bytes', async () => {
    const views = await Promise.all(
      Array.from({ length: 50 }, (_, i) => rt.echo(new Tensor(new Float64Array(1 + i * 37).fill(i)), { view: true })),
    );
    views.forEach((v, i) => {
      assert.equal(v.size, 1 + i * 37);
      assert.ok(v.data.every((x) => x === i));
    });
    if (mapped()) assert.equal(rt.sharedMemory.liveViews >= 50, true);
    views.forEach((v) => {
      v.release();
    });
    assert.equal(rt.sharedMemory.liveViews, 0);
  });

  test('a view dropped without release is given back by the finaliser', async (t) => {
    if (!mapped()) {
      t.skip('without the add-on a view is a copy: nothing is held');
      return;
    }
    await settled();
    await (async () => {
      await rt.echo(floats(40, 1), { view: true }); // dropped at once
    })();
    for (let i = 0; i < 20 && rt.sharedMemory.liveViews > 0; i++) {
      gc();
      await sleep(20);
    }
    assert.equal(rt.sharedMemory.liveViews, 0, 'the finaliser ran');
    // its 40 MiB region is free again: another 40 MiB result fits in the primary segment
    await sleep(10);
    using view = await rt.echo(floats(40, 3), { view: true });
    assert.equal(view.data[0], 3);
    assert.deepEqual(sessionFiles('py'), [`${rt.sharedMemory.prefix}-py-0`]);
  });

  test('BAD CALL - view together with out', async () => {
    const t = floats(1, 0);
    await assert.rejects(
      rt.echo(t, { view: true, out: t } as unknown as { view: true }),
      (err: unknown) => err instanceof ValidationError && /choose one way to receive/.test(err.message),
    );
  });
});

describe('pools that grow and shrink', () => {
  test('a 100 MiB tensor grows both pools, the next one reuses them, and both shrink back when idle', async () => {
    await settled(); // earlier tests' extras are gone
    const t = floats(100, 4);
    const back = await rt.echo(t);
    assert.equal(back.data[(100 * MiB) / 4 - 1], 4);
    const grownTs = sessionFiles('ts');
    const grownPy = sessionFiles('py');
    assert.equal(grownTs.length, 2, grownTs.join());
    assert.equal(grownPy.length, 2, grownPy.join());
    assert.equal(rt.sharedMemory.pooledBytes, 64 * MiB + 128 * MiB); // grown in 64 MiB steps
    const out = new Tensor(new Float32Array(t.size), t.shape);
    await rt.echo(t, { out });
    assert.equal(out.data[0], 4);
    assert.deepEqual(sessionFiles('ts'), grownTs, 'the same segments, no new one per call');
    assert.deepEqual(sessionFiles('py'), grownPy);
    await settled();
    assert.equal(rt.sharedMemory.pooledBytes, 64 * MiB);
    // and it still works after shrinking
    assert.equal((await rt.echo(floats(100, 6))).data[12345], 6);
  });

  test('a view pins the extra segment it lies in until released', async (t) => {
    if (!mapped()) {
      t.skip('without the add-on a view is a copy: nothing is pinned');
      return;
    }
    const view = await rt.echo(floats(100, 2), { view: true });
    await sleep(700); // past the idle time
    assert.equal(sessionFiles('py').length, 2, 'the viewed segment stays');
    assert.equal(view.data[0], 2);
    view.release();
    await settled();
  });
  test('results in new memory recycle collected buffers: each result has its own bytes, idle ones are unmapped', async (t) => {
    const native = nativeShm();
    if (!mapped() || !native) {
      t.skip('without the add-on results come from Node allocator');
      return;
    }
    const receive = async (): Promise<Float32Array[]> => {
      const alive: Float32Array[] = [];
      for (let i = 1; i <= 6; i++) {
        const out = await rt.echo(floats(8, i)); // 8 MiB: an add-on buffer
        assert.ok(
          out.data.every((v) => v === i),
          `result ${i} holds only its own values`,
        );
        if (i % 2 === 0) alive.push(out.data); // half stay alive, half go back
        gc();
        await sleep(5);
      }
      return alive;
    };
    const kept = await receive(); // in a function of its own, so its locals die with it
    assert.deepEqual(
      kept.map((a) => a[0]),
      [2, 4, 6],
      'a kept result is never handed out again',
    );
    assert.ok(kept.every((a, k) => a.every((v) => v === 2 * (k + 1))));
    assert.ok(native.trim(60_000) >= kept.length, 'live buffers count as still to be trimmed');
    kept.length = 0;
    for (let i = 0; i < 20 && native.trim(0) > 0; i++) {
      gc();
      await sleep(20);
    }
    assert.equal(native.trim(0), 0, 'every buffer went back and was unmapped');
  });
});

describe('closing', () => {
  test('close() detaches live views: they read as empty, never as unmapped memory', async () => {
    const view = await rt.echo(floats(1, 5), { view: true });
    const kept = view.data;
    assert.equal(kept[0], 5);
    await rt.close();
    if (mapped()) assert.equal(kept.length, 0);
    view.release(); // still fine after close
    assert.throws(() => view.data, ClosedError);
  });
});
