/** Shared helpers of the TS tests: child Node scripts, session files, timing. */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** A full garbage collection now (finalisers and external-memory tests need it). */
export const gc = runInNewContext('gc') as () => void;

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Files of a session (segments, worker log) still present in its folder (none once the folder is gone). */
export function sessionFiles(dir: string, prefix: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((name) => name.startsWith(`${prefix}-`));
}

/** Whether a process id is alive. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Poll `check` until it is true or `timeoutMs` passes; returns its last value. */
export async function waitFor(check: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A TS fixture (test/fixtures/NAME.ts) in a child Node process, as a user's script would run. */
export function startFixture(name: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'test', 'fixtures', `${name}.ts`)],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildRun>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    }),
  );
  /** Resolves with the first stdout line that parses as JSON. */
  const firstJson = (): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const onData = (): void => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line) {
          child.stdout.off('data', onData);
          resolve(JSON.parse(line) as Record<string, unknown>);
        }
      };
      child.stdout.on('data', onData);
      onData();
      child.on('exit', () => {
        reject(new Error(`fixture ${name} exited before printing JSON:\n${stderr}`));
      });
    });
  return { child, done, firstJson };
}

/** Run a fixture to the end, failing after `timeoutMs` (a hang is a failure, not a stuck suite). */
export async function runFixture(name: string, timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<ChildRun> {
  const { child, done } = startFixture(name, env);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const result = await done;
  clearTimeout(timer);
  return result;
}
