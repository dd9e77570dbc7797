/**
 * The worker's resize, bit for bit: torchvision's `v2.Resize(size, antialias=True)` on a uint8
 * image runs torch's antialiased bilinear kernel for uint8 (aten UpSampleKernel, the PIL-style
 * separable triangle filter), horizontal pass first, each pass rounded back to uint8 with int16
 * fixed-point weights. sharp's kernels (and libvips' own bilinear) weigh pixels differently, so
 * images are decoded with sharp and resized here instead (docs/DEPLOYMENT.md, "Without Python").
 */

/** One output pixel's window into the input: its first input index and int16 weights. */
interface Taps {
  start: Int32Array;
  size: Int32Array;
  /** `maxTaps` weights per output index (zero past `size`). */
  weights: Int32Array;
  maxTaps: number;
  precision: number;
}

/** The triangle (bilinear) filter. */
function triangle(x: number): number {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/** torch's `_compute_weights_aa` then `_compute_index_ranges_int16_weights` for one axis. */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  // downscaling widens the filter by the scale (antialiasing); upscaling keeps the plain triangle
  const support = scale >= 1 ? scale : 1;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const real = new Float64Array(outSize * maxTaps);
  let maxWeight = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xsize = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = triangle((j + xmin - center + 0.5) * invScale);
      real[i * maxTaps + j] = w;
      total += w;
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) {
        const w = (real[i * maxTaps + j] as number) / total;
        real[i * maxTaps + j] = w;
        if (w > maxWeight) maxWeight = w;
      }
    }
    start[i] = xmin;
    size[i] = xsize;
  }
  // the most fractional bits (< 22) for which the largest weight still fits an int16
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + maxWeight * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const weights = new Int32Array(outSize * maxTaps);
  for (let k = 0; k < real.length; k++) {
    const v = (real[k] as number) * 2 ** precision;
    weights[k] = v < 0 ? Math.trunc(v - 0.5) : Math.trunc(v + 0.5);
  }
  return { start, size, weights, maxTaps, precision };
}

function clampByte(acc: number, precision: number): number {
  const v = acc >> precision;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resize an interleaved RGB uint8 image (height × width × 3) to outH × outW, as torch does for uint8 with antialias. */
export function resizeRgb(src: Uint8Array, width: number, height: number, outW: number, outH: number): Uint8Array {
  let img = src;
  let w = width;
  if (outW !== width) {
    const t = taps(width, outW);
    const out = new Uint8Array(height * outW * 3);
    const round = t.precision > 0 ? 1 << (t.precision - 1) : 0;
    for (let y = 0; y < height; y++) {
      const row = y * width * 3;
      for (let x = 0; x < outW; x++) {
        const s = t.start[x] as number;
        const n = t.size[x] as number;
        const base = x * t.maxTaps;
        let r = round;
        let g = round;
        let b = round;
        for (let j = 0; j < n; j++) {
          const wt = t.weights[base + j] as number;
          const p = row + (s + j) * 3;
          r += wt * (img[p] as number);
          g += wt * (img[p + 1] as number);
          b += wt * (img[p + 2] as number);
        }
        const o = (y * outW + x) * 3;
        out[o] = clampByte(r, t.precision);
        out[o + 1] = clampByte(g, t.precision);
        out[o + 2] = clampByte(b, t.precision);
      }
    }
    img = out;
    w = outW;
  }
  if (outH !== height) {
    const t = taps(height, outH);
    const out = new Uint8Array(outH * w * 3);
    const round = t.precision > 0 ? 1 << (t.precision - 1) : 0;
    const stride = w * 3;
    for (let y = 0; y < outH; y++) {
      const s = t.start[y] as number;
      const n = t.size[y] as number;
      const base = y * t.maxTaps;
      const o = y * stride;
      for (let c = 0; c < stride; c++) {
        let acc = round;
        for (let j = 0; j < n; j++) acc += (t.weights[base + j] as number) * (img[(s + j) * stride + c] as number);
        out[o + c] = clampByte(acc, t.precision);
      }
    }
    img = out;
  }
  return img;
}

/** torchvision's output size for `Resize(size)` with one int: the shortest side becomes `size`, the other truncated. */
export function shortestSide(width: number, height: number, size: number): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/** Python's round(): halves to the even neighbour (torchvision's CenterCrop offsets use it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
