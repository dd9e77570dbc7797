/**
 * `TensorView`: a result Tensor that may be a zero-copy view of the worker's shared memory
 * (`rt.echo(t, { view: true })`). The worker keeps its region for it until `release()`;
 * after that the region is reused, so every read is refused: `view.data` throws a
 * ClosedError, and with the native add-on the view's own ArrayBuffer is detached, so a
 * typed array kept from before reads as empty (length 0), never as another call's bytes.
 * Without the add-on the view is a copy (there is no mapping to view), with the same rules.
 */
import { ClosedError } from './errors.js';
import { TensorImpl, type DataTypeMap, type DType } from './tensor.js';

/**
 * A result Tensor that may be a zero-copy view of the worker's shared memory (`rt.echo(t, { view: true })`):
 * call `release()` (or declare it with `using`) when done; after that every read of `data` is refused.
 */
export class TensorView<T extends DType = DType> extends TensorImpl<T> implements Disposable {
  #release: (() => void) | undefined;

  /**
   * @param zeroCopy whether `data` lies in the worker's shared memory (native add-on) or is a copy
   * @param release gives the region back; called once, by `release()` or `[Symbol.dispose]()`
   * @internal
   */
  constructor(
    data: DataTypeMap[T],
    shape: readonly number[],
    dtype: T,
    readonly zeroCopy: boolean,
    release: () => void,
  ) {
    super(data, shape, dtype);
    this.#release = release;
    // an accessor in place of the field, so a released view cannot be read through its wrapper
    Object.defineProperty(this, 'data', {
      enumerable: true,
      get: (): DataTypeMap[T] => {
        if (!this.#release) {
          throw new ClosedError(
            'this TensorView was released and its shared memory reused: read or copy its data ' +
              '(e.g. new Tensor(view.data.slice(), view.shape)) before release()',
          );
        }
        return data;
      },
    });
  }

  /** Whether `release()` has been called. */
  get released(): boolean {
    return this.#release === undefined;
  }

  /** Give the worker its region back. Idempotent; afterwards `data` throws. Also what `using` calls. */
  release(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
