// Benchmark: cold start, from `Recognite.start()` to the first embedding in a fresh Node process,
// against a fresh Python process that imports torch and torchvision, builds the same model and
// embeds the same image (spawn to exit).
// Run: node --conditions=source --import tsx bench/cold_start.ts   (part of `npm run bench`)
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Recognite, Tensor } from 'recognite-ts';
import { median, QUICK, ratio, report, table } from './lib/contract.js';

const SIZE = 224;

/** In a child process: milliseconds from start() to the first embedding of one image. */
async function child(): Promise<void> {
  const started = performance.now();
  await using rt = await Recognite.start({ device: 'cpu' });
  await using model = await rt.createRecognizer({ modelName: 'resnet18' });
  await model.embed(new Tensor(new Float32Array(3 * SIZE * SIZE).fill(0.5), [1, 3, SIZE, SIZE]));
  const ms = performance.now() - started;
  const info = await rt.info();
  console.log(JSON.stringify({ ms, python: info.pythonExecutable, threads: info.threads }));
}

const PLAIN = `
import torch, torchvision
torch.set_num_threads(THREADS)
model = torchvision.models.resnet18()
model.fc = torch.nn.Identity()
model.eval()
with torch.no_grad():
    torch.nn.functional.normalize(model(torch.full((1, 3, ${SIZE}, ${SIZE}), 0.5)), dim=1)
`;

function main(): void {
  const sdkRun = (): { ms: number; python: string; threads: number } =>
    JSON.parse(
      execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child'], {
        encoding: 'utf8',
      }),
    ) as { ms: number; python: string; threads: number };
  const first = sdkRun(); // warm-up: fills the page cache with torch's libraries for both sides
  const plainRun = (): number => {
    const started = performance.now();
    execFileSync(first.python, ['-c', PLAIN.replace('THREADS', String(first.threads))]);
    return performance.now() - started;
  };
  const repeats = QUICK ? 1 : 5;
  const sdk: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < repeats; i++) {
    plain.push(plainRun());
    sdk.push(sdkRun().ms);
  }
  const [p, s] = [median(plain), median(sdk)];
  const slower = s / p;
  report(
    [
      '```sh\nnpm run bench -- --only cold-start\n```',
      '',
      `resnet18 from random weights, one ${SIZE}-px image, ${first.threads} torch threads; median of ${repeats} ` +
        'fresh processes each, alternating, after one untimed SDK start.',
      '',
      table(
        ['path', 'median ms', 'min–max ms'],
        [
          [
            '`python -c "import torch, torchvision"` + build resnet18 + embed one image (spawn to exit)',
            p.toFixed(0),
            `${Math.min(...plain).toFixed(0)}–${Math.max(...plain).toFixed(0)}`,
          ],
          [
            'SDK: `Recognite.start()` → `createRecognizer` → first `embed` (in a fresh Node process)',
            s.toFixed(0),
            `${Math.min(...sdk).toFixed(0)}–${Math.max(...sdk).toFixed(0)}`,
          ],
        ],
      ),
      '',
      `SDK / plain: **${ratio(slower)}** (goal ≤ 1.3×).`,
    ].join('\n'),
    [
      {
        benchmark: 'cold start',
        work: '`Recognite.start()` to the first resnet18 embedding',
        goal: '≤ 1.3× plain',
        measured: `${ratio(slower)} (${(s / 1000).toFixed(2)} vs ${(p / 1000).toFixed(2)} s)`,
        met: slower <= 1.3,
      },
    ],
  );
}

if (process.argv[2] === '--child') await child();
else main();
