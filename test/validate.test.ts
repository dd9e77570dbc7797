// Option validation happens in TS, before any worker exists, and names every problem.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Recognite, ValidationError } from 'recognite-ts';
import { nearest } from '../src/sdk/core/suggest.js';
import { validate } from '../src/sdk/core/validate.js';

function problemsOf(value: unknown): string[] {
  try {
    validate('StartOptions', value);
  } catch (err) {
    assert.ok(err instanceof ValidationError);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  return [];
}

test('valid options pass', () => {
  assert.deepEqual(problemsOf({}), []);
  assert.deepEqual(problemsOf({ device: 'cuda:1', threads: 2, callTimeoutMs: 0, python: 'python3' }), []);
});

test('BAD CALL - a misspelt option suggests the right one', () => {
  assert.deepEqual(problemsOf({ devcie: 'cpu' }), [
    "devcie: unknown option (did you mean 'device'?); valid options: python, device, callTimeoutMs, shmDir, threads, deterministic",
  ]);
});

test('BAD CALL - every problem is listed with its path', () => {
  const problems = problemsOf({ device: 'gpu', threads: 0, callTimeoutMs: 1.5, python: 3 });
  assert.equal(problems.length, 4, problems.join('\n'));
  assert.ok(problems.some((p) => /^device: must be one of .*"auto", "cpu", "cuda"; got "gpu"$/.test(p)));
  assert.ok(problems.includes('threads: must be >= 1; got 0'));
  assert.ok(problems.includes('callTimeoutMs: must be integer; got 1.5'));
  assert.ok(problems.includes('python: must be string; got 3'));
});

test('BAD CALL - start() rejects bad options without spawning anything', async () => {
  const started = Date.now();
  await assert.rejects(Recognite.start({ threads: -1 }), ValidationError);
  await assert.rejects(Recognite.start({ device: 'cuda:' as never }), (err: unknown) => {
    return err instanceof ValidationError && err.problems[0]?.path === 'device' && /cuda:0/.test(err.message);
  });
  assert.ok(Date.now() - started < 500);
});

test('nearest names: typos, separators, case', () => {
  assert.deepEqual(nearest('resnet-18', ['resnet18', 'resnet34', 'alexnet']).at(0), 'resnet18');
  assert.deepEqual(nearest('ResNet50', ['resnet50', 'resnet101']).at(0), 'resnet50');
  assert.deepEqual(nearest('zzzzzz', ['resnet18']), []);
});

test('every number has an upper bound: Infinity and absurd sizes are refused before Python sees them', () => {
  const refused = (schema: Parameters<typeof validate>[0], value: object, path: string): void => {
    assert.throws(
      () => {
        validate(schema, value);
      },
      (e: unknown) =>
        e instanceof ValidationError &&
        e.problems.some((p) => p.path === path && /must be <=|must be a finite number/.test(p.message)),
      `${schema}.${path}`,
    );
  };
  refused('RecognizerConfig', { modelName: 'resnet18', numClasses: Infinity }, 'numClasses');
  refused('RecognizerConfig', { modelName: 'resnet18', numClasses: 1e12 }, 'numClasses');
  refused('FitConfig', { train: { csv: 'x.csv' }, epochs: 1, lr: Infinity }, 'lr');
  refused('FitConfig', { train: { csv: 'x.csv' }, epochs: 1, size: 100000 }, 'size');
  refused('EmbedConfig', { batchSize: 1e9 }, 'batchSize');
  refused('SyntheticOptions', { outDir: 'x', identities: 1e9, samplesPerIdentity: 1 }, 'identities');
  refused('StartOptions', { callTimeoutMs: 2 ** 31 }, 'callTimeoutMs'); // setTimeout would fire at once
});
