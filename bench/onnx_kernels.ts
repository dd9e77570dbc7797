// Measurement behind src/sdk/deploy/resize.ts: how far sharp's own resize kernels land from the worker's
// preprocessing (torchvision's antialiased bilinear on uint8, which resize.ts reproduces bit for bit).
// Per image: the cosine between the normalised model inputs, and (with a 224 px ONNX model) between embeddings.
// Run: node --conditions=source --import tsx bench/onnx_kernels.ts <dataset.csv> [model.onnx for 224 px]
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import sharp, { type KernelEnum } from 'sharp';
import { OnnxRecognizer, Tensor } from 'recognite-ts/deploy';
import { decodeRgb, preprocessInto } from '../src/sdk/deploy/images.js';
import { shortestSide } from '../src/sdk/deploy/resize.js';
import type { OnnxPreprocess } from '../src/sdk/deploy/sidecar.js';

const [csv, modelPath] = process.argv.slice(2);
if (!csv) throw new Error('usage: onnx_kernels.ts <dataset.csv> [model.onnx]');
const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1);
const paths = rows.map((r) => resolve(dirname(csv), r.split(',')[0] ?? ''));
const pre: OnnxPreprocess = {
  resize: 'shortest-side',
  crop: 'center',
  interpolation: 'bilinear',
  antialias: true,
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};
const model = modelPath ? await OnnxRecognizer.load(modelPath) : null;

/** The model input with sharp doing the resize (`kernel`), the rest as the worker. */
async function viaSharp(path: string, size: number, kernel: keyof KernelEnum, out: Float32Array, offset: number) {
  const meta = await sharp(path).metadata();
  const target = shortestSide(meta.width, meta.height, size);
  const { data } = await sharp(path)
    .removeAlpha()
    .toColourspace('srgb')
    .resize({ width: target.width, height: target.height, fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  // already at the target size: preprocessInto only crops and normalises
  preprocessInto({ rgb: new Uint8Array(data), width: target.width, height: target.height }, size, pre, out, offset);
}

function cosines(a: Float32Array, b: Float32Array, n: number): number[] {
  const d = a.length / n;
  return Array.from({ length: n }, (_, i) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = i * d; j < (i + 1) * d; j++) {
      ab += (a[j] as number) * (b[j] as number);
      aa += (a[j] as number) ** 2;
      bb += (b[j] as number) ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  });
}

const kernels: (keyof KernelEnum)[] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos3'];
for (const size of [224, 96, 48]) {
  const per = 3 * size * size;
  const exact = new Float32Array(paths.length * per);
  for (const [i, p] of paths.entries()) preprocessInto(await decodeRgb(p), size, pre, exact, i * per);
  const exactEmb =
    model && size === model.inputSize ? await model.embed(new Tensor(exact, [paths.length, 3, size, size])) : null;
  for (const kernel of kernels) {
    const other = new Float32Array(paths.length * per);
    for (const [i, p] of paths.entries()) await viaSharp(p, size, kernel, other, i * per);
    const inputCos = Math.min(...cosines(exact, other, paths.length));
    let embCos = '';
    if (exactEmb && model) {
      const e = await model.embed(new Tensor(other, [paths.length, 3, size, size]));
      embCos = Math.min(...cosines(exactEmb.data, e.data, paths.length)).toFixed(5);
    }
    console.log(
      `size ${size}\tkernel ${kernel}\tmin input cosine ${inputCos.toFixed(5)}\tmin embedding cosine ${embCos || '-'}`,
    );
  }
}
await model?.dispose();
