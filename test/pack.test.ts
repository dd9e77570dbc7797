// The package as a project that depends on it gets it: `npm pack` (which builds dist/ through `prepare`),
// the tarball installed into an empty project, and there `npx recognite setup` finds the cached Python
// environment and `npx recognite info` runs. Every message that names the set-up names
// `npx recognite setup`, the command that works in that project (not `npm run setup`).
// The pack runs on a copy of the working tree (node_modules linked), so the shared dist/ is never
// rebuilt under other tests. About 1 minute, most of it tsc and npm install.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { completedProjectPython, projectEnv } from '../scripts/python-env.mjs';
import { REPO_ROOT } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'recognite-pack-'));
const copy = join(tmp, 'src');
const app = join(tmp, 'app');
const installed = join(app, 'node_modules', 'recognite-ts');

interface PackedFile {
  path: string;
  mode: number;
}
let packed: PackedFile[] = [];
let tarball = '';

/** The environment of a user's shell: none of npm's lifecycle variables, nor a chosen interpreter. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'RECOGNITE_PYTHON' && key !== 'RECOGNITE_TEST_MODE') env[key] = value;
  }
  return { ...env, ...extra };
}

function npx(args: string[], extra: NodeJS.ProcessEnv = {}) {
  return spawnSync('npx', ['--no', '--', 'recognite', ...args], {
    cwd: app,
    env: userEnv(extra),
    encoding: 'utf8',
    timeout: 180_000,
  });
}

before(() => {
  // the working tree as git sees it (tracked and new files, without what .gitignore leaves out)
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(REPO_ROOT, f)));
  for (const f of files) {
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    copyFileSync(join(REPO_ROOT, f), join(copy, f));
  }
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  const pack = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: copy,
    env: userEnv(),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [info] = JSON.parse(pack.slice(pack.indexOf('['))) as [{ filename: string; files: PackedFile[] }];
  packed = info.files;
  tarball = join(tmp, info.filename);
  mkdirSync(app);
  execFileSync('npm', ['init', '-y'], { cwd: app, env: userEnv(), stdio: 'ignore' });
  execFileSync('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: app,
    env: userEnv(),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
});

after(() => {
  rmSync(tmp, { recursive: true, force: true });
});

describe('the package installed from its tarball', { timeout: 15 * 60_000 }, () => {
  test('the tarball holds what the runtime needs and nothing of the repository around it', () => {
    const paths = new Set(packed.map((f) => f.path));
    for (const needed of [
      'package.json',
      'README.md',
      'dist/cli.js',
      'dist/index.js',
      'dist/index.d.ts',
      'py_bridge/worker.py',
      'py_bridge/bridge/handlers.py',
      'schema/StartOptions.json',
      'schema/WorkerInfo.json',
      'scripts/setup.mjs',
      'scripts/python-env.mjs',
      'scripts/build-native.mjs',
      'requirements.txt',
      'native/shm_native.c',
      'binding.gyp',
    ]) {
      assert.ok(paths.has(needed), `${needed} is in the tarball`);
    }
    const junk = [...paths].filter((p) =>
      /^(?:test|node_modules|out|docs|bench|examples|build|\.tmp|py_bridge\/tests)\/|^package-lock\.json$|__pycache__|\.pyc$/.test(
        p,
      ),
    );
    assert.deepEqual(junk, [], 'no tests, node_modules, outputs or docs');
    // the bin is a Node script with its shebang, executable once installed
    assert.match(readFileSync(join(copy, 'dist', 'cli.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
    assert.ok(statSync(join(installed, 'dist', 'cli.js')).mode & 0o111, 'dist/cli.js is executable');
    assert.ok(existsSync(join(app, 'node_modules', '.bin', 'recognite')));
  });

  test('recognite --help lists setup, and setup --help shows an example', () => {
    const help = npx(['--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^\s+setup\b/m);
    const setupHelp = npx(['setup', '--help']);
    assert.equal(setupHelp.status, 0, setupHelp.stderr);
    assert.match(setupHelp.stdout, /Example:\n\s+\$ recognite setup/);
  });

  test('npx recognite setup finds the cached Python environment, and npx recognite info runs', (t) => {
    const env = projectEnv(process.env, REPO_ROOT);
    if (!completedProjectPython(process.env, REPO_ROOT)) {
      // building it here would download several GB; `npm test` runs the set-up before the tests
      t.skip(`the Python environment is not built (${env.dir}): run npm run setup first`);
      return;
    }
    const started = Date.now();
    const setup = npx(['setup']);
    assert.equal(setup.status, 0, setup.stdout + setup.stderr);
    t.diagnostic(setup.stderr.trim());
    assert.ok(setup.stderr.includes(`Python environment ready: ${env.dir}`), setup.stderr);
    assert.doesNotMatch(setup.stderr, /npm ci|installing npm dependencies/);
    assert.ok(Date.now() - started < 30_000, 'finding the environment is fast');

    // the add-on: npm's install script built it (or said why not); setup builds it again when it is missing
    const addon = join(installed, 'build', 'Release', 'shm_native.node');
    if (existsSync(addon)) {
      rmSync(join(installed, 'build'), { recursive: true, force: true });
      const rebuild = npx(['setup']);
      assert.equal(rebuild.status, 0, rebuild.stdout + rebuild.stderr);
      assert.match(rebuild.stderr, /\[native\] built the shared-memory add-on/);
      assert.ok(existsSync(addon), 'setup rebuilt the missing add-on');
    } else {
      t.diagnostic('the install script did not build the add-on here: the SDK uses its file I/O path');
    }

    const run = npx(['info', '--json']);
    assert.equal(run.status, 0, run.stderr);
    const info = JSON.parse(run.stdout) as { torch: string; pythonExecutable: string };
    const mark = JSON.parse(readFileSync(env.mark, 'utf8')) as { torch: string };
    assert.equal(info.torch, mark.torch);
    assert.ok(info.pythonExecutable.startsWith(env.dir), info.pythonExecutable);
  });

  test('without a Python environment every fix named is npx recognite setup', () => {
    const run = npx(['info'], { RECOGNITE_PYTHON: '/nonexistent/python' });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /cannot run the Python interpreter '\/nonexistent\/python'.*`npx recognite setup`/);
    assert.doesNotMatch(run.stderr, /npm run setup/);

    const doctor = npx(['doctor', '--json'], { RECOGNITE_PYTHON: '/nonexistent/python' });
    assert.equal(doctor.status, 1, doctor.stderr);
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ check: string; fix: string | null }> };
    const python = report.checks.find((c) => c.check === 'python and torch');
    assert.match(python?.fix ?? '', /^run npx recognite setup,/);
    assert.doesNotMatch(doctor.stdout, /npm run setup/);
  });

  test("a Python without torch: the worker's message names npx recognite setup and the installed requirements", () => {
    const venv = join(tmp, 'notorch');
    execFileSync('python3', ['-m', 'venv', '--without-pip', venv]);
    const run = npx(['info'], { RECOGNITE_PYTHON: join(venv, 'bin', 'python') });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /torch cannot be imported by .*notorch.*Run `npx recognite setup`/);
    assert.ok(run.stderr.includes(`-m pip install -r ${join(installed, 'requirements.txt')}`), run.stderr);
    assert.doesNotMatch(run.stderr, /npm run setup/);
  });

  test('recognite-ts/deploy without its optional peers: importing works, using it names what to install', () => {
    // onnxruntime-node and sharp are optional peer dependencies: a project that only trains has neither
    assert.ok(!existsSync(join(app, 'node_modules', 'onnxruntime-node')), 'not installed with recognite-ts');
    const script = join(app, 'use-deploy.mjs');
    writeFileSync(
      script,
      "import { OnnxRecognizer, MissingDependencyError } from 'recognite-ts/deploy';\n" +
        "try { await OnnxRecognizer.load('model.onnx'); } catch (e) { console.log(e instanceof MissingDependencyError, e.message); }\n",
    );
    writeFileSync(join(app, 'model.onnx'), 'not a model');
    const run = spawnSync(process.execPath, [script], { cwd: app, env: userEnv(), encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^true OnnxRecognizer needs onnxruntime-node, .*: npm install onnxruntime-node@1\.30\.0/);
  });
});
