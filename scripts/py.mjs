#!/usr/bin/env node
// Run the project's Python (the environment the set-up built) with the given arguments,
// so npm scripts never depend on which python3 happens to be on PATH.
import { spawnSync } from 'node:child_process';
import { completedProjectPython, PACKAGE_ROOT, setupCommand } from './python-env.mjs';

const python = process.env.RECOGNITE_PYTHON || completedProjectPython();
if (!python) {
  process.stderr.write(`The Python environment is not built yet: run \`${setupCommand()}\` first.\n`);
  process.exit(1);
}
const res = spawnSync(python, process.argv.slice(2), { stdio: 'inherit', cwd: PACKAGE_ROOT });
process.exit(res.status ?? 1);
