/**
 * Tensors in and out of worker messages: Tensors in a payload are written into the arena and sent as
 * descriptors; descriptors in a result are read back as Tensors (or TensorViews), and the worker's
 * output regions are handed back to it, batched onto the next call or a call of their own.
 */
import type { Arena, Lease, TensorRef } from './arena.js';
import { Tensor } from './tensor.js';

export class TensorMarshal {
  private readonly releaseQueue: TensorRef[] = [];
  private releaseScheduled = false;

  /** `sendReleases` gives regions back to the worker in a call of their own (unless it is gone). */
  constructor(
    private readonly arena: Arena,
    private readonly sendReleases: (release: TensorRef[]) => void,
  ) {}

  /** The regions queued for release, to ride along with the next call. */
  takeReleases(): TensorRef[] {
    return this.releaseQueue.splice(0);
  }

  async encode(value: unknown, leases: Lease[]): Promise<unknown> {
    if (value instanceof Tensor) {
      const lease = await this.arena.write(value);
      leases.push(lease);
      return lease.ref;
    }
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.encode(v, leases)));
    if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await this.encode(v, leases);
      return out;
    }
    return value;
  }

  /**
   * Turn tensor descriptors back into Tensors; `into` names caller tensors that receive top-level results,
   * or is 'views' for TensorViews that give the worker its regions back when released.
   */
  async decode(value: unknown, into?: Record<string, Tensor> | 'views', into1?: Tensor): Promise<unknown> {
    if (isTensorRef(value)) {
      if (into === 'views') {
        return this.arena.view(value, () => {
          this.queueRelease(value);
        });
      }
      try {
        return await this.arena.read(value, into1);
      } finally {
        this.queueRelease(value);
      }
    }
    const inner = into === 'views' ? into : undefined;
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.decode(v, inner)));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        out[k] = await this.decode(v, inner, into === 'views' ? undefined : into?.[k]);
      }
      return out;
    }
    return value;
  }

  /** Free the worker's output regions of a result nobody will read. */
  collectRefs(value: unknown): void {
    if (isTensorRef(value)) this.queueRelease(value);
    else if (value && typeof value === 'object')
      Object.values(value).forEach((v) => {
        this.collectRefs(v);
      });
  }

  /** The worker frees output regions with the next call; if none comes soon, with a call of their own. */
  private queueRelease(ref: TensorRef): void {
    if (ref.shape.includes(0)) return;
    this.releaseQueue.push(ref);
    if (this.releaseScheduled) return;
    this.releaseScheduled = true;
    setImmediate(() => {
      this.releaseScheduled = false;
      if (this.releaseQueue.length > 0) this.sendReleases(this.releaseQueue.splice(0));
    });
  }
}

function isTensorRef(value: unknown): value is TensorRef {
  return !!value && typeof value === 'object' && 'kind' in value && value.kind === 'tensor' && 'segment' in value;
}
