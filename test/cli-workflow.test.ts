// The real `recognite` binary through a whole job, as a user runs it: synth → train → embed → eval →
// gallery build → calibrate → identify, with --json parsed; bad usage; and Ctrl-C during training.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadNpy, Recognite } from 'recognite-ts';
import { chooseShmDir } from '../src/sdk/core/session-dir.js';
import { isAlive, REPO_ROOT, waitFor } from './helpers.js';

const CLI = ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'src', 'sdk', 'cli.ts')];
const dir = mkdtempSync(join(tmpdir(), 'recognite-cli-flow-'));
const data = join(dir, 'data', 'dataset.csv');
const ckpt = join(dir, 'ckpt');
// small and fast: 32 px images, resnet18, one loader process per spare core is not needed
const SMALL = ['--size', '32', '--num-workers', '0'];

function recognite(...args: string[]) {
  return spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON's shape
function json<T extends object>(run: { status: number | null; stdout: string; stderr: string }): T {
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim().split('\n').length, 1, '--json prints one line: the result');
  return JSON.parse(run.stdout) as T;
}

before(() => {
  const synth = recognite('synth', '--out', join(dir, 'data'), '--identities', '12', '--samples', '6', '--size', '32');
  assert.equal(synth.status, 0, synth.stderr);
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a whole job on the command line', () => {
  test('train with only the required options (and a small size) splits by identity and checkpoints', () => {
    const run = recognite(
      'train',
      '--data',
      data,
      '--model',
      'resnet18',
      '--epochs',
      '1',
      '--checkpoint-dir',
      ckpt,
      ...SMALL,
      '--batch-size',
      '16',
      '--json',
    );
    const out = json<{
      checkpoint: string;
      history: Array<{ epoch: number; loss: number; top1: number }>;
      classes: string[];
    }>(run);
    assert.equal(out.checkpoint, join(ckpt, 'last.pt'));
    assert.ok(existsSync(out.checkpoint));
    assert.deepEqual(
      out.history.map((h) => h.epoch),
      [1],
    );
    assert.ok(out.history[0]!.top1 >= 0 && out.history[0]!.top1 <= 1, 'validated on unseen identities');
    assert.equal(out.classes.length, 9, '12 identities, one fold of 5 held out: 9 to train on');
    assert.equal(run.stderr, '', '--json: no progress');
    for (const part of ['train', 'gallery', 'query']) assert.ok(existsSync(join(ckpt, 'split', `${part}.csv`)));
  });

  test('train without --json prints one line per epoch and a summary', () => {
    const run = recognite(
      'train',
      '--train',
      join(ckpt, 'split', 'train.csv'),
      '--model',
      'resnet18',
      '--epochs',
      '1',
      '--checkpoint-dir',
      join(dir, 'ckpt2'),
      ...SMALL,
      '--batch-size',
      '16',
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stderr, /^epoch 1\/1: loss \d+\.\d{4} \(\d+\.\d s\)$/m, 'no validation set: loss only');
    assert.match(run.stdout, /^checkpoint\s+\S+last\.pt$/m);
  });

  test('embed a data set and a folder: .npy files the SDK reads, rows in a known order', () => {
    const fromData = json<{ out: string; rows: number; dim: number; rowsOf: string }>(
      recognite(
        'embed',
        '--checkpoint',
        join(ckpt, 'last.pt'),
        '--data',
        data,
        '--out',
        join(dir, 'emb.npy'),
        ...SMALL,
        '--json',
      ),
    );
    assert.deepEqual([fromData.rows, fromData.dim, fromData.rowsOf], [72, 512, data]);
    assert.deepEqual(loadNpy(join(dir, 'emb.npy')).shape, [72, 512]);
    const folder = join(dir, 'data', 'images', 'id0003');
    const fromFolder = json<{ rows: number; rowsOf: string }>(
      recognite(
        'embed',
        '--checkpoint',
        join(ckpt, 'last.pt'),
        '--images',
        folder,
        '--out',
        join(dir, 'folder.npy'),
        ...SMALL,
        '--json',
      ),
    );
    assert.equal(fromFolder.rows, 6);
    const listed = readFileSync(fromFolder.rowsOf, 'utf8').trim().split('\n');
    assert.deepEqual(listed, ['image', ...[0, 1, 2, 3, 4, 5].map((i) => join(folder, `${i}.png`))]);
  });

  test('eval: a table for people, the EvaluationReport with --json', () => {
    const query = join(ckpt, 'split', 'query.csv');
    const gallery = join(ckpt, 'split', 'gallery.csv');
    const report = json<{ numQueries: number; numGallery: number; accuracy: number; k: number }>(
      recognite(
        'eval',
        '--checkpoint',
        join(ckpt, 'last.pt'),
        '--gallery',
        gallery,
        '--query',
        query,
        ...SMALL,
        '--json',
      ),
    );
    assert.deepEqual([report.numGallery, report.numQueries, report.k], [3, 15, 5]);
    const html = join(dir, 'report.html');
    const table = recognite(
      'eval',
      '--checkpoint',
      join(ckpt, 'last.pt'),
      '--data',
      query,
      '--k',
      '2',
      '--report',
      html,
      ...SMALL,
    );
    assert.equal(table.status, 0, table.stderr);
    // the page itself is checked in Chromium by report-html.test.ts
    const page = readFileSync(html, 'utf8');
    assert.match(page, /<svg/);
    assert.ok(page.includes(join(ckpt, 'last.pt')), 'the report names its checkpoint');
    assert.match(table.stdout, /^top-1 accuracy\s+\d\.\d{4}\s+the best match/m);
    assert.match(table.stdout, /^top-2 accuracy/m, '--k reached the SDK');
  });

  test('gallery build, calibrate and identify: top matches and verdicts, unknown below the threshold', () => {
    const common = ['--checkpoint', join(ckpt, 'last.pt'), '--gallery', join(dir, 'gallery'), ...SMALL, '--json'];
    const built = json<{ references: number; labels: number; threshold: number | null }>(
      recognite('gallery', 'build', '--data', join(ckpt, 'split', 'gallery.csv'), ...common),
    );
    assert.deepEqual([built.references, built.labels, built.threshold], [3, 3, null]);
    const calibrated = json<{ threshold: number; known: number }>(
      recognite('gallery', 'calibrate', '--data', join(ckpt, 'split', 'query.csv'), ...common),
    );
    assert.equal(calibrated.known, 15);
    const queries = join(dir, 'data', 'images', 'id0001');
    const identified = json<{
      threshold: number;
      answers: Array<{ label: string | null; matches: Array<{ label: string; score: number }> }>;
    }>(recognite('gallery', 'identify', '--images', queries, '--k', '2', ...common));
    assert.equal(identified.threshold, calibrated.threshold, 'the calibrated threshold was saved with the gallery');
    assert.equal(identified.answers.length, 6);
    for (const a of identified.answers) {
      assert.equal(a.matches.length, 2);
      assert.equal(a.label === null, a.matches[0]!.score < identified.threshold, 'unknown exactly below the threshold');
    }
    const table = recognite('gallery', 'identify', '--images', queries, ...common.slice(0, -1));
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^query\s+verdict\s+score\s+top matches/);
    assert.match(table.stdout, /unknown below \d\.\d{3}/);
  });
});

