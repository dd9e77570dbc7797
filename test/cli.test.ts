// The `recognite` command line, as a user runs it: commands, exit codes, help, and the SDK's validation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'recognite-cli-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function recognite(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'src', 'sdk', 'cli.ts'), ...args],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000 },
  );
}

test('recognite models --json lists the 78 backbones from the catalog', () => {
  const run = recognite('models', '--json');
  assert.equal(run.status, 0, run.stderr);
  const models = JSON.parse(run.stdout) as Array<{ name: string; embeddingDim: number; weights: string[] }>;
  assert.equal(models.length, 78);
  assert.deepEqual(models.find((m) => m.name === 'resnet18')?.embeddingDim, 512);
  const table = recognite('models');
  assert.match(table.stdout, /^model\s+embedding\s+parameters\s+input\s+default\s+weights/);
  assert.match(table.stdout, /resnet18\s+512\s+11,689,512/);
});

test('recognite info --json starts the worker and describes it', () => {
  const run = recognite('info', '--json');
  assert.equal(run.status, 0, run.stderr);
  const info = JSON.parse(run.stdout) as { torch: string; device: string };
  assert.match(info.torch, /^2\./);
  assert.ok(['cpu', 'cuda:0'].includes(info.device));
});

test('recognite doctor --clean --json checks the environment and sweeps dead sessions', () => {
  const run = recognite('doctor', '--clean', '--json');
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const report = JSON.parse(run.stdout) as { checks: Array<{ check: string; ok: boolean }>; cleaned: string[] };
  assert.deepEqual(
    report.checks.map((c) => c.check),
    ['shared memory', 'native add-on', 'python', 'torch', 'cuda'],
  );
  assert.ok(report.checks.every((c) => c.ok));
  assert.ok(Array.isArray(report.cleaned));
});

test('recognite synth then split: a data set and its parts, with only the required options', () => {
  const synth = recognite('synth', '--out', join(dir, 'data'), '--json');
  assert.equal(synth.status, 0, synth.stderr);
  const ds = JSON.parse(synth.stdout) as { csv: string; images: number };
  assert.equal(ds.images, 40); // 10 identities × 4 samples by default
  const split = recognite('split', '--data', ds.csv, '--out', join(dir, 'parts'));
  assert.equal(split.status, 0, split.stderr);
  assert.match(split.stdout, /^part\s+csv\s+rows\s+identities/);
  assert.ok(existsSync(join(dir, 'parts', 'train.csv')));
});

test('--help on the program and on every command, with examples; exit 0', () => {
  const top = recognite('--help');
  assert.equal(top.status, 0);
  for (const command of ['info', 'models', 'doctor', 'synth', 'split'])
    assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
  for (const command of ['info', 'models', 'doctor', 'synth', 'split']) {
    const help = recognite(command, '--help');
    assert.equal(help.status, 0, command);
    assert.match(help.stdout, /Examples?:\n\s+\$ recognite /, `${command} --help shows an example`);
  }
});

test('BAD CALL - bad usage exits 2 with a one-line reason and the nearest valid name', () => {
  const command = recognite('trian');
  assert.equal(command.status, 2);
  assert.match(command.stderr, /unknown command 'trian'/);
  const option = recognite('models', '--jsn');
  assert.equal(option.status, 2);
  assert.match(option.stderr, /unknown option '--jsn'[\s\S]*Did you mean --json\?/);
  const missing = recognite('synth', '--identities', '3');
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /required option '--out <dir>' not specified/);
  const notInteger = recognite('synth', '--out', join(dir, 'x'), '--identities', 'many');
  assert.equal(notInteger.status, 2);
  assert.match(notInteger.stderr, /'many' is not an integer/);
});

test("BAD CALL - options the SDK's schemas refuse exit 2 with the SDK's message; runtime failures exit 1", () => {
  const refused = recognite('synth', '--out', join(dir, 'y'), '--identities', '1');
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /identities: must be >= 2; got 1/);
  const missingCsv = recognite('split', '--data', join(dir, 'nope.csv'), '--out', join(dir, 'z'));
  assert.equal(missingCsv.status, 2, missingCsv.stderr);
  assert.match(missingCsv.stderr, /CSV file not found/);
});
