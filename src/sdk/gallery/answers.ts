/** identify()'s per-query answers, assembled from the worker's tensors (labels sent once each). */
import type { IdentifyRaw, Match, QueryAnswer } from './results.js';

export function answersOf(raw: IdentifyRaw): QueryAnswer[] {
  const [n, k] = raw.scores.shape as [number, number];
  const scores = raw.scores.data;
  const rows = raw.rows.data;
  const index = raw.labelIndex.data;
  const answers: QueryAnswer[] = new Array<QueryAnswer>(n);
  for (let q = 0; q < n; q++) {
    const matches: Match[] = [];
    for (let j = q * k; j < (q + 1) * k; j++) {
      const label = index[j] as number;
      if (label >= 0)
        matches.push({
          label: raw.labels[label] as Match['label'],
          score: scores[j] as number,
          row: rows[j] as number,
        });
    }
    const verdict = raw.verdict.data[q] as number;
    answers[q] = {
      label: verdict >= 0 ? (raw.labels[verdict] as Match['label']) : null,
      score: raw.verdictScore.data[q] as number,
      matches,
    };
  }
  return answers;
}
