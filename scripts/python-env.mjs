// Where the project's cached Python environment lives. Shared by the set-up script
// and the SDK's Python discovery (src/sdk/python-env.ts re-exports it), so the two
// can never disagree about the path. Two torch builds ("variants") each get their own
// environment: 'default' (requirements.txt) and 'cpu' (requirements-cpu.txt, PyTorch's
// CPU-only wheels); which one is chosen: $RECOGNITE_TORCH, else the one the last explicit
// set-up recorded in <cache>/torch-variant, else 'default'. Plain JS with no dependencies:
// it runs before `npm install` has happened.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding requirements.txt, requirements-cpu.txt and py_bridge/). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** File written into a virtual environment once `import torch, torchvision` works in it. */
export const COMPLETE_MARK = '.recognite-complete';

/** Per-user cache folder: $RECOGNITE_CACHE_DIR, else $XDG_CACHE_HOME/recognite-ts, else ~/.cache/recognite-ts. */
export function cacheDir(env = process.env) {
  if (env.RECOGNITE_CACHE_DIR) return env.RECOGNITE_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'recognite-ts');
}

/**
 * The builds of torch the set-up can install, each from its own requirements file and cached in its
 * own folder: 'default' (requirements.txt: PyPI's torch, which carries the CUDA libraries and also runs
 * on the CPU) and 'cpu' (requirements-cpu.txt: PyTorch's CPU-only wheels, no CUDA libraries).
 */
export const TORCH_VARIANTS = {
  default: { requirements: 'requirements.txt', prefix: 'py-' },
  cpu: { requirements: 'requirements-cpu.txt', prefix: 'py-cpu-' },
};

/** File in the cache folder naming the variant the last explicit set-up chose (`cpu` or `default`). */
export const VARIANT_FILE = 'torch-variant';

/** The variant named by `value`, or undefined when it names none. */
export function parseTorchVariant(value) {
  const v = String(value).trim().toLowerCase();
  return Object.hasOwn(TORCH_VARIANTS, v) ? v : undefined;
}

/**
 * Which torch build the set-up installs and the SDK runs: $RECOGNITE_TORCH when set ('cpu' or
 * 'default'), else the variant the last explicit set-up (`--cpu`, or RECOGNITE_TORCH) recorded in the
 * cache folder, else 'default'. Throws on a RECOGNITE_TORCH that names no variant.
 */
export function torchVariant(env = process.env) {
  if (env.RECOGNITE_TORCH) {
    const v = parseTorchVariant(env.RECOGNITE_TORCH);
    if (!v) {
      throw new Error(
        `RECOGNITE_TORCH=${env.RECOGNITE_TORCH} names no torch build: use ${Object.keys(TORCH_VARIANTS)
          .map((k) => `'${k}'`)
          .join(' or ')}`,
      );
    }
    return v;
  }
  const file = join(cacheDir(env), VARIANT_FILE);
  const recorded = existsSync(file) ? parseTorchVariant(readFileSync(file, 'utf8')) : undefined;
  return recorded ?? 'default';
}

/** The requirements file of a variant: requirements.txt or requirements-cpu.txt. */
export function requirementsFile(variant = 'default', root = PACKAGE_ROOT) {
  return join(root, TORCH_VARIANTS[variant].requirements);
}

/** First 16 hex digits of the SHA-256 of the variant's requirements file: the cache key. */
export function requirementsHash(root = PACKAGE_ROOT, variant = 'default') {
  const text = readFileSync(requirementsFile(variant, root));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/**
 * Paths of the environment the set-up makes for a variant's requirements file: `py-<hash>` for the
 * default, `py-cpu-<hash>` for the CPU-only build, in the cache folder.
 */
export function projectEnv(env = process.env, root = PACKAGE_ROOT, variant = torchVariant(env)) {
  const dir = join(cacheDir(env), `${TORCH_VARIANTS[variant].prefix}${requirementsHash(root, variant)}`);
  const python = process.platform === 'win32' ? join(dir, 'Scripts', 'python.exe') : join(dir, 'bin', 'python');
  return { dir, python, mark: join(dir, COMPLETE_MARK), variant };
}

/** The project environment's interpreter (of the chosen variant) when the set-up finished it, else undefined. */
export function completedProjectPython(env = process.env, root = PACKAGE_ROOT, variant = torchVariant(env)) {
  const { python, mark } = projectEnv(env, root, variant);
  return existsSync(mark) && existsSync(python) ? python : undefined;
}

/**
 * The arguments after the interpreter that install a variant's requirements: `-m pip install -r <file>`.
 * The file itself names its package indexes (requirements-cpu.txt: PyTorch's CPU index first, PyPI
 * for the rest), so the same file works by hand.
 */
export function pipInstallArgs(variant = 'default', root = PACKAGE_ROOT) {
  return ['-m', 'pip', '--disable-pip-version-check', 'install', '-r', requirementsFile(variant, root)];
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
