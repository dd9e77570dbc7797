/**
 * How long work shows its progress: a bar (cli-progress) with the phase, counts, speed and ETA on a
 * terminal; plain periodic lines when stderr is a file or a pipe (CI logs); nothing with --json.
 * Everything goes to stderr, so stdout holds only the result.
 */
import cliProgress from 'cli-progress';

export interface ProgressUpdate {
  /** What is being done ("epoch 2/5", "embedding"). */
  phase: string;
  done: number;
  total: number;
  /** What else to show (the loss). */
  detail?: string;
  /** Items per second, when the work knows better than done / elapsed. */
  rate?: number;
  /** Seconds left, when the work knows better than the rate does. */
  etaSeconds?: number;
  /** The unit of `rate` ("img/s"). */
  unit?: string;
}

export interface Progress {
  /** The work starts now (rates are measured from here, not from the worker's start). */
  begin(): void;
  update(update: ProgressUpdate): void;
  /** A line of its own (an epoch's summary), kept above the bar. */
  log(line: string): void;
  stop(): void;
}

export interface ProgressMode {
  json: boolean;
  /** Where it goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Plain mode: at most one line per this many milliseconds (default 5000). */
  intervalMs?: number;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/**
 * Rate and ETA of an update: the work's own figures, else measured since its phase began, which is
 * when the previous phase last reported (the first report of a phase may already count many items).
 */
class Clock {
  private phase = '';
  private started = performance.now();
  private last = this.started;

  begin(): void {
    this.phase = '';
    this.last = performance.now();
  }

  measure(u: ProgressUpdate): { rate: number; eta: number } {
    const now = performance.now();
    if (u.phase !== this.phase) {
      this.phase = u.phase;
      this.started = this.last;
    }
    this.last = now;
    const seconds = (now - this.started) / 1000;
    const rate = u.rate ?? (seconds > 0.05 ? u.done / seconds : Number.NaN);
    return { rate, eta: u.etaSeconds ?? (rate > 0 ? (u.total - u.done) / rate : Number.NaN) };
  }
}

/** "12 img/s", or "? img/s" before there is anything to measure. */
function speed(rate: number, unit = 'img/s'): string {
  return `${Number.isFinite(rate) ? rate.toFixed(rate < 10 ? 1 : 0) : '?'} ${unit}`;
}

export function createProgress(mode: ProgressMode): Progress {
  const stream = mode.stream ?? process.stderr;
  if (mode.json)
    return { begin: () => undefined, update: () => undefined, log: () => undefined, stop: () => undefined };
  return stream.isTTY ? barProgress(stream) : lineProgress(stream, mode.intervalMs ?? 5000);
}

/** One bar per phase (an epoch, a side being embedded); a finished phase's bar stays on screen above the next. */
function barProgress(stream: NodeJS.WriteStream): Progress {
  const clock = new Clock();
  let bar: cliProgress.SingleBar | undefined;
  let phase = '';
  const close = (): void => {
    bar?.stop();
    bar = undefined;
  };
  return {
    begin() {
      clock.begin();
    },
    update(u) {
      const { rate, eta } = clock.measure(u);
      const payload = {
        phase: u.phase,
        detail: u.detail ? `| ${u.detail} ` : '',
        speed: speed(rate, u.unit),
        left: duration(eta),
      };
      if (!bar || u.phase !== phase) {
        close();
        phase = u.phase;
        bar = new cliProgress.SingleBar(
          {
            stream,
            format: '{phase} [{bar}] {percentage}% {value}/{total} {detail}| {speed} | ETA {left}',
            hideCursor: true,
            barsize: 30,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(u.total, u.done, payload);
      } else {
        bar.setTotal(u.total);
        bar.update(u.done, payload);
      }
    },
    log(line) {
      close();
      stream.write(`${line}\n`);
    },
    stop() {
      close();
    },
  };
}

function lineProgress(stream: NodeJS.WriteStream, intervalMs: number): Progress {
  const clock = new Clock();
  let last = -Infinity;
  let phase = '';
  return {
    begin() {
      clock.begin();
    },
    update(u) {
      const { rate, eta } = clock.measure(u);
      const now = performance.now();
      const finished = u.done >= u.total;
      if (u.phase === phase && !finished && now - last < intervalMs) return;
      phase = u.phase;
      last = now;
      const percent = u.total > 0 ? Math.floor((100 * u.done) / u.total) : 100;
      stream.write(
        `${u.phase}: ${u.done}/${u.total} (${percent}%)${u.detail ? `, ${u.detail}` : ''}, ` +
          `${speed(rate, u.unit)}, ETA ${duration(eta)}\n`,
      );
    },
    log(line) {
      stream.write(`${line}\n`);
    },
    stop() {
      return undefined;
    },
  };
}
