/**
 * The folder of the installed recognite-ts package (where py_bridge/, schema/ and
 * requirements.txt live), found by walking up from this module: the same answer
 * from src/sdk (development) and dist (published).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'recognite-ts'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('recognite-ts: cannot find the package folder above ' + import.meta.url);
    dir = parent;
  }
}

export const PACKAGE_ROOT = findPackageRoot();
export const WORKER_PATH = join(PACKAGE_ROOT, 'py_bridge', 'worker.py');
