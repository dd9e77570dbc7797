#!/usr/bin/env node
// One-command set-up, run by `npm test` and `npm start` before anything else (`npm run setup`), and
// by `recognite setup` where the package is installed as a dependency. Idempotent and fast when
// nothing changed:
//  1. npm dependencies: `npm ci` only when package-lock.json changed since the last install; only in
//     the repository checkout (never inside node_modules, where npm already installed them), and not
//     with --no-npm (what `recognite setup` passes);
//  2. the optional shared-memory add-on (scripts/build-native.mjs: skipped when it is up to date);
//  3. the Python environment: a virtual environment in a per-user cache keyed by the hash of
//     requirements.txt (so every clone and every installed copy, CI's included, reuses it), marked
//     complete only after `import torch, torchvision` works in it, and rebuilt when that mark is missing.
//     --cpu (or RECOGNITE_TORCH=cpu): PyTorch's CPU-only wheels from requirements-cpu.txt instead, in
//     an environment of their own (keyed by that file's hash); RECOGNITE_TORCH=default goes back. An
//     explicit choice is recorded in the cache folder (torch-variant) once its environment is complete,
//     so later set-ups and the SDK use the same build without being told again.
// --python-only: step 3 alone. Plain JS without dependencies, because it runs before `npm install`.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  cacheDir,
  installedAsDependency,
  PACKAGE_ROOT,
  parseTorchVariant,
  pipInstallArgs,
  projectEnv,
  setupCommand,
  TORCH_VARIANTS,
  torchVariant,
  VARIANT_FILE,
} from './python-env.mjs';

const MIN_PYTHON = [3, 10]; // torchvision 0.29 requires Python >= 3.10
const log = (msg) => process.stderr.write(`[setup] ${msg}\n`);

function fail(msg) {
  process.stderr.write(`[setup] error: ${msg}\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: PACKAGE_ROOT, ...opts });
  if (res.error) fail(`could not run ${cmd}: ${res.error.message}`);
  return res.status ?? 1;
}

function ensureNodeModules() {
  const lock = join(PACKAGE_ROOT, 'package-lock.json');
  if (installedAsDependency() || !existsSync(lock)) return; // installed as a dependency: npm already did this
  const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
  const stampFile = join(PACKAGE_ROOT, 'node_modules', '.recognite-npm-stamp');
  const have = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : '';
  if (have === want) return;
  log('installing npm dependencies (npm ci)');
  // onnxruntime-node's install script downloads CUDA providers from api.nuget.org (unreachable on CI and
  // offline); its documented switch skips it: the CPU provider the deploy tests use is in the package
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip' };
  if (run('npm', ['ci', '--no-audit', '--no-fund'], { env }) !== 0) fail('npm ci failed (see above)');
  writeFileSync(stampFile, want);
}

function basePython() {
  const python = process.env.RECOGNITE_BASE_PYTHON || 'python3';
  const res = spawnSync(python, ['-c', 'import sys; print(*sys.version_info[:2])'], {
    encoding: 'utf8',
  });
  if (res.error || res.status !== 0) {
    fail(
      `cannot run '${python}' (${res.error?.message ?? res.stderr.trim()}). ` +
        'Install Python 3.10+ or point RECOGNITE_BASE_PYTHON at one.',
    );
  }
  const [major, minor] = res.stdout.trim().split(' ').map(Number);
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    fail(
      `'${python}' is Python ${major}.${minor}; torch needs ${MIN_PYTHON.join('.')}+. ` +
        'Point RECOGNITE_BASE_PYTHON at a newer one.',
    );
  }
  return python;
}

/** A lock folder so that two set-ups (say `npm test` and `npm start`) never build one env at once. */
function withLock(dir, fn) {
  const lockDir = `${dir}.lock`;
  const deadline = Date.now() + 60 * 60 * 1000;
  mkdirSync(dirname(dir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(join(lockDir, 'pid'), { encoding: 'utf8', flag: 'a+' }));
      if (!pid || !isAlive(pid)) {
        rmSync(lockDir, { recursive: true, force: true }); // stale: its owner died
        continue;
      }
      if (Date.now() > deadline) fail(`timed out waiting for another set-up (pid ${pid})`);
      log(`waiting for another set-up (pid ${pid}) to finish`);
      spawnSync('sleep', ['5']);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/**
 * The torch build asked for: `--cpu`, else $RECOGNITE_TORCH, else the recorded one, else 'default';
 * `explicit` when the command line or the environment named it (then it is recorded once built).
 */
function chooseVariant(argv = process.argv, environ = process.env) {
  if (argv.includes('--cpu')) return { variant: 'cpu', explicit: true };
  try {
    return { variant: torchVariant(environ), explicit: Boolean(environ.RECOGNITE_TORCH) };
  } catch (err) {
    fail(err.message);
  }
}

/** Remember an explicit choice for later set-ups and for the SDK's discovery of the environment. */
function recordVariant(variant) {
  const file = join(cacheDir(), VARIANT_FILE);
  const had = existsSync(file) ? parseTorchVariant(readFileSync(file, 'utf8')) : undefined;
  if (had === variant) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${variant}\n`);
  log(`torch build '${variant}' recorded in ${file}: later set-ups and the SDK use it`);
}

