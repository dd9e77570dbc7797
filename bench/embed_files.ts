// Benchmark: embedding image files (decode, resize, centre crop, forward), the SDK's model.embed(dataset)
// against a plain torchvision DataLoader script with the same workers, batch, threads and model.
// Run: node --conditions=source --import tsx bench/embed_files.ts   (part of `npm run bench`)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recognite } from 'recognite-ts';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';
import { median, QUICK, ratio, report, table } from './lib/contract.js';

const identities = QUICK ? 10 : 100;
const perIdentity = QUICK ? 4 : 20;
const [imageSize, size, batchSize, numWorkers, repeats] = [128, 112, 64, 1, QUICK ? 1 : 3];
const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-'));
try {
  await using rt = await Recognite.start({ device: 'cpu' });
  const info = await rt.info();
  const data = await rt.data.generateSynthetic({
    outDir: dir,
    identities,
    samplesPerIdentity: perIdentity,
    size: imageSize,
    seed: 0,
  });
  const images = identities * perIdentity;
  await using model = await rt.createRecognizer({ modelName: 'resnet18' });
  const sdkRun = async (): Promise<number> => {
    const started = performance.now();
    await model.embed(data, { size, batchSize, numWorkers });
    return performance.now() - started;
  };
  const plainRun = (): number => {
    const script = join(PACKAGE_ROOT, 'bench', 'embed_files_plain.py');
    const argv = [script, data.csv, String(size), String(batchSize), String(numWorkers), String(info.threads)];
    return (JSON.parse(execFileSync(info.pythonExecutable, argv, { encoding: 'utf8' })) as { ms: number }).ms;
  };
  await sdkRun(); // warm-up: the page cache holds the files for both sides
  const sdk: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < repeats; i++) {
    plain.push(plainRun());
    sdk.push(await sdkRun());
  }
  const [p, s] = [median(plain), median(sdk)];
  const speed = p / s;
  const perSecond = (ms: number): string => ((1000 * images) / ms).toFixed(0);
  report(
    [
      '```sh\nnpm run bench -- --only embed-files\n```',
      '',
      `${images} synthetic ${imageSize}-px PNGs (the SDK's generator), decoded with torchvision, resized and ` +
        `centre-cropped to ${size} px, resnet18 in evaluation mode; batch ${batchSize}, ${numWorkers} loader ` +
        `worker, ${info.threads} torch threads; median of ${repeats} passes, alternating, after one warm-up pass.`,
      '',
      table(
        ['path', 'median s per pass', 'images/s'],
        [
          ['plain torchvision `DataLoader` script', (p / 1000).toFixed(2), perSecond(p)],
          ['SDK `model.embed(dataset)`', (s / 1000).toFixed(2), perSecond(s)],
        ],
      ),
      '',
      `SDK throughput / plain: **${ratio(speed)}** (goal ≥ 0.95×). Both times include starting the loader's ` +
        'worker process; the plain script keeps its embeddings in its own memory, the SDK returns them to Node.',
    ].join('\n'),
    [
      {
        benchmark: 'embed files',
        work: `${images} PNGs → ${size} px, resnet18, batch ${batchSize}, ${numWorkers} worker`,
        goal: '≥ 0.95× plain',
        measured: `${ratio(speed)} (${perSecond(s)} vs ${perSecond(p)} images/s)`,
        met: speed >= 0.95,
      },
    ],
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
