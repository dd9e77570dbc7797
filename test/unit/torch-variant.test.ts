/**
 * The CPU-only torch build (requirements-cpu.txt; `npm run setup -- --cpu`, `recognite setup --cpu` or
 * RECOGNITE_TORCH=cpu): what pip is asked to install, that the file keeps requirements.txt's pins
 * without any CUDA package, that its environment has a cache key of its own, and that the set-up records
 * the choice where the SDK's discovery finds it. No network: the environments here are fakes holding a
 * completion mark, which is all the discovery looks at.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  COMPLETE_MARK,
  completedProjectPython,
  pipInstallArgs,
  projectEnv,
  requirementsHash,
  torchVariant,
  VARIANT_FILE,
} from '../../scripts/python-env.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = mkdtempSync(join(tmpdir(), 'recognite-torch-variant-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh cache folder, with nothing of the user's own environment in it. */
function cache(name: string): NodeJS.ProcessEnv {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  return { RECOGNITE_CACHE_DIR: dir };
}

/** A stand-in for a finished environment of a variant: its interpreter file and its completion mark. */
function fakeEnv(env: NodeJS.ProcessEnv, variant: 'default' | 'cpu'): string {
  const { dir, python } = projectEnv(env, ROOT, variant);
  mkdirSync(dirname(python), { recursive: true });
  writeFileSync(python, '#!/bin/sh\nexit 0\n');
  chmodSync(python, 0o755);
  writeFileSync(join(dir, COMPLETE_MARK), JSON.stringify({ torch: `2.x-${variant}`, torchvision: '0.x' }));
  return python;
}

interface Requirement {
  name: string;
  spec: string;
  marker: string;
}

/** Package lines of a requirements file (comments and options dropped), name normalised as pip does. */
function requirements(file: string): Requirement[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line && !line.startsWith('-'))
    .map((line) => {
      const [req = '', marker = ''] = line.split(';').map((part) => part.trim());
      const m = /^([A-Za-z0-9._-]+)\s*(.*)$/.exec(req);
      assert.ok(m, `a requirement: ${line}`);
      return { name: (m[1] ?? '').toLowerCase().replace(/[-_.]+/g, '-'), spec: (m[2] ?? '').trim(), marker };
    });
}

/** Option lines of a requirements file (`--index-url ...`). */
function options(file: string): string[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('-'));
}

const CUDA_ONLY = /^(?:nvidia-|cuda-|triton$)/;
const TORCH = new Set(['torch', 'torchvision']);

describe('the pip invocation', () => {
  test('default: pip install -r requirements.txt', () => {
    assert.deepEqual(pipInstallArgs('default', ROOT), [
      '-m',
      'pip',
      '--disable-pip-version-check',
      'install',
      '-r',
      join(ROOT, 'requirements.txt'),
    ]);
    assert.deepEqual(pipInstallArgs(undefined, ROOT), pipInstallArgs('default', ROOT));
    assert.deepEqual(options('requirements.txt'), [], 'requirements.txt uses pip\u2019s own index (PyPI)');
  });

  test("cpu: pip install -r requirements-cpu.txt, whose indexes are PyTorch's CPU wheels first, PyPI for the rest", () => {
    assert.deepEqual(pipInstallArgs('cpu', ROOT), [
      '-m',
      'pip',
      '--disable-pip-version-check',
      'install',
      '-r',
      join(ROOT, 'requirements-cpu.txt'),
    ]);
    assert.deepEqual(options('requirements-cpu.txt'), [
      '--index-url https://download.pytorch.org/whl/cpu',
      '--extra-index-url https://pypi.org/simple',
    ]);
  });
});

describe('requirements-cpu.txt', () => {
  const full = requirements('requirements.txt');
  const cpu = requirements('requirements-cpu.txt');

  test('holds no CUDA-only package (nvidia-*, cuda-*, triton)', () => {
    assert.ok(
      full.some((r) => CUDA_ONLY.test(r.name)),
      'requirements.txt has CUDA packages (else this test checks nothing)',
    );
    assert.deepEqual(
      cpu.filter((r) => CUDA_ONLY.test(r.name)).map((r) => r.name),
      [],
    );
  });

  test("pins torch and torchvision to requirements.txt's versions, +cpu where PyTorch builds them (not macOS)", () => {
    for (const name of TORCH) {
      const version = full.find((r) => r.name === name)?.spec.replace(/^==/, '');
      assert.ok(version, `requirements.txt pins ${name}`);
      assert.deepEqual(
        cpu.filter((r) => r.name === name).map((r) => [r.spec, r.marker]),
        [
          [`==${version}+cpu`, 'sys_platform != "darwin"'],
          [`==${version}`, 'sys_platform == "darwin"'],
        ],
        `${name} in requirements-cpu.txt`,
      );
    }
  });

  test('has the same pins as requirements.txt for every other package, and no other package', () => {
    const expected = full.filter((r) => !TORCH.has(r.name) && !CUDA_ONLY.test(r.name));
    const actual = cpu.filter((r) => !TORCH.has(r.name));
    assert.deepEqual(
      actual,
      expected,
      'requirements-cpu.txt is requirements.txt without the CUDA packages, torch and torchvision as +cpu: update it with requirements.txt',
    );
    for (const r of full) assert.match(r.spec, /^==\S+$/, `${r.name} is pinned exactly`);
  });

  test('is in the published package (package.json files), next to requirements.txt', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    assert.ok(pkg.files.includes('requirements.txt'));
    assert.ok(pkg.files.includes('requirements-cpu.txt'));
  });
});

