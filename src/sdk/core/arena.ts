/**
 * The shared-memory data plane, TypeScript side (the Python side is py_bridge/shm.py).
 *
 * Segment files live in /dev/shm (else the OS temp folder), are created with mode
 * 0600, and all carry the session's name prefix so that either side can remove every
 * one of them at exit. TypeScript writes input tensors into regions of its own
 * segments and reads results out of the worker's segments; only small descriptors
 * travel through the control channel.
 *
 * Node has no mmap of its own: with the optional native add-on (src/sdk/native.ts) this
 * side maps the primary segments and copies with memcpy; without it, it moves bytes
 * with positional reads and writes on the same tmpfs files (one kernel copy each way,
 * nothing to compile at install time). Python maps the pages with numpy and wraps
 * them with torch.from_numpy without copying.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, fstatSync, ftruncateSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { read, readSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FirstFitAllocator } from './allocator.js';
import { ClosedError, SharedMemoryError, TransportError, ValidationError, type RecogniteError } from './errors.js';
import { nativeShm, type NativeShm } from './native.js';
import { ARRAY_TYPES, Tensor, type DType, type TensorData } from './tensor.js';

const readAsync = promisify(read);
const writeAsync = promisify(write);

/** Below this size a copy is done inline; above it, on libuv's thread pool so the event loop keeps going. */
const ASYNC_COPY_BYTES = 4 * 1024 * 1024;
/** Default size of each side's primary segment; tmpfs backs only the pages that get touched. */
export const DEFAULT_PRIMARY_BYTES = 64 * 1024 * 1024;

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

