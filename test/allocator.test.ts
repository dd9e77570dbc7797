// The first-fit allocator behind the arena: regions never overlap and freed space merges back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FirstFitAllocator } from '../src/sdk/core/allocator.js';

test('regions are aligned and never overlap', () => {
  const a = new FirstFitAllocator(1024);
  const offsets = [1, 64, 65, 100].map((n) => a.allocate(n));
  assert.deepEqual(offsets, [0, 64, 128, 256]);
  assert.equal(a.usedBytes, 64 + 64 + 128 + 128);
});

test('returns undefined when nothing fits, then fits after a release', () => {
  const a = new FirstFitAllocator(256);
  const x = a.allocate(200)!;
  assert.equal(a.allocate(100), undefined);
  a.release(x);
  assert.equal(a.allocate(256), 0);
});

test('released neighbours merge into one block', () => {
  const a = new FirstFitAllocator(192);
  const [x, y, z] = [a.allocate(64)!, a.allocate(64)!, a.allocate(64)!];
  a.release(x);
  a.release(z);
  assert.equal(a.allocate(128), undefined); // two separate holes of 64
  a.release(y);
  assert.equal(a.allocate(192), 0); // all three merged
});

test('releasing an unknown offset is an error', () => {
  assert.throws(() => {
    new FirstFitAllocator(128).release(64);
  }, /not allocated/);
});
