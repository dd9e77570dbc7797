/**
 * `Tensor`: a dtype, a shape and a typed array, checked when it is made so that a
 * bad tensor never reaches shared memory or the worker. The dtype → typed-array
 * map follows onnxruntime-web's; float16 travels as raw IEEE half bits in a
 * Uint16Array and must be asked for by name.
 */
import { ValidationError, type Problem } from './errors.js';

/** Element types a Tensor can hold. */
export type DType =
  'float32' | 'float64' | 'float16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'int64' | 'bool';

/** The typed array that holds each dtype. */
export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

/** Any of the typed arrays a Tensor can hold (see DataTypeMap). */
export type TensorData = DataTypeMap[DType];

type TypedArrayConstructor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TensorData;
  new (length: number): TensorData;
  readonly BYTES_PER_ELEMENT: number;
};

/** Constructor of the typed array of each dtype. */
export const ARRAY_TYPES: Record<DType, TypedArrayConstructor> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
};

/** Every DType, in DataTypeMap's order. */
export const DTYPES = Object.keys(ARRAY_TYPES) as DType[];

/** The dtype a typed array means when none is given (Uint16Array means uint16; pass 'float16' for halves). */
function inferDType(data: unknown): DType | undefined {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  return undefined;
}

function describeData(data: unknown): string {
  if (data === null || data === undefined) return String(data);
  return typeof data === 'object' ? data.constructor.name : typeof data;
}

/** The class behind `Tensor` (exported for TensorView to extend; use `Tensor`). @internal */
export class TensorImpl<T extends DType = DType> {
  /** The elements, row-major, in the typed array of the dtype (float16: raw IEEE half bits in a Uint16Array). */
  readonly data: DataTypeMap[T];
  /** The size of each dimension; their product is the number of elements. */
  readonly shape: readonly number[];
  /** The element type. */
  readonly dtype: T;

  /**
   * @param data  the elements, row-major, in the typed array of the dtype
   * @param shape the size of each dimension (non-negative integers); defaults to `[data.length]`
   * @param dtype defaults to what the typed array implies; required for 'float16' and 'bool'
   * @throws ValidationError naming every problem
   */
  constructor(data: DataTypeMap[T], shape?: readonly number[], dtype?: T) {
    const problems: Problem[] = [];
    const resolved = (dtype ?? inferDType(data)) as T | undefined;
    if (resolved === undefined) {
      problems.push({
        path: 'data',
        message: `${describeData(data)} is not a supported typed array; use one of Float32Array, Float64Array, Int8Array, Uint8Array, Int16Array, Uint16Array, Int32Array or BigInt64Array`,
      });
    } else if (!(resolved in ARRAY_TYPES)) {
      problems.push({
        path: 'dtype',
        message: `unsupported dtype ${JSON.stringify(resolved)}; expected one of ${DTYPES.join(', ')}`,
      });
    } else if (!(data instanceof ARRAY_TYPES[resolved])) {
      problems.push({
        path: 'data',
        message: `dtype '${resolved}' needs a ${ARRAY_TYPES[resolved].name}, got ${describeData(data)}`,
      });
    }
    // JavaScript callers can pass anything: check the run-time values, not the declared types
    const given: unknown = shape ?? (ArrayBuffer.isView(data) ? [data.length] : []);
    const dims: number[] = [];
    if (!Array.isArray(given)) {
      problems.push({ path: 'shape', message: `must be an array of dimensions, got ${describeData(given)}` });
    } else {
      given.forEach((d: unknown, i) => {
        if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
          problems.push({ path: `shape[${i}]`, message: `must be a non-negative integer, got ${String(d)}` });
        } else dims.push(d);
      });
    }
    if (problems.length === 0) {
      const expected = dims.reduce((a, b) => a * b, 1);
      const length = data.length;
      if (length !== expected) {
        problems.push({
          path: 'data',
          message: `has ${length} elements but shape [${dims.join(', ')}] needs ${expected}`,
        });
      }
    }
    if (problems.length) throw new ValidationError('Tensor', problems);
    this.data = data;
    this.shape = Object.freeze([...dims]);
    this.dtype = resolved as T;
  }

  /**
   * @internal Throw unless `data` still fits `dtype` and `shape`: `data` is read-only in the types,
   * but JavaScript can replace it, and a tensor sent with a stale shape would read the wrong bytes.
   */
  checkIntact(): void {
    const data: unknown = this.data;
    const shape: unknown = this.shape;
    const Ctor = Object.hasOwn(ARRAY_TYPES, this.dtype) ? ARRAY_TYPES[this.dtype] : undefined;
    const dims =
      Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)
        ? (shape as number[])
        : undefined;
    const expected = dims?.reduce((a, b) => a * b, 1);
    if (
      !Ctor ||
      expected === undefined ||
      !(data instanceof Ctor) ||
      (data as { length: number }).length !== expected
    ) {
      const length = ArrayBuffer.isView(data) ? ` of ${(data as Float32Array).length} elements` : '';
      const message =
        `holds ${describeData(data)}${length}, but the tensor says dtype ${JSON.stringify(this.dtype)} and shape ` +
        `${JSON.stringify(shape)}${expected === undefined ? '' : ` (${expected} elements)`}: its data, dtype or ` +
        'shape was replaced after construction; build a new Tensor instead';
      throw ValidationError.one('Tensor', 'data', message);
    }
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Payload size in bytes. */
  get byteLength(): number {
    return this.data.byteLength;
  }
}

/** A dtype, a shape and the typed array of its elements (row-major). */
export type Tensor<T extends DType = DType> = TensorImpl<T>;

/**
 * `new Tensor(data, shape?, dtype?)`, typed by its data: `new Tensor(new Float32Array(4), [2, 2])` is a
 * `Tensor<'float32'>`. Uint16Array means uint16 and Uint8Array uint8 unless 'float16' or 'bool' is given.
 */
export interface TensorConstructor {
  new (data: Float32Array, shape?: readonly number[], dtype?: 'float32'): Tensor<'float32'>;
  new (data: Float64Array, shape?: readonly number[], dtype?: 'float64'): Tensor<'float64'>;
  new (data: Uint16Array, shape: readonly number[] | undefined, dtype: 'float16'): Tensor<'float16'>;
  new (data: Uint8Array, shape: readonly number[] | undefined, dtype: 'bool'): Tensor<'bool'>;
  new (data: Int8Array, shape?: readonly number[], dtype?: 'int8'): Tensor<'int8'>;
  new (data: Uint8Array, shape?: readonly number[], dtype?: 'uint8'): Tensor<'uint8'>;
  new (data: Int16Array, shape?: readonly number[], dtype?: 'int16'): Tensor<'int16'>;
  new (data: Uint16Array, shape?: readonly number[], dtype?: 'uint16'): Tensor<'uint16'>;
  new (data: Int32Array, shape?: readonly number[], dtype?: 'int32'): Tensor<'int32'>;
  new (data: BigInt64Array, shape?: readonly number[], dtype?: 'int64'): Tensor<'int64'>;
  new <T extends DType>(data: DataTypeMap[T], shape?: readonly number[], dtype?: T): Tensor<T>;
  readonly prototype: Tensor;
}

export const Tensor = TensorImpl as TensorConstructor;