/** The folder for segment files: the option, else $RECOGNITE_SHM_DIR, else /dev/shm when writable, else the OS temp folder. */
export function chooseShmDir(option?: string): string {
  const explicit = option ?? process.env.RECOGNITE_SHM_DIR;
  if (explicit) return explicit;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

function shmError(err: unknown, what: string, dir: string): RecogniteError {
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

interface Segment {
  name: string;
  fd: number;
  /** The whole segment, mapped, when the native add-on is present. */
  view?: Uint8Array;
  /** Bytes from the start already backed by tmpfs pages (mapped writes must stay below it). */
  reserved: number;
}

/** Results at least this big get pre-faulted memory from the add-on. */
const PREFAULT_BYTES = 1024 * 1024;

export class Arena {
  readonly prefix: string;
  private readonly primary: Segment;
  private readonly alloc: FirstFitAllocator;
  private overflowCounter = 0;
  private closed = false;
  private readonly native: NativeShm | undefined = nativeShm();
  /** The worker's primary segment, mapped once on first read (add-on only). */
  private workerPrimary: Segment | undefined;

  private constructor(
    readonly dir: string,
    primaryBytes: number,
  ) {
    this.prefix = `recognite-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.primary = this.createSegment('ts-0', primaryBytes);
    this.alloc = new FirstFitAllocator(primaryBytes);
    if (this.native && primaryBytes > 0) {
      try {
        this.primary.view = new Uint8Array(this.native.map(this.primary.fd, primaryBytes));
      } catch {
        // cannot map here: the file I/O path works everywhere
      }
    }
  }

  /** Whether tensor bytes move through memory mappings (the native add-on) or file I/O. */
  get mode(): 'mapped' | 'file-io' {
    return this.primary.view ? 'mapped' : 'file-io';
  }

  /** Create the session's primary segment; a SharedMemoryError says what to do when that fails. */
  static create(dir: string, primaryBytes = DEFAULT_PRIMARY_BYTES): Arena {
    return new Arena(dir, primaryBytes);
  }

  /** Path of a file of this session (segments, the worker's log). */
  path(suffix: string): string {
    return join(this.dir, `${this.prefix}-${suffix}`);
  }

  private createSegment(suffix: string, bytes: number): Segment {
    const name = `${this.prefix}-${suffix}`;
    let fd: number | undefined;
    try {
      fd = openSync(join(this.dir, name), 'wx+', 0o600);
      ftruncateSync(fd, bytes);
      return { name, fd, reserved: 0 };
    } catch (err) {
      if (fd !== undefined) this.dropSegment({ name, fd, reserved: 0 });
      throw shmError(err, 'creating a segment', this.dir);
    }
  }

  private dropMapping(seg: Segment): void {
    if (seg.view) this.native?.unmap(seg.view.buffer as ArrayBuffer);
    seg.view = undefined;
  }

  private dropSegment(seg: Segment): void {
    this.dropMapping(seg);
    closeSync(seg.fd);
    try {
      unlinkSync(join(this.dir, seg.name));
    } catch {
      // already gone
    }
  }

  /** Copy a tensor into a region of its own and describe it; release the lease once the call is over. */
  async write(tensor: Tensor): Promise<Lease> {
    if (this.closed) throw new ClosedError('the shared-memory arena is closed');
    const bytes = tensor.byteLength;
    const base = { kind: 'tensor' as const, dtype: tensor.dtype, shape: [...tensor.shape] };
    if (bytes === 0) return { ref: { ...base, segment: this.primary.name, offset: 0 }, release: () => {} };
    const offset = this.alloc.allocate(bytes);
    // Too big for what is free: a segment for this call alone, removed when it is over.
    const seg = offset === undefined ? this.createSegment(`ts-${++this.overflowCounter}`, bytes) : this.primary;
    const at = offset ?? 0;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      if (seg === this.primary) this.alloc.release(at);
      else this.dropSegment(seg);
    };
    try {
      if (seg.view) this.copyInMapped(seg, tensor.data, at);
      else await copyIn(seg.fd, tensor.data, at);
    } catch (err) {
      release();
      throw shmError(err, 'writing a tensor', this.dir);
    }
    const ref: TensorRef = { ...base, segment: seg.name, offset: at };
    if (seg !== this.primary) ref.transient = true;
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
      : this.freshBytes(bytes);
    if (bytes > 0) {
      if (!ref.segment.startsWith(`${this.prefix}-`) || ref.segment.includes('/')) {
        throw new TransportError(`worker answered with a segment outside this session: ${ref.segment}`);
      }
      const mapped = this.mappedWorkerSegment(ref.segment);
      if (mapped) {
        target.set(mapped.subarray(ref.offset, ref.offset + bytes));
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

  /** Memory of its own at offset 0 (aligned for any typed array), not zero-filled where that costs. */
  private freshBytes(bytes: number): Uint8Array {
    if (this.native && bytes >= PREFAULT_BYTES) return new Uint8Array(this.native.alloc(bytes));
    return Buffer.allocUnsafeSlow(bytes);
  }

  /** The worker's primary segment, mapped (add-on only); its overflow segments are read with file I/O. */
  private mappedWorkerSegment(name: string): Uint8Array | undefined {
    if (!this.native || !this.primary.view || name !== `${this.prefix}-py-0`) return undefined;
    if (!this.workerPrimary) {
      const fd = openSync(join(this.dir, name), 'r+');
      const size = fstatSync(fd).size;
      this.workerPrimary = { name, fd, reserved: size, view: new Uint8Array(this.native.map(fd, size)) };
    }
    return this.workerPrimary.view;
  }

  /**
   * Run `trim` (the worker handing back the pages of the free blocks of the primary segment)
   * while those blocks are claimed, so no concurrent call can write into them meanwhile.
   */
  async whileFreeSpaceClaimed(
    trim: (space: { segment: string; free: Array<[number, number]> }) => Promise<void>,
  ): Promise<void> {
    const free = this.alloc.claimAllFree();
    try {
      await trim({ segment: this.primary.name, free });
    } finally {
      for (const [offset] of free) this.alloc.release(offset);
      this.primary.reserved = 0; // pages went away: mapped writes must reserve again
    }
  }

  /** Close the primary segment and remove every file of the session, the worker's included. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const seg of [this.primary, this.workerPrimary]) {
      if (!seg) continue;
      try {
        this.dropMapping(seg);
        closeSync(seg.fd);
      } catch {
        // already closed
      }
    }
    removeSessionFiles(this.dir, this.prefix);
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

async function copyIn(fd: number, data: TensorData, position: number): Promise<void> {
  const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let done = 0;
  while (done < view.byteLength) {
    const chunk = view.subarray(done);
    done +=
      chunk.byteLength < ASYNC_COPY_BYTES
        ? writeSync(fd, chunk, 0, chunk.byteLength, position + done)
        : (await writeAsync(fd, chunk, 0, chunk.byteLength, position + done)).bytesWritten;
  }
}

async function copyOut(fd: number, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const rest = buf.byteLength - done;
    const n =
      rest < ASYNC_COPY_BYTES
        ? readSync(fd, buf, done, rest, position + done)
        : (await readAsync(fd, buf, done, rest, position + done)).bytesRead;
    if (n === 0) throw new TransportError(`shared-memory segment ended early at byte ${position + done}`);
    done += n;
  }
}

/** Unlink every file named `<prefix>-…` in `dir` (synchronous: it runs from exit handlers). */
export function removeSessionFiles(dir: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(`${prefix}-`)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // gone already, or not ours to remove
    }
  }
}
