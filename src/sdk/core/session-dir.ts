/**
 * Each session's shared-memory files live in a folder of its own, made with a fresh random name and
 * mode 0700 (mkdtemp), inside /dev/shm or wherever shmDir points. /dev/shm is writable by every local
 * user: in a private folder no one else can plant a file or a symlink where a segment or the worker's
 * log will be created, nor read them. Folders of sessions whose Node process died without cleaning up
 * (SIGKILL) are removed by the next session that starts.
 */
import { accessSync, constants, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shmError } from './segments.js';

/** The name every session folder (and, before folders, every session file) starts with. */
const SESSION_NAME = /^recognite-(\d+)-/;

/** The folder for segment files: the option, else $RECOGNITE_SHM_DIR, else /dev/shm when writable, else the OS temp folder. */
export function chooseShmDir(option?: string): string {
  const explicit = option ?? process.env.RECOGNITE_SHM_DIR;
  if (explicit) return explicit;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** Make this session's private folder in `base`. */
export function makeSessionDir(base: string): string {
  try {
    return mkdtempSync(join(base, `recognite-${process.pid}-`));
  } catch (err) {
    throw shmError(err, 'creating the session folder', base);
  }
}

/** Remove a session folder and everything in it (synchronous: it runs from exit handlers). */
export function removeSessionDir(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // gone already
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, but another user's
  }
}

/**
 * Remove what sessions of this user left in `base` when their Node process died without cleaning
 * up: folders (and older loose files) named recognite-<pid>-… whose process is gone.
 * @returns the names removed
 */
export function sweepDeadSessions(base: string): string[] {
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return [];
  }
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    const pid = Number(SESSION_NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    try {
      if (uid !== undefined && lstatSync(join(base, name)).uid !== uid) continue; // never another user's
      rmSync(join(base, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // raced with its owner or another sweep
    }
  }
  return removed;
}
