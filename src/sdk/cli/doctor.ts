/**
 * `recognite doctor`: is everything the SDK needs here, and if not, what fixes it. Each check says
 * ok or what is wrong with the command or setting that fixes it; `--clean` also removes the files of
 * sessions whose Node process died without cleaning up (SIGKILL).
 */
import { accessSync, constants, existsSync, statfsSync } from 'node:fs';
import { Recognite } from '../core/recognite.js';
import { NATIVE_PATH, nativeShm } from '../core/native.js';
import { setupCommand } from '../core/python-env.js';
import { chooseShmDir, sweepDeadSessions } from '../core/session-dir.js';

export interface Check {
  check: string;
  ok: boolean;
  detail: string;
  fix: string | null;
}

export async function doctor(clean: boolean): Promise<{ checks: Check[]; cleaned: string[] | null }> {
  const checks: Check[] = [];
  const setup = await setupCommand(); // npm run setup in the checkout, npx recognite setup where installed
  const shm = chooseShmDir();
  let writable = true;
  try {
    accessSync(shm, constants.W_OK);
  } catch {
    writable = false;
  }
  const fs = writable ? statfsSync(shm) : undefined;
  const free = fs ? fs.bavail * fs.bsize : 0;
  checks.push({
    check: 'shared memory',
    ok: writable && free >= 256 * 2 ** 20,
    detail: `${shm}, ${(free / 2 ** 30).toFixed(1)} GiB free`,
    fix: writable
      ? 'free space there, or set RECOGNITE_SHM_DIR to a folder with room'
      : 'set RECOGNITE_SHM_DIR to a writable folder',
  });
  const built = nativeShm() !== undefined;
  checks.push({
    check: 'native add-on',
    ok: true, // optional: everything works without it, big tensors move more slowly
    detail: built
      ? 'built: zero-copy views, memcpy transfers'
      : `${existsSync(NATIVE_PATH) ? 'disabled (RECOGNITE_NO_NATIVE=1)' : 'not built'}: file I/O fallback, slower ` +
        `for big tensors; install a C compiler and run ${setup} to build it`,
    fix: null,
  });
  try {
    await using rt = await Recognite.start();
    const info = await rt.info();
    checks.push({ check: 'python', ok: true, detail: `${info.pythonExecutable} (${info.python})`, fix: null });
    checks.push({
      check: 'torch',
      ok: true,
      detail: `torch ${info.torch}, torchvision ${info.torchvision}`,
      fix: null,
    });
    checks.push({
      check: 'cuda',
      ok: true,
      detail: info.cuda ? `${info.gpuName ?? 'a GPU'} (${info.device})` : 'no GPU seen: running on the CPU',
      fix: null,
    });
  } catch (err) {
    checks.push({
      check: 'python and torch',
      ok: false,
      detail: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err),
      fix: `run ${setup}, or set RECOGNITE_PYTHON to an interpreter that has torch and torchvision`,
    });
  }
  return {
    checks: checks.map((c) => ({ ...c, fix: c.ok ? null : c.fix })),
    cleaned: clean ? sweepDeadSessions(shm) : null,
  };
}