describe('the cache key and the discovery of the environment', () => {
  test('each variant has its own folder, keyed by the hash of its own requirements file', () => {
    const env = cache('keys');
    const dflt = projectEnv(env, ROOT, 'default');
    const cpu = projectEnv(env, ROOT, 'cpu');
    assert.notEqual(requirementsHash(ROOT, 'cpu'), requirementsHash(ROOT, 'default'));
    assert.equal(requirementsHash(ROOT), requirementsHash(ROOT, 'default'));
    // the default environment's folder is what it always was: nobody's cached environment is rebuilt
    assert.equal(dflt.dir, join(env.RECOGNITE_CACHE_DIR ?? '', `py-${requirementsHash(ROOT)}`));
    assert.equal(cpu.dir, join(env.RECOGNITE_CACHE_DIR ?? '', `py-cpu-${requirementsHash(ROOT, 'cpu')}`));
    assert.equal(dflt.variant, 'default');
    assert.equal(cpu.variant, 'cpu');
  });

  test('the variant: RECOGNITE_TORCH, else the recorded one, else default; a bad RECOGNITE_TORCH names the choices', () => {
    const env = cache('choice');
    assert.equal(torchVariant(env), 'default');
    writeFileSync(join(env.RECOGNITE_CACHE_DIR ?? '', VARIANT_FILE), 'cpu\n');
    assert.equal(torchVariant(env), 'cpu');
    assert.equal(torchVariant({ ...env, RECOGNITE_TORCH: 'default' }), 'default');
    assert.equal(torchVariant({ ...env, RECOGNITE_TORCH: 'CPU' }), 'cpu');
    writeFileSync(join(env.RECOGNITE_CACHE_DIR ?? '', VARIANT_FILE), 'something else\n');
    assert.equal(torchVariant(env), 'default', 'an unreadable record is ignored');
    assert.throws(() => torchVariant({ ...env, RECOGNITE_TORCH: 'gpu' }), /RECOGNITE_TORCH=gpu .*'default' or 'cpu'/);
  });

  test("the SDK's discovery finds the environment of the chosen variant, and only that one", () => {
    const env = cache('discovery');
    assert.equal(completedProjectPython(env, ROOT), undefined);
    const cpuPython = fakeEnv(env, 'cpu');
    assert.equal(completedProjectPython(env, ROOT), undefined, 'default chosen: the CPU environment is not used');
    assert.equal(completedProjectPython({ ...env, RECOGNITE_TORCH: 'cpu' }, ROOT), cpuPython);
    writeFileSync(join(env.RECOGNITE_CACHE_DIR ?? '', VARIANT_FILE), 'cpu\n');
    assert.equal(completedProjectPython(env, ROOT), cpuPython, 'the recorded choice');
    const defaultPython = fakeEnv(env, 'default');
    assert.equal(completedProjectPython({ ...env, RECOGNITE_TORCH: 'default' }, ROOT), defaultPython);
    assert.notEqual(cpuPython, defaultPython);
  });
});

describe('scripts/setup.mjs and recognite setup', () => {
  const setup = (args: string[], env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'setup.mjs'), '--python-only', ...args], {
      encoding: 'utf8',
      env: { ...process.env, RECOGNITE_TORCH: '', RECOGNITE_PYTHON: '', ...env },
      timeout: 60_000,
    });

  test('--cpu finds a finished CPU environment and records the choice; RECOGNITE_TORCH=default records the way back', () => {
    const env = cache('setup');
    const cpuPython = fakeEnv(env, 'cpu');
    const run = setup(['--cpu'], env);
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stderr.includes(`Python environment ready: ${projectEnv(env, ROOT, 'cpu').dir}`), run.stderr);
    assert.equal(readFileSync(join(env.RECOGNITE_CACHE_DIR ?? '', VARIANT_FILE), 'utf8').trim(), 'cpu');
    assert.equal(completedProjectPython(env, ROOT), cpuPython, 'the SDK now finds the CPU environment unasked');

    // a plain set-up afterwards keeps the recorded build: it does not start a CUDA download
    const again = setup([], env);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(again.stderr.includes(`Python environment ready: ${projectEnv(env, ROOT, 'cpu').dir}`), again.stderr);

    fakeEnv(env, 'default');
    const back = setup([], { ...env, RECOGNITE_TORCH: 'default' });
    assert.equal(back.status, 0, back.stderr);
    assert.equal(readFileSync(join(env.RECOGNITE_CACHE_DIR ?? '', VARIANT_FILE), 'utf8').trim(), 'default');
  });

  test('a bad RECOGNITE_TORCH stops the set-up before anything is built, naming the choices', () => {
    const env = cache('bad');
    const run = setup([], { ...env, RECOGNITE_TORCH: 'cuda12' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /RECOGNITE_TORCH=cuda12 names no torch build: use 'default' or 'cpu'/);
  });

  test('recognite setup --cpu passes --cpu on to the set-up script', () => {
    const env = cache('cli');
    fakeEnv(env, 'cpu');
    const run = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(ROOT, 'src', 'sdk', 'cli.ts'), 'setup', '--cpu', '--python-only'],
      { encoding: 'utf8', env: { ...process.env, RECOGNITE_TORCH: '', RECOGNITE_PYTHON: '', ...env }, timeout: 60_000 },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.ok(run.stderr.includes(`Python environment ready: ${projectEnv(env, ROOT, 'cpu').dir}`), run.stderr);
    const help = spawnSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', join(ROOT, 'src', 'sdk', 'cli.ts'), 'setup', '--help'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.match(help.stdout, /--cpu\s/);
  });
});
