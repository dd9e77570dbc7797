// Where the project's cached Python environment lives. Shared by the set-up script
// and the SDK's Python discovery (src/sdk/python-env.ts re-exports it), so the two
// can never disagree about the path. Plain JS with no dependencies: it runs before
// `npm install` has happened.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding requirements.txt and py_bridge/). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** File written into a virtual environment once `import torch, torchvision` works in it. */
export const COMPLETE_MARK = '.recognite-complete';

/** Per-user cache folder: $RECOGNITE_CACHE_DIR, else $XDG_CACHE_HOME/recognite-ts, else ~/.cache/recognite-ts. */
export function cacheDir(env = process.env) {
  if (env.RECOGNITE_CACHE_DIR) return env.RECOGNITE_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'recognite-ts');
}

/** First 16 hex digits of the SHA-256 of requirements.txt: the cache key. */
export function requirementsHash(root = PACKAGE_ROOT) {
  const text = readFileSync(join(root, 'requirements.txt'));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Paths of the environment the set-up makes for this requirements.txt. */
export function projectEnv(env = process.env, root = PACKAGE_ROOT) {
  const dir = join(cacheDir(env), `py-${requirementsHash(root)}`);
  const python = process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python');
  return { dir, python, mark: join(dir, COMPLETE_MARK) };
}

/** The project environment's interpreter when the set-up finished it, else undefined. */
export function completedProjectPython(env = process.env, root = PACKAGE_ROOT) {
  const { python, mark } = projectEnv(env, root);
  return existsSync(mark) && existsSync(python) ? python : undefined;
}

/**
 * Whether this copy of the package was installed as a dependency (it lies inside a node_modules
 * folder) rather than being the recognite-ts repository checkout.
 */
export function installedAsDependency(root = PACKAGE_ROOT) {
  return root.split(sep).includes('node_modules');
}

/**
 * The command that builds (or finds) the Python environment, as the user can type it where they
 * stand: `npx recognite setup` in a project that depends on recognite-ts, `npm run setup` in the
 * repository checkout. Every message that names the fix takes it from here.
 */
export function setupCommand(root = PACKAGE_ROOT) {
  return installedAsDependency(root) ? 'npx recognite setup' : 'npm run setup';
}
