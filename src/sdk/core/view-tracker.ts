/**
 * Bookkeeping of zero-copy views (TensorView over the worker's mapped pages): each ends once,
 * by release() or, as a safety net, when its buffer is garbage-collected (FinalizationRegistry);
 * at close every live one is detached before the mappings under it go, so none can touch
 * unmapped memory.
 */
import type { NativeShm } from './native.js';

export class ViewTracker {
  private readonly live = new Set<WeakRef<ArrayBuffer>>();
  private readonly finalizer = new FinalizationRegistry<() => void>((settle) => {
    settle();
  });

  constructor(private readonly native: NativeShm) {}

  /** Views alive now (diagnostics and tests). */
  get size(): number {
    return this.live.size;
  }

  /**
   * Track the buffer of a new view. `end` runs once: at the returned release (which detaches the
   * buffer first, so typed arrays over it read as empty) or when the buffer is collected.
   */
  track(buffer: ArrayBuffer, end: () => void): () => void {
    const weak = new WeakRef(buffer);
    this.live.add(weak);
    const settle = this.settler(weak, end);
    const token = {};
    this.finalizer.register(buffer, settle, token);
    return () => {
      this.native.detach(buffer);
      this.finalizer.unregister(token);
      settle();
    };
  }

  /**
   * The registry's held value, made in a scope of its own: closures share their scope's variables,
   * and this one must not reach the buffer, or the buffer could never be collected.
   */
  private settler(weak: WeakRef<ArrayBuffer>, end: () => void): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.live.delete(weak);
      end();
    };
  }

  /** Detach every live view (before its mapping goes); their `end` never runs. */
  detachAll(): void {
    for (const weak of this.live) {
      const buffer = weak.deref();
      if (buffer) this.native.detach(buffer);
    }
    this.live.clear();
  }
}
