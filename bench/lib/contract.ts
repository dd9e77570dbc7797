// The contract between `npm run bench` (bench/run-all.ts) and each benchmark script it runs as a
// child process: a script always prints its tables; when the orchestrator sets BENCH_REPORT it also
// writes its markdown fragment there, and when it sets BENCH_SUMMARY, one row per goal as JSON.
// BENCH_QUICK=1 asks for a small smoke-sized run (nothing is written to the docs then).
import { writeFileSync } from 'node:fs';

/** One goal of one benchmark, as the summary table at the top of docs/BENCHMARKS.md shows it. */
export interface SummaryRow {
  benchmark: string;
  work: string;
  goal: string;
  measured: string;
  met: boolean;
}

/** True when the orchestrator asked for a smoke-sized run. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Print the fragment and hand it to the orchestrator when it asked for it. */
export function report(markdown: string, rows: SummaryRow[]): void {
  console.log(markdown);
  if (process.env.BENCH_REPORT) writeFileSync(process.env.BENCH_REPORT, markdown.trimEnd() + '\n');
  if (process.env.BENCH_SUMMARY) writeFileSync(process.env.BENCH_SUMMARY, JSON.stringify(rows, null, 2));
}

/** The median of a non-empty list (the upper one of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** A markdown table from a header and rows of cells. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A ratio as the tables print it. */
export const ratio = (value: number): string => `${value.toFixed(2)}×`;