function ensurePythonEnv() {
  const { variant, explicit } = chooseVariant();
  const env = projectEnv(process.env, PACKAGE_ROOT, variant);
  if (existsSync(env.mark)) {
    log(`Python environment ready: ${env.dir}${describeMark(env.mark)}`);
    if (explicit) recordVariant(variant);
    return;
  }
  withLock(env.dir, () => {
    if (existsSync(env.mark)) {
      if (explicit) recordVariant(variant);
      return; // another set-up finished it while we waited
    }
    const started = Date.now();
    const python = basePython();
    log(`building the Python environment in ${env.dir}`);
    log(
      variant === 'cpu'
        ? "first time only: torch's CPU-only build, from https://download.pytorch.org/whl/cpu; later runs reuse it"
        : 'first time only: torch with its CUDA libraries is several GB; later runs reuse it' +
            ' (CPU-only machine: --cpu, or RECOGNITE_TORCH=cpu, installs the smaller CPU build)',
    );
    rmSync(env.dir, { recursive: true, force: true }); // a half-built env is never reused
    mkdirSync(env.dir, { recursive: true });
    if (run(python, ['-m', 'venv', env.dir]) !== 0) {
      fail(`'${python} -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv`);
    }
    const reqs = TORCH_VARIANTS[variant].requirements;
    if (run(env.python, pipInstallArgs(variant, PACKAGE_ROOT)) !== 0) {
      rmSync(env.dir, { recursive: true, force: true }); // nothing half-built is left in the cache
      const retry =
        variant === 'cpu' ? `${setupCommand()}${setupCommand().startsWith('npm') ? ' --' : ''} --cpu` : setupCommand();
      fail(
        `pip install -r ${reqs} failed (see above); rerun '${retry}' to retry` +
          (variant === 'cpu'
            ? ' (the CPU-only wheels come from https://download.pytorch.org/whl/cpu: is it reachable?)'
            : ''),
      );
    }
    const check = spawnSync(
      env.python,
      ['-c', 'import json, torch, torchvision; print(json.dumps([torch.__version__, torchvision.__version__]))'],
      { encoding: 'utf8' },
    );
    if (check.status !== 0) fail(`torch does not import in the new environment:\n${check.stderr}`);
    const [torch, torchvision] = JSON.parse(check.stdout);
    const seconds = Math.round((Date.now() - started) / 1000);
    writeFileSync(
      env.mark,
      JSON.stringify({ torch, torchvision, variant, seconds, builtAt: new Date().toISOString() }) + '\n',
    );
    log(`Python environment ready in ${seconds} s: torch ${torch}, torchvision ${torchvision}`);
    if (explicit) recordVariant(variant);
  });
}

/** ' (torch X, torchvision Y)' from the completion mark, or nothing when it cannot be read. */
function describeMark(mark) {
  try {
    const { torch, torchvision } = JSON.parse(readFileSync(mark, 'utf8'));
    return torch ? ` (torch ${torch}, torchvision ${torchvision})` : '';
  } catch {
    return '';
  }
}

const pythonOnly = process.argv.includes('--python-only');
if (!pythonOnly) {
  if (!process.argv.includes('--no-npm')) ensureNodeModules();
  run(process.execPath, [join(PACKAGE_ROOT, 'scripts', 'build-native.mjs')]);
}
ensurePythonEnv();
if (process.env.RECOGNITE_PYTHON) {
  log(
    `note: RECOGNITE_PYTHON is set (${process.env.RECOGNITE_PYTHON}): the SDK runs that interpreter, not this environment`,
  );
}
