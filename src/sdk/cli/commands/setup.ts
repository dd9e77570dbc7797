/**
 * `recognite setup`: what `npm run setup` does, for a project that installed recognite-ts as a
 * dependency: build (or find) the Python environment in the per-user cache, and the optional
 * shared-memory add-on when it is missing. It runs the package's own scripts/setup.mjs with --no-npm,
 * so npm is never asked to reinstall anything inside node_modules.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Command } from 'commander';
import { PACKAGE_ROOT } from '../../core/package-root.js';

export function registerSetupCommands(program: Command): void {
  program
    .command('setup')
    .description(
      'build (or find) the Python environment with torch and torchvision, and the optional shared-memory ' +
        'add-on: what `npm run setup` does, for an installed package (fast when both are there)',
    )
    .option('--base-python <path>', 'the Python 3.10+ to build the environment from (default: python3)')
    .option('--python-only', 'only the Python environment, not the add-on')
    .option(
      '--cpu',
      "PyTorch's CPU-only torch and torchvision (requirements-cpu.txt, from download.pytorch.org), without the " +
        'CUDA libraries; remembered for later set-ups and the SDK (RECOGNITE_TORCH=default goes back)',
    )
    .addHelpText(
      'after',
      '\nThe environment lives in a per-user cache ($RECOGNITE_CACHE_DIR, else ~/.cache/recognite-ts), keyed by\n' +
        'the hash of requirements.txt (requirements-cpu.txt with --cpu): every project and checkout with the\n' +
        'same requirements shares it.\n' +
        '\nExample:\n  $ recognite setup',
    )
    .action(async (opts: { basePython?: string; pythonOnly?: boolean; cpu?: boolean }) => {
      const env = { ...process.env };
      if (opts.basePython !== undefined) env.RECOGNITE_BASE_PYTHON = opts.basePython;
      const args = [join(PACKAGE_ROOT, 'scripts', 'setup.mjs'), opts.pythonOnly ? '--python-only' : '--no-npm'];
      if (opts.cpu) args.push('--cpu');
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, args, { cwd: PACKAGE_ROOT, env, stdio: 'inherit' });
        child.on('error', reject);
        child.on('close', (status) => {
          resolve(status ?? 1); // null: killed by a signal
        });
      });
      // setup.mjs printed what went wrong and its fix
      if (code !== 0) process.exitCode = code;
    });
}
