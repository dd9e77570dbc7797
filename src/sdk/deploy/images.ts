/**
 * Image files → the model's input, as the worker's evaluation transform makes it
 * (py_bridge/data/transforms.py eval_transform): decode to RGB uint8, resize the shortest side to
 * `size` (antialiased bilinear, resize.ts), centre-crop `size` × `size`, scale to [0, 1], normalise.
 * sharp only decodes; every step after it is done here in float32 as torch does it.
 */
import { ValidationError } from '../core/errors.js';
import { resizeRgb, roundHalfEven, shortestSide } from './resize.js';
import { sharpLibrary } from './optional-deps.js';
import type { OnnxPreprocess } from './sidecar.js';

/** The worker's limit ($RECOGNITE_MAX_IMAGE_PIXELS, default PIL's): a small file can hold gigapixels. */
function maxPixels(): number {
  const raw = Number(process.env.RECOGNITE_MAX_IMAGE_PIXELS);
  return Number.isSafeInteger(raw) && raw > 0 ? raw : 89_478_485;
}

type Decoded = Promise<{ rgb: Uint8Array; width: number; height: number }>;

/** Decode one file to interleaved RGB uint8 (alpha dropped, grey repeated), as torchvision's decode_image(RGB). */
export async function decodeRgb(path: string): Decoded {
  const sharp = await sharpLibrary(); // outside the try: a missing sharp is not a bad image
  try {
    // no EXIF rotation, as decode_image; the first frame of an animation
    const { data, info } = await sharp(path, { limitInputPixels: maxPixels(), failOn: 'error' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const rgb =
      info.channels === 3 ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : toRgb(data, info.channels);
    return { rgb, width: info.width, height: info.height };
  } catch (err) {
    throw ValidationError.one(
      'OnnxRecognizer.embed',
      'paths',
      `cannot decode image ${path}: ${(err as Error).message}`,
    );
  }
}

function toRgb(data: Uint8Array, channels: number): Uint8Array {
  const pixels = data.length / channels;
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * channels + Math.min(c, channels - 1)] as number;
  }
  return out;
}

/**
 * Write one decoded image into `out` (3 × size × size float32, channels first) at `offset`:
 * resize, centre crop, /255 and (x − mean) / std, each rounded to float32 as torch computes them.
 */
export function preprocessInto(
  image: { rgb: Uint8Array; width: number; height: number },
  size: number,
  pre: OnnxPreprocess,
  out: Float32Array,
  offset: number,
): void {
  const target = shortestSide(image.width, image.height, size);
  const resized =
    target.width === image.width && target.height === image.height
      ? image.rgb
      : pre.antialias
        ? resizeRgb(image.rgb, image.width, image.height, target.width, target.height)
        : unsupported();
  const top = roundHalfEven((target.height - size) / 2);
  const left = roundHalfEven((target.width - size) / 2);
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(pre.mean[c] as number);
    const std = Math.fround(pre.std[c] as number);
    const base = offset + c * plane;
    for (let y = 0; y < size; y++) {
      const row = ((top + y) * target.width + left) * 3 + c;
      for (let x = 0; x < size; x++) {
        const v = Math.fround((resized[row + x * 3] as number) / 255);
        out[base + y * size + x] = Math.fround(v - mean) / std;
      }
    }
  }
}

function unsupported(): never {
  throw ValidationError.one(
    'OnnxRecognizer',
    'sidecar.preprocess.antialias',
    'only antialiased resizing (the worker’s) is implemented',
  );
}

/** Decode and preprocess image files into one N × 3 × size × size float32 batch. */
export async function imageBatch(paths: readonly string[], size: number, pre: OnnxPreprocess): Promise<Float32Array> {
  const per = 3 * size * size;
  const out = new Float32Array(paths.length * per);
  // decoding runs on libuv's threads: a few files at a time overlap decoding with the resizing here
  const decoded = paths.map((p) => decodeRgb(p));
  for (const pending of decoded) pending.catch(() => undefined); // the first failure is thrown below, once
  for (let i = 0; i < decoded.length; i++) preprocessInto(await (decoded[i] as Decoded), size, pre, out, i * per);
  return out;
}
