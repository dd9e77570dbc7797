/**
 * The shared-memory data plane, TypeScript side (the Python side is py_bridge/shm.py).
 *
 * Segment files live in a private folder of the session (mode 0700, session-dir.ts) in /dev/shm
 * (else the OS temp folder), are created with mode 0600, and all carry the session's name prefix
 * so that either side can remove every one of them at exit. TypeScript writes input tensors into regions of its own
 * segments and reads results out of the worker's segments; only small descriptors
 * travel through the control channel.
 *
 * Node has no mmap of its own: with the optional native add-on (src/sdk/native.ts) this
 * side maps the segments, copies with memcpy and can hand results out as zero-copy views
 * (TensorView); without it, it moves bytes with positional reads and writes on the same
 * tmpfs files (one kernel copy each way, nothing to compile at install time). Python maps
 * the pages with numpy and wraps them with torch.from_numpy without copying.
 *
 * Both sides keep a pool of segments that grows with the work (segments.ts and
 * shm_pool.py), bounded by `maxBytes` each, and shrinks back after SHRINK_IDLE_MS without
 * a call: this side asks the worker to drop its idle extra segments then ('shm.shrink').
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ClosedError, TransportError, ValidationError } from './errors.js';
import { copyIn, copyOut } from './file-copy.js';
import { freshBytes } from './fresh-memory.js';
import { nativeShm, type NativeShm } from './native.js';
import { SegmentPool, shmError, type Segment } from './segments.js';
import { makeSessionDir, removeSessionDir } from './session-dir.js';
import { ARRAY_TYPES, Tensor, type DType, type TensorData } from './tensor.js';
import { TensorView } from './tensor-view.js';
import { ViewTracker } from './view-tracker.js';
import { WorkerMappings } from './worker-maps.js';

/** Default size of each side's primary segment; tmpfs backs only the pages that get touched. */
export const DEFAULT_PRIMARY_BYTES = 64 * 1024 * 1024;
/** Default bound of each side's pooled segments together ($RECOGNITE_SHM_MAX_MIB overrides it). */
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;
/** Quiet time after which grown pools shrink back to their primary segment ($RECOGNITE_SHM_IDLE_MS overrides it). */
export const SHRINK_IDLE_MS = 2000;

/** A tensor's place in shared memory, as both sides describe it. */
export interface TensorRef {
  kind: 'tensor';
  segment: string;
  offset: number;
  dtype: DType;
  shape: number[];
  /** A segment made for this one call; the worker unmaps it when the call ends. */
  transient?: boolean;
}

/** A region holding one input tensor until the call that reads it is over. */
export interface Lease {
  ref: TensorRef;
  release(): void;
}

/** A positive number from the environment, else the default. */
function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** What the worker is asked to do when the pools shrink: unmap `forget` and drop its own idle extras. */
export type Shrinker = (forget: string[]) => Promise<void>;

export class Arena {
  readonly prefix: string;
  readonly maxBytes: number;
  private readonly pool: SegmentPool;
  private closed = false;
  private readonly native: NativeShm | undefined = nativeShm();
  /** The worker's segments, mapped (add-on only). */
  private readonly workerMaps: WorkerMappings | undefined;
  /** Live zero-copy views (add-on only): released, collected, or detached at close. */
  private readonly views: ViewTracker | undefined;
  private shrinker: Shrinker | undefined;
  private readonly idleMs = envNumber('RECOGNITE_SHM_IDLE_MS', SHRINK_IDLE_MS);
  private lastUse = 0;
  private shrinkTimer: NodeJS.Timeout | undefined;
  /** The worker answered from an extra segment since the last shrink. */
  private workerGrown = false;

  /** This session's private folder (mode 0700) inside the shared-memory folder. */
  readonly dir: string;