describe('bad usage and failures', () => {
  test('BAD CALL - exit 2 with the reason and the fix; a runtime failure exits 1, its stack only with --verbose', () => {
    const noEpochs = recognite('train', '--data', data, '--model', 'resnet18');
    assert.equal(noEpochs.status, 2);
    assert.match(noEpochs.stderr, /required option '--epochs <n>' not specified/);
    const typo = recognite(
      'train',
      '--data',
      data,
      '--model',
      'resnet19',
      '--epochs',
      '1',
      '--checkpoint-dir',
      join(dir, 'bad'),
    );
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /resnet18/, 'the nearest model name');
    const lr = recognite(
      'train',
      '--data',
      data,
      '--model',
      'resnet18',
      '--epochs',
      '1',
      '--lr',
      '-1',
      '--checkpoint-dir',
      join(dir, 'bad'),
    );
    assert.equal(lr.status, 2);
    assert.match(lr.stderr, /lr: must be > 0/);
    const both = recognite('train', '--data', data, '--train', data, '--model', 'resnet18', '--epochs', '1');
    assert.equal(both.status, 2);
    assert.match(both.stderr, /option '--data <csv>' cannot be used with option '--train <csv>'/);
    const noData = recognite('eval', '--checkpoint', join(ckpt, 'last.pt'), '--gallery', data);
    assert.equal(noData.status, 2);
    assert.match(noData.stderr, /--gallery gallery\.csv with --query query\.csv/);
    const npy = recognite('embed', '--checkpoint', join(ckpt, 'last.pt'), '--data', data, '--out', join(dir, 'e.txt'));
    assert.equal(npy.status, 2);
    assert.match(npy.stderr, /--out must name a \.npy file/);
    const noCheckpoint = recognite('eval', '--checkpoint', join(dir, 'none.pt'), '--data', data);
    assert.equal(noCheckpoint.status, 2);
    assert.match(noCheckpoint.stderr, /file not found: .*none\.pt/);
    const misspelt = recognite('gallery', 'identify', '--checkpoint', 'x', '--gallery', 'g', '--imagse', 'd');
    assert.equal(misspelt.status, 2);
    assert.match(misspelt.stderr, /unknown option '--imagse'[\s\S]*Did you mean --images\?/);

    const env = { ...process.env, RECOGNITE_PYTHON: join(dir, 'no-python') };
    const broken = spawnSync(process.execPath, [...CLI, 'info'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /^recognite: cannot run the Python interpreter/m);
    assert.doesNotMatch(broken.stderr, /\n\s+at /, 'no stack trace');
    const verbose = spawnSync(process.execPath, [...CLI, '--verbose', 'info'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env,
      timeout: 60_000,
    });
    assert.equal(verbose.status, 1);
    assert.match(verbose.stderr, /\n\s+at /, '--verbose: the stack trace');
  });

  test('--help on every command and gallery subcommand shows an example', () => {
    for (const command of [
      ['train'],
      ['embed'],
      ['eval'],
      ['gallery'],
      ['gallery', 'build'],
      ['gallery', 'add'],
      ['gallery', 'calibrate'],
      ['gallery', 'identify'],
      ['setup'],
    ]) {
      const help = recognite(...command, '--help');
      assert.equal(help.status, 0, command.join(' '));
      assert.match(help.stdout, /Examples?:\n\s+\$ recognite /, `${command.join(' ')} --help shows an example`);
    }
    // options made from the SDK's schemas carry its descriptions and defaults
    const train = recognite('train', '--help').stdout;
    assert.match(train, /--logit-scale <value>\s+Multiplies the cosine logits[\s\S]*\(default 16\)/);
    assert.match(
      train,
      /--precision <value>[\s\S]*\(choices: "bf16", "fp16", "fp32", default: none\)|--precision <value>[\s\S]*choices: "bf16", "fp16", "fp32"/,
    );
  });
});

