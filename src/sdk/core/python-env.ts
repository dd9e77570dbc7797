/**
 * Which Python interpreter runs the worker: the `python` option, else
 * $RECOGNITE_PYTHON, else the environment the set-up built (cached per user,
 * keyed by the hash of requirements.txt, or of requirements-cpu.txt for the CPU-only
 * torch build: $RECOGNITE_TORCH, else the build the last explicit set-up recorded), else `python3`. The cache path logic is
 * shared with the set-up script (scripts/python-env.mjs) so the two cannot drift,
 * and so is the set-up command a message names: `npm run setup` in the repository
 * checkout, `npx recognite setup` where recognite-ts is installed as a dependency.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PythonEnvironmentError } from './errors.js';
import { PACKAGE_ROOT } from './package-root.js';

type PythonEnvModule = typeof import('../../../scripts/python-env.mjs');

export interface PythonChoice {
  python: string;
  /** Where the choice came from, for error messages. */
  source: 'option' | 'RECOGNITE_PYTHON' | 'project environment' | 'default';
  /** The command that builds the Python environment, as the user types it where they stand. */
  setupCommand: string;
}

/** scripts/python-env.mjs of this package (loaded by path: src/sdk and dist lie at different depths). */
export async function pythonEnvModule(): Promise<PythonEnvModule> {
  return (await import(pathToFileURL(join(PACKAGE_ROOT, 'scripts', 'python-env.mjs')).href)) as PythonEnvModule;
}

/** `npm run setup` in the repository checkout, `npx recognite setup` in a project that installed the package. */
export async function setupCommand(): Promise<string> {
  return (await pythonEnvModule()).setupCommand(PACKAGE_ROOT);
}

export async function choosePython(option?: string): Promise<PythonChoice> {
  const envModule = await pythonEnvModule();
  const setup = envModule.setupCommand(PACKAGE_ROOT);
  if (option) return { python: option, source: 'option', setupCommand: setup };
  if (process.env.RECOGNITE_PYTHON) {
    return { python: process.env.RECOGNITE_PYTHON, source: 'RECOGNITE_PYTHON', setupCommand: setup };
  }
  let projectPython: string | undefined;
  try {
    projectPython = envModule.completedProjectPython(process.env, PACKAGE_ROOT);
  } catch (err) {
    throw new PythonEnvironmentError(err instanceof Error ? err.message : String(err)); // a bad RECOGNITE_TORCH
  }
  if (projectPython) return { python: projectPython, source: 'project environment', setupCommand: setup };
  return { python: 'python3', source: 'default', setupCommand: setup };
}

/** Fail fast, with the fix, when the interpreter cannot even run (pythonia would crash Node instead). */
export function checkInterpreter(choice: PythonChoice): void {
  const res = spawnSync(choice.python, ['-c', 'import sys; print(sys.version_info[0], sys.version_info[1])'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (res.error || res.status !== 0) {
    const why = res.error ? res.error.message : res.stderr.trim() || `exit code ${res.status}`;
    throw new PythonEnvironmentError(
      `cannot run the Python interpreter '${choice.python}' (from ${choice.source}): ${why}. ` +
        `Run \`${choice.setupCommand}\` to build its environment, ` +
        'or pass the `python` option (or set RECOGNITE_PYTHON) to a Python 3.10+ that has torch and torchvision.',
    );
  }
  const [major, minor] = res.stdout.trim().split(' ').map(Number) as [number, number];
  if (major < 3 || (major === 3 && minor < 10)) {
    throw new PythonEnvironmentError(
      `'${choice.python}' (from ${choice.source}) is Python ${major}.${minor}; the worker needs 3.10+. ` +
        `Run \`${choice.setupCommand}\`, or pass the \`python\` option of a newer interpreter.`,
    );
  }
}
