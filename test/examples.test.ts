// Every notebook-style example in examples/ runs to the end in its small mode (RECOGNITE_EXAMPLE_SMALL=1),
// as a user runs it (a child Node process from the repository root), and prints its tables: so no
// example rots. fine-tune-pretrained runs twice: without the weights file (it explains and skips) and with
// a stand-in file of the right name in a temporary TORCH_HOME (random resnet18 weights: nothing checks them).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO_ROOT } from './helpers.js';

const SMALL_OUT = join(REPO_ROOT, 'out', 'examples', 'small');
const temp = mkdtempSync(join(tmpdir(), 'recognite-examples-'));
after(() => {
  rmSync(temp, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Run examples/NAME.ts in small mode; resolves when it exits. */
function runExample(name: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join('examples', `${name}.ts`)], {
    cwd: REPO_ROOT,
    env: { ...process.env, RECOGNITE_EXAMPLE_SMALL: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      const seconds = (Date.now() - started) / 1000;
      console.log(`# ${name}${env.TORCH_HOME ? ` (TORCH_HOME ${env.TORCH_HOME})` : ''}: ${seconds.toFixed(1)} s`);
      resolve({ code, stdout, stderr, seconds });
    }),
  );
}

/** Exit 0, and every pattern in what it printed. */
function assertRan(run: Run, patterns: RegExp[]): void {
  assert.equal(
    run.code,
    0,
    `exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr (end)\n${run.stderr.slice(-3000)}`,
  );
  for (const pattern of patterns) assert.match(run.stdout, pattern);
}

describe('examples (small mode)', { timeout: 6 * 60_000 }, () => {
  test('quickstart', async () => {
    const run = await runExample('quickstart');
    assertRan(run, [
      /^worker: torch .* on cpu/m,
      /^data set: 50 images of 10 identities in out\/examples\/small\/quickstart\/data\/dataset\.csv$/m,
      /^epoch 1\/1: loss \d+\.\d+, unseen top-1 [\d.]+ %/m,
      /^\| unseen identities \| top-1 accuracy \| chance \|$/m,
      /^saved out\/examples\/small\/quickstart\/resnet18-synthetic\.pt; total \d+ s$/m,
    ]);
  });

  test('explore-backbones', async () => {
    const run = await runExample('explore-backbones');
    assertRan(run, [
      /^78 backbones in the catalog/m,
      /^\| family \| models \| smallest … largest \| parameters \| embedding sizes \| input px \|$/m,
      /^\| model \| embedding \| parameters \| CPU images\/s \(64 px\) \|$/m,
      /^\| resnet18 \| 512 \| 11\.7 M \| \d+ \|$/m,
      /^\| mobilenet_v3_small \| 1024 \| 2\.5 M \| \d+ \|$/m,
    ]);
  });

  test('train-on-your-folder', async () => {
    const run = await runExample('train-on-your-folder');
    const out = 'out/examples/small/train-on-your-folder';
    assertRan(run, [
      /holds 10 identity folders/,
      new RegExp(`^${out}/dataset\\.csv: 40 images of 10 identities$`, 'm'),
      /^\| part \| images \| identities \| csv \|$/m,
      /^epoch 2\/2: loss/m,
      /^\| epoch \| loss \| unseen top-1 \| best\.pt \|$/m,
      /^\| 1 \| \d+\.\d+ \| [\d.]+ % \| kept \|$/m,
      /best\.pt \(epoch \d\) on the 2 unseen identities:/,
      /^\| queries \| top-1 \| top-5 \| mAP \|$/m,
    ]);
    const csv = readFileSync(join(SMALL_OUT, 'train-on-your-folder', 'dataset.csv'), 'utf8').split('\n');
    assert.equal(csv[0], 'image,label');
    assert.equal(csv[1], 'stand-in/images/id0000/0.png,id0000');
    assert.ok(existsSync(join(SMALL_OUT, 'train-on-your-folder', 'checkpoints', 'best.pt')));
  });

  test('evaluate-and-choose-a-threshold', async () => {
    const run = await runExample('evaluate-and-choose-a-threshold');
    assertRan(run, [
      /^checkpoint: out\/examples\/small\/evaluate-and-choose-a-threshold\/checkpoints\/last\.pt/m,
      /^\| top-1 \| top-5 \| mAP \| mINP \|$/m,
      /^\| target FAR \| threshold \| measured FAR \| TAR \|$/m,
      /^\| 1\.0 % \| /m,
      /^chosen: |^no threshold reaches/m,
      /^report: out\/examples\/small\/evaluate-and-choose-a-threshold\/report\.html/m,
    ]);
    const page = readFileSync(join(SMALL_OUT, 'evaluate-and-choose-a-threshold', 'report.html'), 'utf8');
    assert.match(page, /^<!DOCTYPE html>/i);
  });

  test('deploy-without-python: the exported model and the saved gallery answer in Node as the worker did', async () => {
    const run = await runExample('deploy-without-python');
    assertRan(run, [
      /^exported out\/examples\/small\/deploy-without-python\/model\.onnx: resnet18, 512-d, 32 px, opset \d+; the worker's check: max \|Δ\| [\d.e-]+, cosine ≥ 1\.0+$/m,
      /^OnnxRecognizer: 12 images in [\d.]+ s \(\d+ images\/s\); largest difference from the worker's embeddings: [\d.]+e-\d+$/m,
      /^\| query \| verdict \(Node\) \| verdict \(worker\) \| top matches \(Node\) \|$/m,
      /^12 of 12 verdicts are the worker's$/m,
    ]);
    const diff = Number(/embeddings: ([\d.e-]+)$/m.exec(run.stdout)?.[1]);
    assert.ok(diff <= 1e-4, `embeddings differ by ${diff}`);
  });

  test('find-similar', async () => {
    const run = await runExample('find-similar');
    assertRan(run, [
      /^enrolled: 3 identities \(6 photos\); strangers: id\d+$/m,
      /^gallery: 6 references of 3 identities$/m,
      /^\| threshold \| false accepts \| true accepts \| identified \| strangers rejected \|$/m,
      /^\| image \| truth \| verdict \| score \| top matches \|$/m,
      /\(stranger\)/,
      /^\| enrolled: right \| enrolled: wrong person \|/m,
    ]);
  });

  test('fine-tune-pretrained without the weights file: explains where it goes and skips (exit 0)', async () => {
    const home = join(temp, 'empty-torch-home');
    const run = await runExample('fine-tune-pretrained', { TORCH_HOME: home });
    const target = join(home, 'hub', 'checkpoints', 'resnet18-f37072fd.pth');
    assertRan(run, [new RegExp(`^skipped: place resnet18-f37072fd\\.pth \\(from https://\\S+\\) at ${target}`, 'm')]);
    assert.ok(run.seconds < 20, `the skip starts no worker (${run.seconds} s)`);
  });

  test('fine-tune-pretrained with a weights file in the cache: fine-tunes', async () => {
    const home = join(temp, 'torch-home');
    const checkpoints = join(home, 'hub', 'checkpoints');
    mkdirSync(checkpoints, { recursive: true });
    const file = join(checkpoints, 'resnet18-f37072fd.pth');
    execFileSync(
      process.execPath,
      [
        join(REPO_ROOT, 'scripts', 'py.mjs'),
        '-c',
        'import sys, torch, torchvision; torch.save(torchvision.models.resnet18().state_dict(), sys.argv[1])',
        file,
      ],
      { stdio: 'inherit' },
    );
    const run = await runExample('fine-tune-pretrained', { TORCH_HOME: home });
    assertRan(run, [
      new RegExp(`^pretrained weights: ${file}$`, 'm'),
      /^\| untrained resnet18 \| unseen top-1 \| mAP \|$/m,
      /^\| ImageNet weights \| [\d.]+ % \| [\d.]+ % \|$/m,
      /^epoch 1\/1: loss/m,
      /^\| after 1 epoch\(s\) \| [\d.]+ % \| [\d.]+ % \|$/m,
    ]);
  });
});