  private constructor(
    /** The shared-memory folder the session folder lives in (/dev/shm, shmDir, …). */
    readonly baseDir: string,
    primaryBytes: number,
  ) {
    this.dir = makeSessionDir(baseDir);
    this.prefix = `recognite-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.maxBytes = envNumber('RECOGNITE_SHM_MAX_MIB', DEFAULT_MAX_BYTES / 2 ** 20) * 2 ** 20;
    try {
      this.pool = new SegmentPool(this.dir, this.prefix, primaryBytes, this.maxBytes, this.native);
    } catch (err) {
      removeSessionDir(this.dir);
      throw err;
    }
    if (this.native && this.pool.primary.view && typeof this.native.view === 'function') {
      this.workerMaps = new WorkerMappings(this.dir, `${this.prefix}-py-0`, this.native);
      this.views = new ViewTracker(this.native);
    }
  }

  /** Whether tensor bytes move through memory mappings (the native add-on) or file I/O. */
  get mode(): 'mapped' | 'file-io' {
    return this.workerMaps ? 'mapped' : 'file-io';
  }

  /** Create the session's primary segment; a SharedMemoryError says what to do when that fails. */
  static create(dir: string, primaryBytes = DEFAULT_PRIMARY_BYTES): Arena {
    return new Arena(dir, primaryBytes);
  }

  /** How the pools shrink on the worker's side (set once the worker runs). */
  setShrinker(shrinker: Shrinker): void {
    this.shrinker = shrinker;
  }

  /** Size of this side's pooled segments together, and how many zero-copy views are alive (diagnostics and tests). */
  get usage(): { pooledBytes: number; liveViews: number } {
    return { pooledBytes: this.pool.pooledBytes, liveViews: this.views?.size ?? 0 };
  }

  /** Path of a file of this session (segments, the worker's log). */
  path(suffix: string): string {
    return join(this.dir, `${this.prefix}-${suffix}`);
  }

  /** Copy a tensor into a region of its own and describe it; release the lease once the call is over. */
  async write(tensor: Tensor): Promise<Lease> {
    if (this.closed) throw new ClosedError('the shared-memory arena is closed');
    tensor.checkIntact();
    const bytes = tensor.byteLength;
    const base = { kind: 'tensor' as const, dtype: tensor.dtype, shape: [...tensor.shape] };
    if (bytes === 0) return { ref: { ...base, segment: this.pool.primary.name, offset: 0 }, release: () => {} };
    const region = this.pool.allocate(bytes);
    const { seg, offset } = region;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (!this.closed) this.pool.release(region);
      this.touch();
    };
    try {
      if (seg.view) this.copyInMapped(seg, tensor.data, offset);
      else await copyIn(seg.fd, tensor.data, offset);
    } catch (err) {
      release();
      throw shmError(err, 'writing a tensor', this.dir);
    }
    const ref: TensorRef = { ...base, segment: seg.name, offset };
    if (region.transient) ref.transient = true;
    return { ref, release };
  }

  private copyInMapped(seg: Segment, data: TensorData, at: number): void {
    const end = at + data.byteLength;
    if (end > seg.reserved) {
      // back the pages first: writing an unbacked page of a full tmpfs would be a SIGBUS
      this.native?.reserve(seg.fd, seg.reserved, end - seg.reserved);
      seg.reserved = end;
    }
    seg.view?.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
  }

  /**
   * Copy a tensor the worker wrote out of its segment, into `into` when given (same dtype and
   * shape: no new memory, the fastest path), else into new memory owned by the caller.
   */
  async read(ref: TensorRef, into?: Tensor): Promise<Tensor> {
    const Ctor = ARRAY_TYPES[ref.dtype];
    const length = ref.shape.reduce((a, b) => a * b, 1);
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    if (into) checkInto(into, ref);
    const target = into
      ? new Uint8Array(into.data.buffer, into.data.byteOffset, into.data.byteLength)
      : freshBytes(this.native, bytes, this.idleMs);
    if (bytes > 0) {
      this.noteWorkerSegment(ref);
      if (this.workerMaps) {
        const mapped = this.workerMaps.bytes(ref.segment, ref.transient === true);
        target.set(mapped.subarray(ref.offset, ref.offset + bytes));
        this.workerMaps.doneWith(ref.segment);
      } else {
        const fd = openSync(join(this.dir, ref.segment), 'r');
        try {
          await copyOut(fd, target, ref.offset);
        } finally {
          closeSync(fd);
        }
      }
    }
    if (into) return into;
    return new Tensor(new Ctor(target.buffer, target.byteOffset, length), ref.shape, ref.dtype);
  }

  /**
   * A result as a TensorView: with the add-on, over the worker's own pages (no copy), and
   * `releaseWorker` runs when the view is released (or collected); without it, a copy, and
   * `releaseWorker` runs at once.
   */
  async view(ref: TensorRef, releaseWorker: () => void): Promise<TensorView> {
    const Ctor = ARRAY_TYPES[ref.dtype];
    const length = ref.shape.reduce((a, b) => a * b, 1);
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    if (!this.workerMaps || bytes === 0) {
      let copy: Tensor;
      try {
        copy = await this.read(ref);
      } finally {
        releaseWorker();
      }
      return new TensorView(copy.data, ref.shape, ref.dtype, false, () => {});
    }
    this.noteWorkerSegment(ref);
    const maps = this.workerMaps;
    const buffer = maps.view(ref.segment, ref.transient === true, ref.offset, bytes);
    const release = (this.views as ViewTracker).track(buffer, () => {
      if (this.closed) return;
      maps.unview(ref.segment);
      releaseWorker();
      this.noteWorkerSegment(ref); // the worker's segment it lay in may be idle now: shrink it later
    });
    return new TensorView(new Ctor(buffer, 0, length), ref.shape, ref.dtype, true, release);
  }

  private noteWorkerSegment(ref: TensorRef): void {
    if (!ref.transient && ref.segment !== `${this.prefix}-py-0`) this.workerGrown = true;
    if (!ref.segment.startsWith(`${this.prefix}-`) || ref.segment.includes('/')) {
      throw new TransportError(`worker answered with a segment outside this session: ${ref.segment}`);
    }
    this.touch();
  }

  /** Note a use; once the pools have grown, shrink them back after a quiet spell. */
  private touch(): void {
    this.lastUse = Date.now();
    if (this.shrinkTimer || this.closed || !(this.pool.grown || this.workerGrown || this.pool.forgotten.length)) {
      return;
    }
    this.shrinkTimer = setTimeout(() => {
      this.shrinkTimer = undefined;
      const quiet = Date.now() - this.lastUse;
      if (quiet < this.idleMs || this.pool.busy) this.touch();
      else void this.shrink();
    }, this.idleMs).unref();
  }

  /**
   * Drop both sides' extra segments that hold no region now (this is what the idle timer does).
   * Never rejects: a worker that cannot answer drops its segments when it exits.
   */
  async shrink(): Promise<void> {
    if (this.closed) return;
    this.pool.shrink();
    const forget = this.pool.forgotten.splice(0);
    this.workerGrown = false;
    await this.shrinker?.(forget).catch(() => {});
    this.workerMaps?.dropIdle();
  }

  /**
   * Run `trim` (the worker handing back the pages of the free blocks of the primary segment)
   * while those blocks are claimed, so no concurrent call can write into them meanwhile.
   */
  async whileFreeSpaceClaimed(
    trim: (space: { segment: string; free: Array<[number, number]> }) => Promise<void>,
  ): Promise<void> {
    await this.shrink();
    const claim = this.pool.claimPrimaryFree();
    try {
      await trim({ segment: this.pool.primary.name, free: claim.free });
    } finally {
      claim.release();
    }
  }

  /**
   * Close every segment and remove every file of the session, the worker's included; live views
   * are detached first (they read as empty from then on). Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.shrinkTimer) clearTimeout(this.shrinkTimer);
    this.views?.detachAll();
    this.workerMaps?.close();
    this.pool.close();
    removeSessionDir(this.dir);
  }
}

function checkInto(into: Tensor, ref: TensorRef): void {
  if (!(into instanceof Tensor) || into.dtype !== ref.dtype || into.shape.join() !== ref.shape.join()) {
    throw ValidationError.one(
      'out',
      '',
      `the output tensor must be ${ref.dtype} [${ref.shape.join(', ')}] to receive this result, got ` +
        (into instanceof Tensor ? `${into.dtype} [${into.shape.join(', ')}]` : String(into)),
    );
  }
}
