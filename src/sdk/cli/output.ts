/** How CLI commands print: a table for people, JSON for machines (`--json`). */

export interface Printer {
  json: boolean;
}

/** Print rows as an aligned table (people) or the value as JSON (machines). */
export function printTable(out: Printer, value: unknown, headers: string[], rows: string[][]): void {
  if (out.json) {
    console.log(JSON.stringify(value));
    return;
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  console.log(line(headers));
  for (const row of rows) console.log(line(row));
}

/** Print a record as "key value" lines (people) or JSON (machines). */
export function printRecord(out: Printer, value: Record<string, unknown>): void {
  if (out.json) {
    console.log(JSON.stringify(value));
    return;
  }
  const width = Math.max(...Object.keys(value).map((k) => k.length));
  for (const [key, v] of Object.entries(value)) console.log(`${key.padEnd(width)}  ${shown(v)}`);
}

/** A value for people: fractions to 4 decimals, the rest as it is. */
function shown(v: unknown): string {
  return typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toFixed(4))) : String(v);
}
