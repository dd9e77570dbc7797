// Benchmark: fit on 1 process against fit on N processes (torchrun, DDP) with the same global batch:
// samples/s (the rate of the group) and unseen-identity top-1 after the same epochs.
// Run on the CPU (2 processes, gloo):  node --conditions=source --import tsx bench/distributed_fit.ts
// On a multi-GPU machine (one process per GPU, nccl):  node --conditions=source --import tsx bench/distributed_fit.ts cuda
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recognite, type FitEvent } from 'recognite-ts';

const device = process.argv[2] === 'cuda' ? 'cuda' : 'cpu';
const [size, batchSize, epochs] = device === 'cuda' ? [112, 64, 3] : [32, 32, 3];
const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-ddp-'));
try {
  await using rt = await Recognite.start({ device });
  const info = await rt.info();
  const processes = device === 'cuda' ? Math.max(1, info.cudaDevices) : 2;
  const data = await rt.data.generateSynthetic({
    outDir: join(dir, 'ds'),
    identities: device === 'cuda' ? 200 : 40,
    samplesPerIdentity: 10,
    size: device === 'cuda' ? 128 : 32,
    seed: 7,
  });
  const parts = await rt.data.trainValDatasets(data, { outDir: join(dir, 'parts'), numFolds: 4, numRefs: 1 });
  const run = async (n: number): Promise<{ rate: number; top1: number; seconds: number }> => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: parts.train.labels });
    const rates: number[] = [];
    const result = await model.fit({
      train: parts.train,
      validation: { gallery: parts.gallery, query: parts.query },
      epochs,
      size,
      lr: 0.05,
      numWorkers: device === 'cuda' ? 4 : 0,
      batchSize: batchSize / (n > 1 ? n : 1), // the same global batch
      ...(n > 1 && { distributed: { processes: n, ...(device === 'cuda' && { backend: 'nccl' as const }) } }),
      onProgress: (e: FitEvent) => {
        if (e.type === 'batch' && e.epoch === epochs && e.step === e.steps) rates.push(e.samplesPerSec);
      },
    });
    return { rate: rates.at(-1) ?? 0, top1: result.history.at(-1)?.top1 ?? 0, seconds: result.seconds };
  };
  const one = await run(1);
  const many = await run(processes);
  console.log(`| processes | global batch | samples/s (last epoch) | top-1 after ${epochs} epochs | fit seconds |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const [n, r] of [
    [1, one],
    [processes, many],
  ] as const) {
    console.log(`| ${n} | ${batchSize} | ${r.rate.toFixed(1)} | ${r.top1.toFixed(3)} | ${r.seconds.toFixed(1)} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
