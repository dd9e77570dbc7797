/** "Did you mean …?": the valid names nearest to a wrong one, by edit distance. */

/** Levenshtein distance, case-insensitive (two reused rows: no allocation per call beyond them). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = new Uint32Array(t.length + 1);
  let cur = new Uint32Array(t.length + 1);
  for (let j = 0; j <= t.length; j++) prev[j] = j;
  for (let i = 1; i <= s.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= t.length; j++) {
      const cost = s.charCodeAt(i - 1) === t.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[t.length] ?? 0;
}

/** Up to `k` candidates nearest to `name`, closest first; only those reasonably close. */
export function nearest(name: string, candidates: readonly string[], k = 3): string[] {
  const squash = (x: string): string => x.toLowerCase().replace(/[-_\s.]/g, '');
  const scored = candidates.map((c) => ({
    c,
    d: squash(c) === squash(name) ? 0 : editDistance(name, c),
  }));
  const limit = Math.max(2, Math.ceil(name.length / 3));
  return scored
    .filter(({ d }) => d <= limit)
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c))
    .slice(0, k)
    .map(({ c }) => c);
}

/** " (did you mean 'a' or 'b'?)" or an empty string. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const near = nearest(name, candidates);
  if (near.length === 0) return '';
  const quoted = near.map((n) => `'${n}'`);
  return ` (did you mean ${quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}` : quoted[0]}?)`;
}
