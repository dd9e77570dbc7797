// Transfer benchmark: how fast tensors cross the Node <-> Python boundary.
//
//   npm run bench:transfer
//
// Measures, in one run:
//  - rt.echo(tensor) round trips of float32 tensors (1, 16, 64, 256 MiB) through the shared-memory arena;
//  - the same 1 MiB through plain pythonia JSON (a list of numbers out and back, no shared memory);
//  - in-process Buffer.copy of the same sizes: the memcpy ceiling of this machine;
//  - p50 / p99 latency of an empty worker call (rt.invoke('ping', {})).
//
// Throughput is payload bytes / round-trip seconds, with GB = 10^9 bytes and MiB = 2^20 bytes: a round trip
// moves the payload out and back, so "1 GB/s" means a 1 GB tensor goes to Python and comes back in one second.
// Every number is the median of several timed repetitions after untimed warm-up ones. Exits 0 whatever it measures.
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Recognite, Tensor, type WorkerInfo } from 'recognite-ts';

const MiB = 1024 * 1024;
const GB = 1e9;

/** Payload sizes, with warm-up and timed repetitions for each. */
const SIZES = [
  { mib: 1, warmup: 5, reps: 30 },
  { mib: 16, warmup: 3, reps: 15 },
  { mib: 64, warmup: 3, reps: 10 },
  { mib: 256, warmup: 2, reps: 5 },
];
const JSON_MIB = 1;
const JSON_WARMUP = 1;
const JSON_REPS = 5;
const PING_WARMUP = 200;
const PING_CALLS = 2000;
const TARGET_64_GBPS = 1.5;
const TARGET_P50_MS = 0.3;