/** Pids of the processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('Ctrl-C', () => {
  test('SIGINT to the process group during train: exit 130, the checkpoint loads, no worker or shared memory left', async () => {
    const checkpointDir = join(dir, 'ckpt-interrupted');
    // detached: a group of its own, which gets the SIGINT as a terminal's Ctrl-C would (worker included)
    const child = spawn(
      process.execPath,
      [
        ...CLI,
        'train',
        '--data',
        data,
        '--model',
        'resnet18',
        '--epochs',
        '200',
        '--checkpoint-dir',
        checkpointDir,
        ...SMALL,
        '--batch-size',
        '16',
      ],
      { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
    });
    const pid = child.pid!;
    assert.ok(await waitFor(() => /^epoch 1\/200: loss/m.test(stderr), 120_000, 100), `no epoch ended: ${stderr}`);
    const workers = childrenOf(pid);
    assert.ok(workers.length >= 1, 'the worker runs');
    process.kill(-pid, 'SIGINT');
    const code = await exited;
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopping after the current step/);
    assert.match(stderr, /interrupted: the last epoch's checkpoint is kept: \S+last\.pt \(continue with --resume/);
    assert.ok(await waitFor(() => workers.every((w) => !isAlive(w)), 3000), 'the worker is gone');
    const shm = chooseShmDir();
    assert.deepEqual(
      readdirSync(shm).filter((n) => n.startsWith(`recognite-${pid}-`)),
      [],
      'its shared-memory folder is gone',
    );
    await using rt = await Recognite.start({ device: 'cpu' });
    await using model = await rt.loadRecognizer(join(checkpointDir, 'last.pt'));
    assert.ok((model.checkpoint?.epoch ?? 0) >= 1, 'a whole epoch was kept');
  });
});
