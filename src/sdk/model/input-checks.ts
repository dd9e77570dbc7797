/**
 * Input checks of image batches, made in TypeScript against the model catalog so that a
 * tensor the model cannot take never reaches the worker.
 */
import { ValidationError, type Problem } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { ModelInfo } from './catalog.js';

/**
 * Check that `x` is a batch of images this model can take: float32, N × 3 × H × W with N ≥ 1,
 * H and W at least the model's minimum (exactly its size where it is fixed), all values finite.
 */
export function checkImageBatch(
  x: unknown,
  info: ModelInfo,
  what = 'input',
  pretrained = false,
): asserts x is Tensor<'float32'> {
  // The catalog's sizes are those of the model built without weights; pretrained ViT weights
  // can fix a larger size (vit_h_14's DEFAULT: 518), which only the worker knows.
  const bounded = !(pretrained && info.fixedInputSize);
  const size = bounded ? info.minInputSize : 1;
  const max = bounded ? (info.maxInputSize ?? Infinity) : Infinity;
  const expected =
    info.fixedInputSize && bounded
      ? `N × 3 × ${size} × ${size} (${info.name} takes exactly ${size}×${size})`
      : `N × 3 × H × W with ${max < Infinity ? `${size} ≤ H, W ≤ ${max}` : `H, W ≥ ${size}`}`;
  if (!(x instanceof Tensor)) {
    throw ValidationError.one(what, '', `must be a Tensor of shape ${expected}, got ${typeof x}`);
  }
  const problems: Problem[] = [];
  if (x.dtype !== 'float32') problems.push({ path: 'dtype', message: `must be 'float32', got '${x.dtype}'` });
  const [n, c, h, w] = x.shape;
  if (x.shape.length !== 4 || n === undefined || c === undefined || h === undefined || w === undefined) {
    problems.push({ path: 'shape', message: `must be ${expected}, got [${x.shape.join(', ')}]` });
  } else {
    if (n < 1) problems.push({ path: 'shape[0]', message: 'the batch is empty; pass at least one image' });
    if (c !== 3) problems.push({ path: 'shape[1]', message: `must be 3 colour channels, got ${c}` });
    const ok = h >= size && w >= size && h <= max && w <= max;
    if (!ok) problems.push({ path: 'shape', message: `must be ${expected}, got [${x.shape.join(', ')}]` });
  }
  if (problems.length === 0) {
    const data = x.data as Float32Array;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        problems.push({ path: `data[${i}]`, message: `must be finite, got ${data[i]}` });
        break;
      }
    }
  }
  if (problems.length) throw new ValidationError(what, problems);
}
