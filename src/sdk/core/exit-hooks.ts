/**
 * Last-resort clean-up when Node goes away without `close()`: normal exit, SIGINT,
 * SIGTERM, or an uncaught exception. Each registered action is synchronous (kill
 * the worker, unlink shared-memory files). Signal handlers re-raise the signal once
 * they ran, so the process still ends the way it would have without this SDK. When the
 * application listens for the signal itself (a graceful shutdown, the CLI stopping a job on
 * Ctrl-C), the signal is left to it: it closes or exits, and the exit hook cleans up then.
 */
type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function runAll(): void {
  for (const fn of [...cleanups]) {
    try {
      fn();
    } catch {
      // keep cleaning the rest
    }
  }
  cleanups.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the application handles it
  runAll();
  uninstall();
  // Only re-raise when nobody else handles the signal, as Node itself would have died.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', runAll);
  process.on('uncaughtExceptionMonitor', runAll); // observes without changing Node's crash behaviour
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', runAll);
  process.off('uncaughtExceptionMonitor', runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Run `fn` if the process ends before the returned function is called. */
export function onProcessExit(fn: Cleanup): () => void {
  if (cleanups.size === 0) install();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
    if (cleanups.size === 0) uninstall();
  };
}
