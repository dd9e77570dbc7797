// Bad Tensor constructions: one "bad call" test per check, each a ValidationError naming the problem.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Recognite, Tensor, ValidationError } from 'recognite-ts';

/** The constructor without its static types, to make the calls a JS user could make. */
const UntypedTensor = Tensor as unknown as new (...args: unknown[]) => Tensor;

function rejects(make: () => unknown, fragment: RegExp): void {
  assert.throws(make, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.match(err.message, fragment);
    return true;
  });
}

describe('Tensor construction', () => {
  test('infers dtype and keeps shape', () => {
    const t = new Tensor(new Float32Array(6), [2, 3]);
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.shape, [2, 3]);
    assert.equal(new Tensor(new BigInt64Array(2)).dtype, 'int64');
    assert.equal(new Tensor(new Uint16Array(2), [2], 'float16').dtype, 'float16');
    assert.equal(new Tensor(new Uint8Array(2), [2], 'bool').dtype, 'bool');
  });

  test('shape defaults to 1-D and empty tensors are fine', () => {
    assert.deepEqual(new Tensor(new Int32Array(5)).shape, [5]);
    assert.equal(new Tensor(new Float32Array(0), [0, 7]).size, 0);
    assert.deepEqual(new Tensor(new Float32Array(1), []).shape, []); // a scalar
  });

  test('BAD CALL - data length does not match shape', () => {
    rejects(() => new Tensor(new Float32Array(5), [2, 3]), /has 5 elements but shape \[2, 3\] needs 6/);
  });

  test('BAD CALL - negative dimension', () => {
    rejects(() => new Tensor(new Float32Array(0), [-1, 0]), /shape\[0\]: must be a non-negative integer, got -1/);
  });

  test('BAD CALL - fractional dimension', () => {
    rejects(() => new Tensor(new Float32Array(3), [1.5, 2]), /shape\[0\].*got 1\.5/);
  });

  test('BAD CALL - NaN dimension', () => {
    rejects(() => new Tensor(new Float32Array(3), [NaN]), /shape\[0\].*got NaN/);
  });

  test('BAD CALL - unsupported dtype', () => {
    rejects(() => new UntypedTensor(new Float32Array(1), [1], 'complex64'), /unsupported dtype "complex64"/);
  });

  test('BAD CALL - typed array does not match dtype', () => {
    rejects(() => new UntypedTensor(new Float32Array(1), [1], 'int64'), /dtype 'int64' needs a BigInt64Array/);
  });

  test('BAD CALL - not a typed array', () => {
    rejects(() => new UntypedTensor([1, 2, 3], [3]), /Array is not a supported typed array/);
    rejects(() => new UntypedTensor(new Uint8ClampedArray(2)), /Uint8ClampedArray is not a supported/);
  });

  test('BAD CALL - every problem is listed at once', () => {
    assert.throws(
      () => new Tensor(new Float32Array(1), [-1, 0.5]),
      (err: unknown) => err instanceof ValidationError && err.problems.length === 2,
    );
  });
});

test('a tensor whose data was replaced after construction is refused when sent, not read with its old shape', async () => {
  await using rt = await Recognite.start({ device: 'cpu' });
  const t = new Tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
  (t as { data: Float32Array }).data = new Float32Array(8192);
  await assert.rejects(
    rt.echo(t),
    (e: unknown) => e instanceof ValidationError && /shape was replaced after construction/.test(e.message),
  );
  const swapped = new Tensor(new Float32Array(4), [4]);
  (swapped as unknown as { data: Int32Array }).data = new Int32Array(4);
  await assert.rejects(rt.echo(swapped), ValidationError);
  assert.deepEqual([...(await rt.echo(new Tensor(new Float32Array([5]), [1]))).data], [5]);
});
