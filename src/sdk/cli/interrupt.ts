/**
 * Ctrl-C in the CLI: the first one stops the running job cleanly (fit stops after its current batch,
 * keeping the last epoch's checkpoint; the worker closes and its shared memory goes); a second one
 * quits at once (the SDK's exit hook still kills the worker and removes its files). Exit code 130.
 */

/** Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const INTERRUPTED_EXIT_CODE = 130;

export interface Interrupt extends Disposable {
  /** Aborted on the first Ctrl-C: pass it to the SDK call as `signal`. */
  readonly signal: AbortSignal;
  readonly interrupted: boolean;
}

export function onCtrlC(stream: NodeJS.WritableStream = process.stderr): Interrupt {
  const controller = new AbortController();
  const handler = (): void => {
    if (controller.signal.aborted) {
      stream.write('\nquitting now\n');
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    stream.write('\nstopping after the current step (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', handler);
  return {
    signal: controller.signal,
    get interrupted() {
      return controller.signal.aborted;
    },
    [Symbol.dispose]() {
      process.off('SIGINT', handler);
    },
  };
}
