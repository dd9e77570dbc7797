/**
 * The shared-memory data plane, TypeScript side (the Python side is py_bridge/shm.py).
 *
 * Segment files live in /dev/shm (else the OS temp folder), are created with mode
 * 0600, and all carry the session's name prefix so that either side can remove every
 * one of them at exit. TypeScript writes input tensors into regions of its own
 * segments and reads results out of the worker's segments; only small descriptors
 * travel through the control channel.
 *
 * Node has no mmap without a native add-on, so this side moves bytes with positional
 * reads and writes on the tmpfs file: the same single copy in and single copy out a
 * mapping would need, with no compiler needed at install time. Python maps the same
 * pages with numpy and wraps them with torch.from_numpy without copying.
 */
import { randomBytes } from 'node:crypto';
import { accessSync, closeSync, constants, ftruncateSync, openSync, readdirSync, unlinkSync } from 'node:fs';
import { read, readSync, write, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FirstFitAllocator } from './allocator.js';
import { RecogniteError, SharedMemoryError } from './errors.js';
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
}

export class Arena {
  readonly prefix: string;
  private readonly primary: Segment;
  private readonly alloc: FirstFitAllocator;
  private overflowCounter = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    primaryBytes: number,
  ) {
    this.prefix = `recognite-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.primary = this.createSegment('ts-0', primaryBytes);
    this.alloc = new FirstFitAllocator(primaryBytes);
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
      return { name, fd };
    } catch (err) {
      if (fd !== undefined) this.dropSegment({ name, fd });
      throw shmError(err, 'creating a segment', this.dir);
    }
  }

  private dropSegment(seg: Segment): void {
    closeSync(seg.fd);
    try {
      unlinkSync(join(this.dir, seg.name));
    } catch {
      // already gone
    }
  }

  /** Copy a tensor into a region of its own and describe it; release the lease once the call is over. */
  async write(tensor: Tensor): Promise<Lease> {
    if (this.closed) throw new RecogniteError('the shared-memory arena is closed');
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
      await copyIn(seg.fd, tensor.data, at);
    } catch (err) {
      release();
      throw shmError(err, 'writing a tensor', this.dir);
    }
    const ref: TensorRef = { ...base, segment: seg.name, offset: at };
    if (seg !== this.primary) ref.transient = true;
    return { ref, release };
  }

  /** Copy a tensor the worker wrote out of its segment into memory owned by the caller. */
  async read(ref: TensorRef): Promise<Tensor> {
    const Ctor = ARRAY_TYPES[ref.dtype];
    const length = ref.shape.reduce((a, b) => a * b, 1);
    const bytes = length * Ctor.BYTES_PER_ELEMENT;
    // allocUnsafeSlow: a buffer of its own at offset 0 (aligned for any typed array), not zero-filled
    const buf = Buffer.allocUnsafeSlow(bytes);
    if (bytes > 0) {
      if (!ref.segment.startsWith(`${this.prefix}-`) || ref.segment.includes('/')) {
        throw new RecogniteError(`worker answered with a segment outside this session: ${ref.segment}`);
      }
      const fd = openSync(join(this.dir, ref.segment), 'r');
      try {
        await copyOut(fd, buf, ref.offset);
      } finally {
        closeSync(fd);
      }
    }
    const data = new Ctor(buf.buffer, buf.byteOffset, length);
    return new Tensor(data, ref.shape, ref.dtype);
  }

  /** The primary segment's name and its free blocks, for the worker to hand their pages back when memory is full. */
  freeSpace(): { segment: string; free: Array<[number, number]> } {
    return { segment: this.primary.name, free: this.alloc.freeBlocks() };
  }

  /** Close the primary segment and remove every file of the session, the worker's included. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      closeSync(this.primary.fd);
    } catch {
      // already closed
    }
    removeSessionFiles(this.dir, this.prefix);
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

async function copyOut(fd: number, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const rest = buf.byteLength - done;
    const n =
      rest < ASYNC_COPY_BYTES
        ? readSync(fd, buf, done, rest, position + done)
        : (await readAsync(fd, buf, done, rest, position + done)).bytesRead;
    if (n === 0) throw new RecogniteError(`shared-memory segment ended early at byte ${position + done}`);
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
