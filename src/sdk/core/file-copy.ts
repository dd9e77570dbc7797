/**
 * Positional file I/O on segment files: how bytes move without the native add-on (one kernel
 * copy each way on the same tmpfs pages a mapping would use).
 */
import { read, readSync, write, writeSync } from 'node:fs';
import { promisify } from 'node:util';
import { TransportError } from './errors.js';
import type { TensorData } from './tensor.js';

const readAsync = promisify(read);
const writeAsync = promisify(write);

/** Below this size a copy is done inline; above it, on libuv's thread pool so the event loop keeps going. */
const ASYNC_COPY_BYTES = 4 * 1024 * 1024;

/** Write a tensor's bytes into a segment file at `position`. */
export async function copyIn(fd: number, data: TensorData, position: number): Promise<void> {
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

/** Fill `buf` from a segment file, starting at `position`. */
export async function copyOut(fd: number, buf: Uint8Array, position: number): Promise<void> {
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
