// Benchmark: embedding a tensor batch already in memory, the SDK (model.embed through the worker and
// shared memory) against the same forward in a plain PyTorch process, same torch, threads and batch.
// Run: node --conditions=source --import tsx bench/embed_tensors.ts [batch] [size] [repeats]
// (part of `npm run bench`; defaults 32 × 3 × 224 × 224, 10 timed repeats)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Recognite, Tensor } from 'recognite-ts';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';
import { median, QUICK, ratio, report, table } from './lib/contract.js';

const defaults = QUICK ? [4, 64, 3] : [32, 224, 4];
const args = process.argv.slice(2).map(Number);
const [batch, size, repeats] = defaults.map((d, i) => args[i] ?? d) as [number, number, number];

await using rt = await Recognite.start({ device: 'cpu' });
const info = await rt.info();
await using model = await rt.createRecognizer({ modelName: 'resnet18' });
const x = new Tensor(
  Float32Array.from({ length: batch * 3 * size * size }, () => Math.random()),
  [batch, 3, size, size],
);
const sdkRun = async (): Promise<number> => {
  const times: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    const started = performance.now();
    await model.embed(x);
    if (i >= 2) times.push(performance.now() - started);
  }
  return median(times);
};
const plainRun = (...extra: string[]): number => {
  const script = join(PACKAGE_ROOT, 'bench', 'embed_tensors_plain.py');
  const argv = [script, String(batch), String(size), String(repeats), String(info.threads), ...extra];
  return (JSON.parse(execFileSync(info.pythonExecutable, argv, { encoding: 'utf8' })) as { medianMs: number }).medianMs;
};
// Rounds of (plain, SDK), each ratio taken within its round: this shared VM's speed drifts by
// 10-20 % over minutes, which a single plain-then-SDK comparison would read as a difference.
const rounds = QUICK ? 1 : 5;
const plainTimes: number[] = [];
const sdkTimes: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < rounds; round++) {
  plainTimes.push(plainRun());
  sdkTimes.push(await sdkRun());
  ratios.push(plainTimes[round]! / sdkTimes[round]!);
}
const pinned = plainRun('pin');
const [plain, sdk, speed] = [median(plainTimes), median(sdkTimes), median(ratios)];
const perSecond = (ms: number): string => ((1000 * batch) / ms).toFixed(1);
report(
  [
    '```sh\nnpm run bench -- --only embed-tensors\n```',
    '',
    `resnet18, ${batch} × 3 × ${size} × ${size} float32 already in memory, evaluation mode, ${info.threads} torch threads, ` +
      `${rounds} rounds of (plain PyTorch in a fresh process, then the SDK), each the median of ${repeats} batches ` +
      'after 2 warm-ups.',
    '',
    table(
      ['path', 'median ms per batch', 'images/s'],
      [
        ['plain PyTorch (median of the rounds)', plain.toFixed(1), perSecond(plain)],
        ['SDK `model.embed(tensor)` (median of the rounds)', sdk.toFixed(1), perSecond(sdk)],
        ['plain PyTorch, mmap threshold pinned (the old worker setting)', pinned.toFixed(1), perSecond(pinned)],
      ],
    ),
    '',
    `SDK throughput / plain, the median of the rounds' ratios: **${ratio(speed)}** (goal ≥ 0.97×; rounds: ` +
      `${ratios.map((r) => r.toFixed(2)).join(', ')}). ` +
      `The pinned row shows what the worker's old global mmap pin cost a plain forward.`,
  ].join('\n'),
  [
    {
      benchmark: 'embed tensors',
      work: `resnet18, ${batch} × 3 × ${size}², in memory`,
      goal: '≥ 0.97× plain',
      measured: `${ratio(speed)} (${perSecond(sdk)} vs ${perSecond(plain)} images/s)`,
      met: speed >= 0.97,
    },
  ],
);
