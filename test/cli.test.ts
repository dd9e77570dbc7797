// The `recognite` command line, as a user runs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './helpers.js';

function recognite(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'src', 'sdk', 'cli.ts'), ...args],
    { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 },
  );
}

test('recognite models --json lists the 78 backbones from the catalog', () => {
  const run = recognite('models', '--json');
  assert.equal(run.status, 0, run.stderr);
  const models = JSON.parse(run.stdout) as Array<{ name: string; embeddingDim: number }>;
  assert.equal(models.length, 78);
  assert.deepEqual(models.find((m) => m.name === 'resnet18')?.embeddingDim, 512);
});

test('recognite info --json starts the worker and describes it', () => {
  const run = recognite('info', '--json');
  assert.equal(run.status, 0, run.stderr);
  const info = JSON.parse(run.stdout) as { torch: string; device: string };
  assert.match(info.torch, /^2\./);
  assert.ok(['cpu', 'cuda:0'].includes(info.device));
});

test('BAD CALL - an unknown command prints the usage and exits 2', () => {
  const run = recognite('trian');
  assert.equal(run.status, 2);
  assert.match(run.stderr, /unknown command 'trian'[\s\S]*usage: recognite <command>/);
});
