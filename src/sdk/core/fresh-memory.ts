/**
 * Memory for results received "in new memory" (`rt.echo(t)` without `out` or `view`).
 *
 * With the add-on, large buffers come from native alloc(): pre-faulted on transparent huge
 * pages (32 faults per 64 MiB instead of 16,384), and recycled once their ArrayBuffer is
 * collected, so a loop of same-sized results stops paying for fresh pages at all. Recycled
 * buffers idle for `idleMs` are unmapped by a timer that runs only while there may be some.
 */
import type { NativeShm } from './native.js';

/** Below this, Node's own allocator is as fast. */
const NATIVE_ALLOC_BYTES = 1024 * 1024;

let trimTimer: NodeJS.Timeout | undefined;

/** Bytes of their own at offset 0 (aligned for any typed array); contents unspecified, so overwrite them all. */
export function freshBytes(native: NativeShm | undefined, bytes: number, idleMs: number): Uint8Array {
  if (!native || bytes < NATIVE_ALLOC_BYTES) return Buffer.allocUnsafeSlow(bytes);
  const buffer = new Uint8Array(native.alloc(bytes));
  scheduleTrim(native, idleMs);
  return buffer;
}

function scheduleTrim(native: NativeShm, idleMs: number): void {
  if (trimTimer) return;
  trimTimer = setTimeout(() => {
    trimTimer = undefined;
    if (native.trim(idleMs) > 0) scheduleTrim(native, idleMs);
  }, idleMs).unref();
}
