/**
 * Embeddings to and from NumPy's .npy files (format version 1.0, little-endian, C order), so that
 * embeddings computed once can be reused, here or in Python (`numpy.load`).
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../core/errors.js';
import { ARRAY_TYPES, Tensor, type DType } from '../core/tensor.js';

const MAGIC = Buffer.from([0x93, ...Buffer.from('NUMPY'), 1, 0]);
const DESCR: Record<DType, string> = {
  float32: '<f4',
  float64: '<f8',
  float16: '<f2',
  int8: '|i1',
  uint8: '|u1',
  int16: '<i2',
  uint16: '<u2',
  int32: '<i4',
  int64: '<i8',
  bool: '|b1',
};

/** Write a tensor as a .npy file, atomically (temporary file, then rename). */
export function saveNpy(path: string, tensor: Tensor): void {
  if (typeof path !== 'string' || path === '') throw ValidationError.one('saveNpy', 'path', 'must be a file path');
  if (!(tensor instanceof Tensor)) {
    throw ValidationError.one('saveNpy', 'tensor', 'must be a Tensor; build one with new Tensor(data, shape)');
  }
  tensor.checkIntact();
  const descr = DESCR[tensor.dtype];
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const unpadded = MAGIC.length + 2 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length);
  const body = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const tmp = join(dirname(path), `.recognite-${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, Buffer.concat([MAGIC, len, Buffer.from(header, 'latin1'), body]), { flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fileError('saveNpy', path, err);
  }
}

/** A file-system failure as a ValidationError that names the path and the reason. */
function fileError(what: string, path: string, err: unknown): ValidationError {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or folder',
    EISDIR: 'is a folder: give the path of a file',
    ENOTDIR: 'a part of the path is not a folder',
    EACCES: 'permission denied',
    EROFS: 'read-only file system',
    ENOTFILE: 'not a regular file (a device or a pipe)',
  };
  return ValidationError.one(what, 'path', `${path}: ${(e.code && reasons[e.code]) ?? e.message}`);
}

/** Read a .npy file written by saveNpy or by numpy (version 1.0/2.0, little-endian, C order). */
export function loadNpy(path: string): Tensor {
  if (typeof path !== 'string' || path === '') throw ValidationError.one('loadNpy', 'path', 'must be a file path');
  let file: Buffer;
  try {
    // a device (/dev/zero) or a FIFO would be read for ever: only regular files
    const stat = statSync(path);
    const code = stat.isDirectory() ? 'EISDIR' : stat.isFile() ? undefined : 'ENOTFILE';
    if (code) throw Object.assign(new Error(code), { code });
    file = readFileSync(path);
  } catch (err) {
    throw fileError('loadNpy', path, err);
  }
  const bad = (why: string): ValidationError => ValidationError.one('.npy file', 'path', `${path}: ${why}`);
  if (file.length < 10 || !file.subarray(0, 6).equals(MAGIC.subarray(0, 6))) throw bad('not a .npy file');
  const major = file[6];
  if (major !== 1 && major !== 2 && major !== 3) throw bad(`unsupported .npy format version ${major}`);
  const start = major === 1 ? 10 : 12;
  if (file.length < start) throw bad('the header is truncated');
  const headerLen = major === 1 ? file.readUInt16LE(8) : file.readUInt32LE(8);
  if (start + headerLen > file.length) throw bad('the header is truncated (it claims more bytes than the file has)');
  const header = file.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  const dtype = (Object.keys(DESCR) as DType[]).find((d) => DESCR[d] === descr);
  if (!dtype) throw bad(`unsupported dtype ${descr}; supported: ${Object.values(DESCR).join(', ')}`);
  if (fortran !== 'False') throw bad('Fortran-ordered arrays are not supported; save a C-ordered array');
  if (shapeText === undefined) throw bad('no shape in the header');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw bad(`a bad shape in the header: (${shapeText})`);
  const Ctor = ARRAY_TYPES[dtype];
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  if (file.length - offset !== count * Ctor.BYTES_PER_ELEMENT) throw bad('the data length does not match the shape');
  const copy = new Uint8Array(count * Ctor.BYTES_PER_ELEMENT); // own, aligned memory
  copy.set(file.subarray(offset));
  return new Tensor(new Ctor(copy.buffer, 0, count), shape, dtype);
}
