// `npm run bench`: every benchmark, each side by side with a plain-PyTorch script doing the same work
// in the same run, then the generated tables of docs/BENCHMARKS.md rewritten (machine, versions,
// commands, medians and ratios). Each benchmark runs in its own process (bench/lib/contract.ts).
//   npm run bench                           all of them, docs rewritten (about 15 minutes here)
//   npm run bench -- --only train,evaluate  some of them (the summary keeps the others' last rows)
//   npm run bench -- --quick                smoke-sized runs, nothing written
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Recognite } from 'recognite-ts';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';
import { table, type SummaryRow } from './lib/contract.js';
import { replaceSection, storedRows, withRows } from './lib/docs-sections.js';

interface Benchmark {
  name: string;
  heading: string;
  command: string[];
  env?: Record<string, string>;
}

const tsx = (script: string): string[] => [process.execPath, '--conditions=source', '--import', 'tsx', script];
const BENCHMARKS: Benchmark[] = [
  { name: 'transfer', heading: '### Transfer, with the native add-on', command: tsx('bench/transfer.ts') },
  {
    name: 'transfer-file-io',
    heading: '### Transfer, without the add-on (`RECOGNITE_NO_NATIVE=1`)',
    command: tsx('bench/transfer.ts'),
    env: { RECOGNITE_NO_NATIVE: '1' },
  },
  { name: 'embed-tensors', heading: '### Embed tensors', command: tsx('bench/embed_tensors.ts') },
  { name: 'embed-files', heading: '### Embed files', command: tsx('bench/embed_files.ts') },
  { name: 'train', heading: '### Train', command: tsx('bench/train.ts') },
  {
    name: 'evaluate',
    heading: '### Evaluate',
    command: [process.execPath, 'scripts/py.mjs', 'bench/evaluate_scale.py'],
  },
  { name: 'cold-start', heading: '### Cold start', command: tsx('bench/cold_start.ts') },
  {
    name: 'gallery',
    heading: '### Gallery search',
    command: [process.execPath, 'scripts/py.mjs', 'bench/gallery_search.py'],
  },
  { name: 'onnx', heading: '### Embeddings without Python (ONNX)', command: tsx('bench/onnx_embed.ts') },
];

const { values } = parseArgs({
  options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } },
});
const wanted = values.only?.split(',').map((s) => s.trim()) ?? BENCHMARKS.map((b) => b.name);
const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}: choose from ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  process.exit(2);
}

/** Run one benchmark; its fragment and rows, or a row saying how it failed. */
function run(bench: Benchmark, dir: string): { fragment?: string; rows: SummaryRow[] } {
  const reportPath = join(dir, `${bench.name}.md`);
  const summaryPath = join(dir, `${bench.name}.json`);
  console.log(`\n=== ${bench.name}: ${bench.command.slice(bench.command.length - 1).join(' ')}`);
  const started = Date.now();
  const result = spawnSync(bench.command[0]!, bench.command.slice(1), {
    cwd: PACKAGE_ROOT,
    stdio: 'inherit',
    env: {
      ...process.env,
      ...bench.env,
      BENCH_REPORT: reportPath,
      BENCH_SUMMARY: summaryPath,
      BENCH_QUICK: values.quick ? '1' : '0',
    },
  });
  console.log(`=== ${bench.name}: ${((Date.now() - started) / 1000).toFixed(0)} s, exit ${result.status}`);
  if (result.status !== 0 || !existsSync(reportPath) || !existsSync(summaryPath)) {
    const why =
      result.error?.message ?? (result.status !== 0 ? `exit ${result.status ?? result.signal}` : 'wrote no report');
    return { rows: [{ benchmark: bench.name, work: '', goal: '', measured: `failed: ${why}`, met: false }] };
  }
  const rows = JSON.parse(readFileSync(summaryPath, 'utf8')) as SummaryRow[];
  if (bench.env?.RECOGNITE_NO_NATIVE) for (const row of rows) row.benchmark += ' (no add-on)';
  return { fragment: readFileSync(reportPath, 'utf8'), rows };
}

async function machine(): Promise<string> {
  await using rt = await Recognite.start({ device: 'cpu' });
  const info = await rt.info();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return (
    `Last run ${new Date().toISOString().slice(0, 10)} (each section says when it was measured) on ${cpus().length} × ${cpu}, ` +
    `${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}, Node ${process.version}, Python ${info.python}, ` +
    `torch ${info.torch}, torchvision ${info.torchvision}, ${info.threads} torch threads, device ${info.device}.`
  );
}

const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-run-'));
try {
  const header = await machine();
  const results = BENCHMARKS.filter((b) => wanted.includes(b.name)).map((b) => ({ bench: b, ...run(b, dir) }));
  const rows = results.flatMap((r) => r.rows);
  const summaryOf = (all: SummaryRow[]): string =>
    table(
      ['benchmark', 'work', 'goal', 'measured', 'met'],
      all.map((r) => [r.benchmark, r.work, r.goal, r.measured, r.met ? 'yes' : '**no**']),
    );
  console.log(`\n${header}\n\n${summaryOf(rows)}`);
  if (values.quick) {
    console.log('\n(--quick: smoke-sized runs; docs/BENCHMARKS.md left as it is)');
  } else {
    const path = join(PACKAGE_ROOT, 'docs', 'BENCHMARKS.md');
    let doc = readFileSync(path, 'utf8');
    const today = new Date().toISOString().slice(0, 10);
    for (const r of results) {
      if (r.fragment)
        doc = replaceSection(
          doc,
          r.bench.name,
          withRows(`Measured ${today}.\n\n${r.fragment}`, r.rows),
          r.bench.heading,
        );
    }
    // the summary is rebuilt from the rows every section keeps, so a partial run keeps it whole
    const all = BENCHMARKS.flatMap((b) => storedRows<SummaryRow>(doc, b.name));
    doc = replaceSection(doc, 'summary', `${header}\n\n${summaryOf(all)}`, '## Side by side with plain PyTorch');
    writeFileSync(path, doc);
    console.log(
      `\ndocs/BENCHMARKS.md rewritten (${results.filter((r) => r.fragment).length} sections and the summary).`,
    );
  }
  if (rows.some((r) => r.measured.startsWith('failed'))) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
