// Benchmark: fit on 1 process against fit on N processes (torchrun, DDP) with the same global batch:
// samples/s (the rate of the group) and unseen-identity top-1, over several seeds (short runs on a small
// set part at float level within a few steps, so one seed says little about accuracy).
// Run on the CPU (2 processes, gloo):  node --conditions=source --import tsx bench/distributed_fit.ts
// On a multi-GPU machine (one process per GPU, nccl):  node --conditions=source --import tsx bench/distributed_fit.ts cuda
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recognite, type FitEvent } from 'recognite-ts';

const device = process.argv[2] === 'cuda' ? 'cuda' : 'cpu';
const [size, batchSize, epochs] = device === 'cuda' ? [112, 64, 3] : [32, 32, 8];
const SEEDS = [0, 1, 2];
const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-ddp-'));

interface Run {
  rate: number;
  top1: number;
  top1Last3: number; // the mean of the last 3 epochs: unseen-identity top-1 moves by several points from epoch to epoch
  loss: number;
  seconds: number;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

try {
  await using rt = await Recognite.start({ device });
  const info = await rt.info();
  const processes = device === 'cuda' ? Math.max(1, info.cudaDevices) : 2;
  const data = await rt.data.generateSynthetic({
    outDir: join(dir, 'ds'),
    identities: device === 'cuda' ? 200 : 100,
    samplesPerIdentity: 10,
    size: device === 'cuda' ? 128 : 32,
    seed: 7,
  });
  const parts = await rt.data.trainValDatasets(data, { outDir: join(dir, 'parts'), numFolds: 4, numRefs: 1 });
  const run = async (n: number, seed: number): Promise<Run> => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: parts.train.labels });
    const rates: number[] = [];
    const result = await model.fit({
      train: parts.train,
      validation: { gallery: parts.gallery, query: parts.query },
      epochs,
      size,
      seed,
      lr: 0.05,
      numWorkers: device === 'cuda' ? 4 : 0,
      batchSize: batchSize / n, // the same global batch
      ...(n > 1 && { distributed: { processes: n, ...(device === 'cuda' && { backend: 'nccl' as const }) } }),
      onProgress: (e: FitEvent) => {
        if (e.type === 'batch' && e.epoch === epochs && e.step === e.steps) rates.push(e.samplesPerSec);
      },
    });
    const last = result.history.at(-1)!;
    const top1Last3 = mean(result.history.slice(-3).map((h) => h.top1 ?? 0));
    return { rate: rates.at(-1) ?? 0, top1: last.top1 ?? 0, top1Last3, loss: last.loss, seconds: result.seconds };
  };
  const rows: [number, number, Run][] = [];
  for (const seed of SEEDS) {
    for (const n of [1, processes]) rows.push([seed, n, await run(n, seed)]);
  }
  const queries = (await rt.data.describe(parts.query)).rows;
  console.log(`${parts.train.rows} training images, ${queries} queries of ${parts.query.labels} unseen identities\n`);
  const head = `loss, epoch ${epochs} | top-1, epoch ${epochs} | top-1, mean of epochs ${epochs - 2}–${epochs}`;
  console.log(`| seed | processes × batch | samples/s (last epoch) | ${head} | fit seconds |`);
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const [seed, n, r] of rows) {
    const cells = [
      r.rate.toFixed(1),
      r.loss.toFixed(3),
      r.top1.toFixed(3),
      r.top1Last3.toFixed(3),
      r.seconds.toFixed(1),
    ];
    console.log(`| ${seed} | ${n} × ${batchSize / n} | ${cells.join(' | ')} |`);
  }
  for (const n of [1, processes]) {
    const mine = rows.filter(([, m]) => m === n).map(([, , r]) => r);
    const cells = (['rate', 'loss', 'top1', 'top1Last3', 'seconds'] as const).map((key) => {
      const value = mean(mine.map((r) => r[key]));
      return value.toFixed(key === 'rate' || key === 'seconds' ? 1 : 3);
    });
    console.log(`| mean | ${n} × ${batchSize / n} | ${cells.join(' | ')} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
