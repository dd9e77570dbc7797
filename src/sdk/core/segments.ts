/**
 * TypeScript's own segments: a pool that grows with the work and shrinks back when idle
 * (the Python twin is py_bridge/bridge/shm_pool.py).
 *
 * Input tensors go into regions of pooled segments: the primary one, made at start, plus
 * extra ones made when a tensor does not fit, so a loop over big tensors reuses the same
 * (already faulted-in) pages call after call instead of creating and deleting a segment per
 * call. The pool is bounded (`maxBytes` in all); a tensor that would pass the bound gets a
 * segment for that call alone. Extra segments without a region are dropped by `shrink()`
 * (after a quiet spell) and before a new one is made; the worker is then told to unmap them.
 */
import { closeSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { alignUp, FirstFitAllocator } from './allocator.js';
import { SharedMemoryError, type RecogniteError } from './errors.js';
import type { NativeShm } from './native.js';

export interface Segment {
  name: string;
  fd: number;
  size: number;
  /** The whole segment, mapped, when the native add-on is present. */
  view?: Uint8Array;
  /** Bytes from the start already backed by tmpfs pages (mapped writes must stay below it). */
  reserved: number;
}

/** A region of a segment, held by one input tensor until its call is over. */
export interface Region {
  seg: Segment;
  offset: number;
  /** A segment for this one call, removed on release. */
  transient: boolean;
}

export function shmError(err: unknown, what: string, dir: string): RecogniteError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EFBIG') {
    return new SharedMemoryError(
      `shared memory is full while ${what} in ${dir} (${code}): free space there, ` +
        'or point the shmDir option / RECOGNITE_SHM_DIR at a folder with room',
    );
  }
  return new SharedMemoryError(
    `cannot use shared memory while ${what} in ${dir}: ${(err as Error).message}; ` +
      'point the shmDir option / RECOGNITE_SHM_DIR at a writable folder (ideally a tmpfs such as /dev/shm)',
  );
}

interface Pooled {
  seg: Segment;
  alloc: FirstFitAllocator;
}

export class SegmentPool {
  private readonly pooled: Pooled[];
  private readonly step: number;
  private counter = 0;
  /** Whether segments are mapped (the add-on is there and mapping the primary worked). */
  private mapping: boolean;
  /** Names of dropped segments the worker may still have mapped: sent with the next shrink call. */
  readonly forgotten: string[] = [];

  /**
   * @param maxBytes bound of the pooled segments together; extras grow in steps of `primaryBytes`
   */
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    primaryBytes: number,
    readonly maxBytes: number,
    private readonly native: NativeShm | undefined,
  ) {
    this.mapping = native !== undefined && primaryBytes > 0;
    const primary = this.create(primaryBytes);
    this.mapping = primary.view !== undefined;
    this.pooled = [{ seg: primary, alloc: new FirstFitAllocator(primaryBytes) }];
    this.step = Math.max(primaryBytes, 1024 * 1024);
  }

  get primary(): Segment {
    return (this.pooled[0] as Pooled).seg;
  }

  /** Size of the pooled segments together: what stays resident once written. */
  get pooledBytes(): number {
    return this.pooled.reduce((sum, p) => sum + p.seg.size, 0);
  }

  /** Whether any region of any pooled segment is handed out (a call is in flight). */
  get busy(): boolean {
    return this.pooled.some((p) => p.alloc.usedBytes > 0);
  }

  /** Whether the pool holds more than the primary segment. */
  get grown(): boolean {
    return this.pooled.length > 1;
  }

  /** A region of `bytes`: in a pooled segment with room, a new extra one within the bound, else a segment of its own. */
  allocate(bytes: number): Region {
    for (const p of this.pooled) {
      const offset = p.alloc.allocate(bytes);
      if (offset !== undefined) return { seg: p.seg, offset, transient: false };
    }
    this.shrink(); // idle extras are too small: make room for one that fits
    const size = Math.ceil(alignUp(bytes) / this.step) * this.step;
    if (this.pooledBytes + size <= this.maxBytes) {
      const p = { seg: this.create(size), alloc: new FirstFitAllocator(size) };
      this.pooled.push(p);
      return { seg: p.seg, offset: p.alloc.allocate(bytes) ?? 0, transient: false };
    }
    return { seg: this.create(bytes), offset: 0, transient: true };
  }

  release(region: Region): void {
    if (region.transient) {
      this.drop(region.seg);
      return;
    }
    this.pooled.find((p) => p.seg === region.seg)?.alloc.release(region.offset);
  }

  /** Drop the extra segments that hold no region (their names go to `forgotten`); returns how many. */
  shrink(): number {
    let dropped = 0;
    for (let i = this.pooled.length - 1; i >= 1; i--) {
      const p = this.pooled[i] as Pooled;
      if (p.alloc.usedBytes > 0) continue;
      this.pooled.splice(i, 1);
      this.drop(p.seg);
      this.forgotten.push(p.seg.name);
      dropped++;
    }
    return dropped;
  }

  /** Claim every free block of the primary segment (see Arena.whileFreeSpaceClaimed). */
  claimPrimaryFree(): { release(): void; free: Array<[number, number]> } {
    const p = this.pooled[0] as Pooled;
    const free = p.alloc.claimAllFree();
    return {
      free,
      release: () => {
        for (const [offset] of free) p.alloc.release(offset);
        p.seg.reserved = 0; // pages went away: mapped writes must reserve again
      },
    };
  }

  private create(bytes: number): Segment {
    const name = `${this.prefix}-ts-${this.counter++}`;
    let fd: number | undefined;
    try {
      fd = openSync(join(this.dir, name), 'wx+', 0o600);
      ftruncateSync(fd, bytes);
    } catch (err) {
      if (fd !== undefined) this.drop({ name, fd, size: bytes, reserved: 0 });
      throw shmError(err, 'creating a segment', this.dir);
    }
    const seg: Segment = { name, fd, size: bytes, reserved: 0 };
    if (this.native && this.mapping && bytes > 0) {
      try {
        seg.view = new Uint8Array(this.native.map(fd, bytes));
      } catch {
        // cannot map here: the file I/O path works everywhere
      }
    }
    return seg;
  }

  private drop(seg: Segment): void {
    if (seg.view) this.native?.unmap(seg.view.buffer as ArrayBuffer);
    seg.view = undefined;
    try {
      closeSync(seg.fd);
      unlinkSync(join(this.dir, seg.name));
    } catch {
      // already gone
    }
  }

  /** Unmap and close every segment (the files are removed by the arena). Idempotent. */
  close(): void {
    for (const p of this.pooled.splice(0)) {
      try {
        if (p.seg.view) this.native?.unmap(p.seg.view.buffer as ArrayBuffer);
        p.seg.view = undefined;
        closeSync(p.seg.fd);
      } catch {
        // already closed
      }
    }
  }
}