interface Timing {
  reps: number;
  /** Median milliseconds per operation. */
  medianMs: number;
  minMs: number;
  maxMs: number;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

/** Percentile by linear interpolation between the closest ranks. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

async function time(warmup: number, reps: number, fn: () => unknown): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { reps, medianMs: median(ms), minMs: Math.min(...ms), maxMs: Math.max(...ms) };
}

const gbps = (bytes: number, ms: number): number => bytes / GB / (ms / 1000);
const fmt = (x: number, digits = 3): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');

function randomFloats(count: number): Float32Array {
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = Math.random();
  return data;
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  const view = (x: ArrayBufferView): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  return view(a).equals(view(b));
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

// --- 1. in-process Buffer.copy: the ceiling ------------------------------------------
const copyTimings = new Map<number, Timing>();
for (const { mib, warmup, reps } of SIZES) {
  const src = Buffer.alloc(mib * MiB, 1);
  const dst = Buffer.alloc(mib * MiB);
  copyTimings.set(mib, await time(warmup, reps * 2, () => src.copy(dst)));
}

// --- 2. shared-memory arena round trips and empty calls ------------------------------
const rt = await Recognite.start();
let info: WorkerInfo;
const arenaTimings = new Map<number, Timing>();
const arenaOutTimings = new Map<number, Timing>();
let arenaMode = '';
let ping: { p50: number; p99: number; mean: number; max: number };
try {
  info = await rt.info();
  arenaMode = rt.sharedMemory.mode;
  for (const { mib, warmup, reps } of SIZES) {
    const tensor = new Tensor(randomFloats((mib * MiB) / 4), [(mib * MiB) / 4]);
    const back = await rt.echo(tensor);
    if (!sameBytes(tensor.data, back.data)) throw new Error(`echo of ${mib} MiB came back different`);
    arenaTimings.set(mib, await time(warmup, reps, () => rt.echo(tensor)));
    const out = new Tensor(new Float32Array(tensor.size), tensor.shape);
    arenaOutTimings.set(mib, await time(warmup, reps, () => rt.echo(tensor, { out })));
    if (!sameBytes(tensor.data, out.data)) throw new Error(`echo into out of ${mib} MiB came back different`);
  }

  for (let i = 0; i < PING_WARMUP; i++) await rt.invoke('ping', {});
  const ms: number[] = [];
  for (let i = 0; i < PING_CALLS; i++) {
    const t0 = performance.now();
    await rt.invoke('ping', {});
    ms.push(performance.now() - t0);
  }
  ping = {
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    mean: ms.reduce((a, b) => a + b, 0) / ms.length,
    max: Math.max(...ms),
  };
} finally {
  await rt.close();
}

// --- 3. plain pythonia JSON, no shared memory ----------------------------------------
// pythonia runs one Python process per Node process: only now that the worker is closed may the bench use it.
interface PyProxy<T> {
  valueOf(): Promise<T>;
}
interface JsonEchoModule {
  echo(xs: number[]): Promise<PyProxy<number[]>>;
}
type Pythonia = { python: ((file: string) => Promise<JsonEchoModule>) & { exit(): void } };

process.env.PYTHON_BIN = info.pythonExecutable;
const { python } = createRequire(import.meta.url)('pythonia') as Pythonia;
let jsonTiming: Timing;
let jsonTextBytes: number;
try {
  const mod = await python(fileURLToPath(new URL('./json_echo.py', import.meta.url)));
  const data = randomFloats((JSON_MIB * MiB) / 4);
  const list = Array.from(data);
  jsonTextBytes = Buffer.byteLength(JSON.stringify(list));
  const roundTrip = async (): Promise<number[]> => (await mod.echo(Array.from(data))).valueOf();
  const back = await roundTrip();
  if (back.length !== list.length || back.some((v, i) => v !== list[i])) {
    throw new Error('JSON echo came back different');
  }
  jsonTiming = await time(JSON_WARMUP, JSON_REPS, roundTrip);
} finally {
  python.exit();
}

// --- report ---------------------------------------------------------------------------
const cpu = cpus();
console.log('## Machine\n');
console.log(
  table(
    ['fact', 'value'],
    [
      ['date', new Date().toISOString()],
      ['node', process.version],
      ['os', `${platform()} ${release()} ${arch()}`],
      ['cpus', `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown'}`],
      ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB`],
      ['python', `${info.python} (${info.pythonExecutable})`],
      ['torch', `${info.torch} (torchvision ${info.torchvision}, numpy ${info.numpy})`],
      ['device', `${info.device}${info.cuda ? ` (${info.cudaDevices} CUDA device(s))` : ' (no CUDA)'}`],
      ['torch threads', String(info.threads)],
      [
        'arena mode',
        `${arenaMode} (${arenaMode === 'mapped' ? 'native add-on: Node maps the segments' : 'no add-on: positional file I/O'})`,
      ],
    ],
  ),
);

console.log(
  '\n## Transfer (round trip = Node → Python → Node; GB/s = payload bytes / round-trip seconds, GB = 1e9 B)\n',
);
const rows: string[][] = [];
for (const { mib } of SIZES) {
  const bytes = mib * MiB;
  const copy = copyTimings.get(mib)!;
  const variants: Array<[string, Timing]> = [
    ['arena, result in new memory (`rt.echo(t)`)', arenaTimings.get(mib)!],
    ['arena, result into a reused tensor (`rt.echo(t, { out })`)', arenaOutTimings.get(mib)!],
  ];
  for (const [label, arena] of variants) {
    rows.push([
      `${mib} MiB`,
      label,
      String(arena.reps),
      `${fmt(arena.medianMs)} (${fmt(arena.minMs)}–${fmt(arena.maxMs)})`,
      fmt(gbps(bytes, arena.medianMs), 2),
      fmt(gbps(bytes, copy.medianMs), 2),
      `${fmt((100 * gbps(bytes, arena.medianMs)) / gbps(bytes, copy.medianMs), 1)} %`,
    ]);
  }
}
rows.push([
  `${JSON_MIB} MiB`,
  `plain pythonia JSON (${(jsonTextBytes / MiB).toFixed(1)} MiB of JSON text each way)`,
  String(jsonTiming.reps),
  `${fmt(jsonTiming.medianMs, 1)} (${fmt(jsonTiming.minMs, 1)}–${fmt(jsonTiming.maxMs, 1)})`,
  fmt(gbps(JSON_MIB * MiB, jsonTiming.medianMs), 4),
  fmt(gbps(JSON_MIB * MiB, copyTimings.get(JSON_MIB)!.medianMs), 2),
  `${fmt((100 * copyTimings.get(JSON_MIB)!.medianMs) / jsonTiming.medianMs, 3)} %`,
]);
console.log(
  table(
    [
      'payload (float32)',
      'path',
      'reps',
      'ms / round trip, median (min–max)',
      'round trip GB/s',
      'Buffer.copy GB/s (ceiling)',
      'round trip / Buffer.copy',
    ],
    rows,
  ),
);

console.log('\n## Buffer.copy in process (memcpy ceiling)\n');
console.log(
  table(
    ['size', 'reps', 'ms / copy, median', 'GB/s'],
    SIZES.map(({ mib }) => {
      const t = copyTimings.get(mib)!;
      return [`${mib} MiB`, String(t.reps), fmt(t.medianMs), fmt(gbps(mib * MiB, t.medianMs), 2)];
    }),
  ),
);

console.log(`\n## Empty worker call (\`rt.invoke('ping', {})\`, ${PING_CALLS} calls after ${PING_WARMUP} warm-up)\n`);
console.log(
  table(['p50 ms', 'p99 ms', 'mean ms', 'max ms'], [[fmt(ping.p50), fmt(ping.p99), fmt(ping.mean), fmt(ping.max)]]),
);

const gbps64 = gbps(64 * MiB, arenaTimings.get(64)!.medianMs);
const gbps64Out = gbps(64 * MiB, arenaOutTimings.get(64)!.medianMs);
const copy64 = gbps(64 * MiB, copyTimings.get(64)!.medianMs);
console.log('\n## Targets (information only)\n');
console.log(
  table(
    ['metric', 'measured', 'target', 'result'],
    [
      [
        '64 MiB arena round trip, result in new memory',
        `${fmt(gbps64, 2)} GB/s`,
        `>= ${TARGET_64_GBPS} GB/s`,
        verdict(gbps64 >= TARGET_64_GBPS),
      ],
      [
        '64 MiB arena round trip, result into a reused tensor',
        `${fmt(gbps64Out, 2)} GB/s`,
        `>= ${TARGET_64_GBPS} GB/s`,
        verdict(gbps64Out >= TARGET_64_GBPS),
      ],
      ['empty call p50', `${fmt(ping.p50)} ms`, `<= ${TARGET_P50_MS} ms`, verdict(ping.p50 <= TARGET_P50_MS)],
      ['64 MiB arena round trip / Buffer.copy', `${fmt((100 * gbps64) / copy64, 1)} %`, '(information)', '—'],
    ],
  ),
);
