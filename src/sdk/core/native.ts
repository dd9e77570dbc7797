/**
 * The optional native add-on (native/shm_native.c, built by the set-up with node-gyp):
 * lets Node map the arena's segments, so tensor bytes move with one memcpy each way.
 * Without it (no compiler at install time, or RECOGNITE_NO_NATIVE=1) the arena uses
 * positional file I/O on the same files: slower for big tensors, same behaviour.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PACKAGE_ROOT } from './package-root.js';

export interface NativeShm {
  /** A shared read-write mapping of the first `length` bytes of a file. */
  map(fd: number, length: number): ArrayBuffer;
  /** Private memory on huge pages where allowed, faulted in now or recycled; contents unspecified. */
  alloc(length: number): ArrayBuffer;
  /** Unmap recycled alloc() buffers idle for `idleMs`; returns how many may still need trimming. */
  trim(idleMs: number): number;
  /** Back a file range with pages now (posix_fallocate): a full tmpfs is an ENOSPC error, never a SIGBUS. */
  reserve(fd: number, offset: number, length: number): void;
  /** Unmap a buffer made by map() now; it is detached, so a stray later access throws. */
  unmap(buffer: ArrayBuffer): void;
  /** An ArrayBuffer over `length` bytes at `offset` of a buffer made by map(), no copy; it owns nothing. */
  view(buffer: ArrayBuffer, offset: number, length: number): ArrayBuffer;
  /** Detach a buffer made by view() (idempotent): typed arrays over it then have length 0. */
  detach(buffer: ArrayBuffer): void;
}

export const NATIVE_PATH = join(PACKAGE_ROOT, 'build', 'Release', 'shm_native.node');

let loaded: NativeShm | null | undefined;

/** The add-on, or undefined when it is not built or is disabled. */
export function nativeShm(): NativeShm | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (process.env.RECOGNITE_NO_NATIVE !== '1') {
      try {
        loaded = createRequire(import.meta.url)(NATIVE_PATH) as NativeShm;
      } catch {
        // not built here: the file I/O path is used
      }
    }
  }
  return loaded ?? undefined;
}
