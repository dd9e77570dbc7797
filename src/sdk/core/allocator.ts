/**
 * First-fit allocator over one shared-memory segment, so concurrent calls never
 * share a region. The Python twin is py_bridge/allocator.py; both align regions to
 * 64 bytes and merge neighbouring free blocks on release.
 */
export const ALIGNMENT = 64;

export function alignUp(n: number, alignment = ALIGNMENT): number {
  return Math.ceil(n / alignment) * alignment;
}

export class FirstFitAllocator {
  /** Free blocks as [start, length], sorted by start, never adjacent. */
  private free: Array<[number, number]>;
  private readonly used = new Map<number, number>();

  constructor(readonly capacity: number) {
    this.free = capacity > 0 ? [[0, capacity]] : [];
  }

  /** Bytes currently handed out (after alignment). */
  get usedBytes(): number {
    let total = 0;
    for (const size of this.used.values()) total += size;
    return total;
  }

  /** Mark every free block as allocated and return them as [offset, size]; release each by its offset. */
  claimAllFree(): Array<[number, number]> {
    const claimed = this.free;
    this.free = [];
    for (const [start, length] of claimed) this.used.set(start, length);
    return claimed;
  }

  /** Offset of a new region of at least `nbytes`, or undefined when no free block fits. */
  allocate(nbytes: number): number | undefined {
    const size = Math.max(alignUp(nbytes), ALIGNMENT);
    const i = this.free.findIndex(([, length]) => length >= size);
    if (i < 0) return undefined;
    const [start, length] = this.free[i] as [number, number];
    if (length === size) this.free.splice(i, 1);
    else this.free[i] = [start + size, length - size];
    this.used.set(start, size);
    return start;
  }

  /** Give a region back. */
  release(offset: number): void {
    const size = this.used.get(offset);
    if (size === undefined) throw new Error(`allocator: offset ${offset} is not allocated`);
    this.used.delete(offset);
    let i = this.free.findIndex(([start]) => start > offset);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, [offset, size]);
    // merge with the next block, then with the previous one
    const next = this.free[i + 1];
    if (next && offset + size === next[0]) {
      this.free[i] = [offset, size + next[1]];
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    const cur = this.free[i] as [number, number];
    if (prev && prev[0] + prev[1] === cur[0]) {
      this.free[i - 1] = [prev[0], prev[1] + cur[1]];
      this.free.splice(i, 1);
    }
  }
}
