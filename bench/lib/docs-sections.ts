// Rewriting the generated parts of docs/BENCHMARKS.md: each lives between
// `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers, so hand-written text around them stays.

/** The start and end markers of section `name`. */
export function markers(name: string): [string, string] {
  return [`<!-- bench:${name} -->`, `<!-- /bench:${name} -->`];
}

/**
 * `doc` with the text between section `name`'s markers replaced by `body`. A section that is not
 * there yet is appended at the end, under `heading`. Markers that are out of order or repeated are
 * an error: guessing would overwrite hand-written text.
 */
export function replaceSection(doc: string, name: string, body: string, heading: string): string {
  const [start, end] = markers(name);
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  const inner = `${start}\n${body.trim()}\n${end}`;
  if (from === -1 && to === -1) return `${doc.trimEnd()}\n\n${heading}\n\n${inner}\n`;
  if (from === -1 || to === -1 || to < from || doc.indexOf(start, from + 1) !== -1 || doc.indexOf(end, to + 1) !== -1) {
    throw new Error(`docs/BENCHMARKS.md: the markers of section "${name}" are missing, repeated or out of order`);
  }
  return doc.slice(0, from) + inner + doc.slice(to + end.length);
}

const ROWS = /<!-- rows (\[.*?\]) -->/s;

/** A section's body with its summary rows kept in a comment, so the summary can be rebuilt from the file. */
export function withRows(body: string, rows: unknown[]): string {
  return `${body.trim()}\n\n<!-- rows ${JSON.stringify(rows)} -->`;
}

/** The summary rows kept in section `name`, or none when it has not run yet. */
export function storedRows<T>(doc: string, name: string): T[] {
  const [start, end] = markers(name);
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to === -1) return [];
  const found = ROWS.exec(doc.slice(from, to));
  return found ? (JSON.parse(found[1]!) as T[]) : [];
}
