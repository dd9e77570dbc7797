// Tensors through the real worker and real shared memory, TS -> Python -> TS, byte for byte.
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DTYPES, Recognite, Tensor, type DType } from 'recognite-ts';
import { ARRAY_TYPES } from '../src/sdk/core/tensor.js';

let rt: Recognite;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
});
after(async () => {
  await rt.close();
});

function randomTensor(dtype: DType, shape: number[]): Tensor {
  const length = shape.reduce((a, b) => a * b, 1);
  const data = new ARRAY_TYPES[dtype](length);
  randomFillSync(new Uint8Array(data.buffer)); // every bit pattern, NaNs and infinities included
  if (dtype === 'bool') (data as Uint8Array).forEach((v, i, arr) => (arr[i] = v & 1));
  return new Tensor(data, shape, dtype);
}

function bytesOf(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function assertSame(back: Tensor, sent: Tensor): void {
  assert.equal(back.dtype, sent.dtype);
  assert.deepEqual(back.shape, sent.shape);
  assert.ok(bytesOf(back).equals(bytesOf(sent)), `payload of ${sent.dtype} [${sent.shape.join(', ')}] differs`);
  assert.notEqual(back.data.buffer, sent.data.buffer, 'the result is a copy, not the input');
}

describe('echo round trips', () => {
  for (const dtype of DTYPES) {
    test(`${dtype} comes back byte-exact`, async () => {
      const t = randomTensor(dtype, [3, 5, 7]);
      assertSame(await rt.echo(t), t);
    });
  }

  test('empty tensors keep their shape', async () => {
    for (const shape of [[0], [0, 3], [4, 0, 2]]) {
      const t = new Tensor(new Float32Array(0), shape);
      assertSame(await rt.echo(t), t);
    }
  });

  test('odd shapes: scalar, 1-element, prime sizes, many dims', async () => {
    for (const shape of [[], [1], [7919], [3, 1, 5, 1, 2, 1, 3], [1, 1, 1, 1, 1, 1, 1, 1]]) {
      const t = randomTensor('float64', shape);
      assertSame(await rt.echo(t), t);
    }
  });

  test('a view into a larger buffer sends only its own bytes', async () => {
    const big = new Int32Array(100).map((_, i) => i);
    const t = new Tensor(big.subarray(10, 20), [10]);
    const back = await rt.echo(t);
    assert.deepEqual([...back.data], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test('tensor payloads never travel through the JSON control channel', async () => {
    const t = randomTensor('float32', [4, 1024, 1024]); // 16 MiB
    assertSame(await rt.echo(t), t);
    assert.ok(rt.largestControlMessage < 2048, `a control message of ${rt.largestControlMessage} characters`);
  });

  test('shared-memory files are private to the user (mode 0600)', () => {
    const { dir, prefix } = rt.sharedMemory;
    const files = readdirSync(dir).filter((n) => n.startsWith(`${prefix}-`));
    assert.ok(files.some((n) => n.includes('-ts-')) && files.some((n) => n.includes('-py-')), files.join());
    for (const name of files) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
  });

  test('a 256 MiB tensor (bigger than the arena) round-trips byte-exact', async () => {
    const t = randomTensor('float32', [64, 1024, 1024]);
    assertSame(await rt.echo(t), t);
  });

  test('200 concurrent round trips each get their own result', async () => {
    const sent = Array.from(
      { length: 200 },
      (_, i) => new Tensor(Float32Array.from({ length: 1 + (i % 17) * 100 }, (_, j) => i * 1e4 + j)),
    );
    const back = await Promise.all(sent.map((t) => rt.echo(t)));
    back.forEach((b, i) => {
      assertSame(b, sent[i]!);
    });
  });

  test('concurrent big and small round trips share nothing', async () => {
    const sent = [
      randomTensor('uint8', [80 * 1024 * 1024]), // forces an overflow segment
      randomTensor('int64', [1000]),
      randomTensor('float16', [40 * 1024 * 1024]),
      randomTensor('int16', [3]),
    ];
    const back = await Promise.all(sent.map((t) => rt.echo(t)));
    back.forEach((b, i) => {
      assertSame(b, sent[i]!);
    });
  });
});
