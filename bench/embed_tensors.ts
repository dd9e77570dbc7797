// Benchmark: embedding a tensor batch already in memory, the SDK (model.embed through the worker and
// shared memory) against the same forward in a plain PyTorch process, same torch, threads and batch.
// Run: node --conditions=source --import tsx bench/embed_tensors.ts [batch] [size] [repeats]
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Recognite, Tensor } from 'recognite-ts';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';

const [batch = 16, size = 224, repeats = 10] = process.argv.slice(2).map(Number);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await using rt = await Recognite.start({ device: 'cpu' });
const info = await rt.info();
await using model = await rt.createRecognizer({ modelName: 'resnet18' });
const x = new Tensor(
  Float32Array.from({ length: batch * 3 * size * size }, () => Math.random()),
  [batch, 3, size, size],
);
const times: number[] = [];
for (let i = 0; i < repeats + 2; i++) {
  const started = performance.now();
  await model.embed(x);
  if (i >= 2) times.push(performance.now() - started);
}
const sdk = median(times);
const plainRun = (...extra: string[]): number => {
  const script = join(PACKAGE_ROOT, 'bench', 'embed_tensors_plain.py');
  const args = [script, String(batch), String(size), String(repeats), String(info.threads), ...extra];
  return (JSON.parse(execFileSync(info.pythonExecutable, args, { encoding: 'utf8' })) as { medianMs: number }).medianMs;
};
const plain = plainRun();
const pinned = plainRun('pin');
console.log(
  `resnet18, ${batch} × 3 × ${size} × ${size} float32, evaluation mode, ${info.threads} torch threads, torch ${info.torch}`,
);
console.log('| path | median ms per batch | images/s |');
console.log('| --- | --- | --- |');
console.log(`| plain PyTorch | ${plain.toFixed(1)} | ${((1000 * batch) / plain).toFixed(1)} |`);
console.log(`| SDK model.embed(tensor) | ${sdk.toFixed(1)} | ${((1000 * batch) / sdk).toFixed(1)} |`);
console.log(
  `| plain PyTorch, mmap threshold pinned (the old worker setting) | ${pinned.toFixed(1)} | ${((1000 * batch) / pinned).toFixed(1)} |`,
);
console.log(`\nSDK throughput / plain: ${(plain / sdk).toFixed(2)}× (goal ≥ 0.97×)`);
