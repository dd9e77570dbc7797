// Benchmark: embeddings without Python — OnnxRecognizer (recognite-ts/deploy, onnxruntime-node on the CPU)
// against the worker's model.embed(tensor), resnet18 (random weights), the same input, the same thread
// count (torch's threads = onnxruntime's intra-op threads), at batch 1 and 32.
// Run: node --conditions=source --import tsx bench/onnx_embed.ts [repeats]   (part of `npm run bench -- --only onnx`)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recognite, Tensor } from 'recognite-ts';
import { OnnxRecognizer } from 'recognite-ts/deploy';
import { median, QUICK, ratio, report, table, type SummaryRow } from './lib/contract.js';

const repeats = Number(process.argv[2] ?? (QUICK ? 2 : 8));
const size = QUICK ? 64 : 224;
const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-onnx-'));
await using rt = await Recognite.start({ device: 'cpu' });
const info = await rt.info();
await using model = await rt.createRecognizer({ modelName: 'resnet18' });
const path = join(dir, 'resnet18.onnx');
await (model as unknown as { exportOnnx: (p: string, o: { size: number }) => Promise<unknown> }).exportOnnx(path, {
  size,
});
await using onnx = await OnnxRecognizer.load(path, { intraOpNumThreads: info.threads, batchSize: 32 });

/** Median ms per call of `run` over `repeats` calls after 2 warm-ups. */
async function time(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeats + 2; i++) {
    const started = performance.now();
    await run();
    if (i >= 2) times.push(performance.now() - started);
  }
  return median(times);
}

const lines: string[][] = [];
const rows: SummaryRow[] = [];
for (const batch of [1, 32]) {
  const x = new Tensor(Float32Array.from({ length: batch * 3 * size * size }, Math.random), [batch, 3, size, size]);
  // alternate rounds: this shared VM's speed drifts over minutes
  const workerTimes: number[] = [];
  const onnxTimes: number[] = [];
  for (let round = 0; round < (QUICK ? 1 : 3); round++) {
    workerTimes.push(await time(() => model.embed(x)));
    onnxTimes.push(await time(() => onnx.embed(x)));
  }
  const [w, o] = [median(workerTimes), median(onnxTimes)];
  const perSecond = (ms: number): string => ((1000 * batch) / ms).toFixed(1);
  lines.push([String(batch), perSecond(w), perSecond(o), ratio(w / o)]);
  rows.push({
    benchmark: 'onnx embed',
    work: `resnet18, ${batch} × 3 × ${size}², ${info.threads} threads`,
    goal: 'OnnxRecognizer ≥ 1/1.5 of the worker',
    measured: `${ratio(w / o)} (${perSecond(o)} vs ${perSecond(w)} images/s)`,
    met: w / o >= 1 / 1.5,
  });
}
report(
  [
    '```sh\nnpm run bench -- --only onnx\n```',
    '',
    `resnet18 (random weights) exported with \`model.exportOnnx\` at ${size} px; the same float32 batch in memory; ` +
      `${info.threads} threads on both sides (torch ${info.torch}, onnxruntime-node with intraOpNumThreads ` +
      `${info.threads}); 3 alternating rounds, each the median of ${repeats} calls after 2 warm-ups.`,
    '',
    table(['batch', 'worker `model.embed` images/s', '`OnnxRecognizer.embed` images/s', 'ONNX / worker'], lines),
  ].join('\n'),
  rows,
);
rmSync(dir, { recursive: true, force: true });
