/**
 * Node's mappings of the worker's output segments (native add-on only), so results are
 * read, or viewed, in place. Pooled segments stay mapped between calls (their pages are
 * faulted in once); a segment is unmapped only when no view lies in it: at shrink time
 * for the pooled ones, at its last view's release for one made for a single result.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeShm } from './native.js';

interface Mapping {
  fd: number;
  bytes: Uint8Array;
  /** Live zero-copy views into it: while any is alive it stays mapped. */
  views: number;
  transient: boolean;
}

export class WorkerMappings {
  private readonly maps = new Map<string, Mapping>();

  constructor(
    private readonly dir: string,
    private readonly primaryName: string,
    private readonly native: NativeShm,
  ) {}

  /** The mapped bytes of a worker segment, mapping it on first use. */
  bytes(name: string, transient: boolean): Uint8Array {
    let m = this.maps.get(name);
    if (!m) {
      const fd = openSync(join(this.dir, name), 'r+');
      try {
        const size = fstatSync(fd).size;
        m = { fd, bytes: new Uint8Array(this.native.map(fd, size)), views: 0, transient };
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      this.maps.set(name, m);
    }
    return m.bytes;
  }

  /** A zero-copy ArrayBuffer over `[offset, offset + length)` of a segment; pair with `unview`. */
  view(name: string, transient: boolean, offset: number, length: number): ArrayBuffer {
    const bytes = this.bytes(name, transient);
    const buffer = this.native.view(bytes.buffer as ArrayBuffer, offset, length);
    (this.maps.get(name) as Mapping).views++;
    return buffer;
  }

  /** A view of `name` ended; a single-result segment without views is unmapped at once. */
  unview(name: string): void {
    const m = this.maps.get(name);
    if (!m) return;
    m.views--;
    if (m.transient && m.views === 0) this.unmap(name, m);
  }

  /** After a read without a view: a single-result segment is not needed any more. */
  doneWith(name: string): void {
    const m = this.maps.get(name);
    if (m?.transient && m.views === 0) this.unmap(name, m);
  }

  /** Unmap every segment but the primary that holds no view (the worker may have dropped them). */
  dropIdle(): void {
    for (const [name, m] of this.maps) if (name !== this.primaryName && m.views === 0) this.unmap(name, m);
  }

  /** Unmap everything; the caller has detached every view first. */
  close(): void {
    for (const [name, m] of this.maps) this.unmap(name, m);
  }

  private unmap(name: string, m: Mapping): void {
    this.maps.delete(name);
    try {
      this.native.unmap(m.bytes.buffer as ArrayBuffer);
      closeSync(m.fd);
    } catch {
      // already closed
    }
  }
}
