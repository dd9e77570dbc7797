/**
 * Exact search in TypeScript, with the worker's semantics (py_bridge/gallery/search.py, rows.py,
 * evaluation/scoring.py): larger scores are more similar for every metric (distances are negated),
 * rows are stored ready for the metric, and the k best come out best first. Products are summed in
 * float64 and rounded to float32, so scores agree with torch's float32 ones to about 1e-7.
 */
import type { Label } from '../gallery/results.js';
import type { Metric } from './gallery-folder.js';

/** F.normalize: each row divided by max(its norm, 1e-12), in float32 (cosine only). */
export function prepare(x: Float32Array, dim: number, metric: Metric): Float32Array {
  if (metric !== 'cosine') return x;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / dim; r++) {
    let sq = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) sq += (x[j] as number) * (x[j] as number);
    const norm = Math.max(Math.fround(Math.sqrt(sq)), 1e-12);
    for (let j = r * dim; j < (r + 1) * dim; j++) out[j] = (x[j] as number) / norm;
  }
  return out;
}

/** The labels in the order the worker's encode_labels gives them: sorted when they can be, else as they come. */
function orderedLabels(labels: readonly Label[]): Label[] {
  const unique = [...new Set(labels)];
  if (unique.every((l) => typeof l === 'number')) return unique.sort((a, b) => a - b);
  if (unique.every((l) => typeof l === 'string')) {
    // Python compares strings by code point
    return unique.sort((a, b) => {
      const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
      const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
      return x.length - y.length;
    });
  }
  return unique;
}

/** One averaged reference per label (sorted label order), re-normalised for cosine: evaluation/scoring.py average_references. */
export function averageReferences(
  rows: Float32Array,
  labels: readonly Label[],
  dim: number,
  metric: Metric,
): { vectors: Float32Array; labels: Label[] } {
  const names = orderedLabels(labels);
  const id = new Map(names.map((n, i) => [n, i]));
  const sums = new Float32Array(names.length * dim); // float32 as torch's index_add_
  const counts = new Float32Array(names.length);
  labels.forEach((label, r) => {
    const i = id.get(label) as number;
    counts[i] = (counts[i] as number) + 1;
    for (let j = 0; j < dim; j++) sums[i * dim + j] = (sums[i * dim + j] as number) + (rows[r * dim + j] as number);
  });
  for (let i = 0; i < names.length; i++) {
    for (let j = 0; j < dim; j++) sums[i * dim + j] = (sums[i * dim + j] as number) / (counts[i] as number);
  }
  return { vectors: prepare(sums, dim, metric), labels: names };
}

/** Squared norms of rows, for the distance metrics. */
function squaredNorms(x: Float32Array, dim: number): Float64Array {
  const out = new Float64Array(x.length / dim);
  for (let r = 0; r < out.length; r++) {
    let s = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) s += (x[j] as number) * (x[j] as number);
    out[r] = Math.fround(s);
  }
  return out;
}

/** The score of a query against a reference from their product (and squared norms for distances). */
function score(dot: number, qSq: number, gSq: number, metric: Metric): number {
  if (metric === 'cosine' || metric === 'inner') return Math.fround(dot);
  const sq = Math.max(Math.fround(qSq + gSq - 2 * Math.fround(dot)), 0);
  return metric === 'euclid' ? -Math.fround(Math.sqrt(sq)) : -sq;
}

/**
 * The k best references of each prepared query: queries × k scores and rows, best first.
 * Equal scores keep the lower row first.
 */
export function topK(
  queries: Float32Array,
  refs: Float32Array,
  dim: number,
  k: number,
  metric: Metric,
): { scores: Float32Array; rows: Int32Array; k: number } {
  const n = queries.length / dim;
  const m = refs.length / dim;
  const kk = Math.min(k, m);
  const scores = new Float32Array(n * kk);
  const rows = new Int32Array(n * kk);
  const distances = metric === 'euclid' || metric === 'sq_euclid';
  const gSq = distances ? squaredNorms(refs, dim) : null;
  for (let q = 0; q < n; q++) {
    const base = q * dim;
    let qSq = 0;
    if (distances) for (let j = 0; j < dim; j++) qSq += (queries[base + j] as number) * (queries[base + j] as number);
    qSq = Math.fround(qSq);
    // the k best so far, best first, kept by insertion: rows come in order, so a tie never displaces
    const top = q * kk;
    let held = 0;
    for (let r = 0; r < m; r++) {
      let dot = 0;
      const off = r * dim;
      for (let j = 0; j < dim; j++) dot += (queries[base + j] as number) * (refs[off + j] as number);
      const s = score(dot, qSq, gSq ? (gSq[r] as number) : 0, metric);
      if (held === kk && !(s > (scores[top + kk - 1] as number))) continue;
      let at = held < kk ? held++ : kk - 1;
      while (at > 0 && s > (scores[top + at - 1] as number)) {
        scores[top + at] = scores[top + at - 1] as number;
        rows[top + at] = rows[top + at - 1] as number;
        at--;
      }
      scores[top + at] = s;
      rows[top + at] = r;
    }
  }
  return { scores, rows, k: kk };
}

/** The score of each pair (a[i], b[i]) of prepared embeddings: search.py pair_scores. */
export function pairScores(a: Float32Array, b: Float32Array, dim: number, metric: Metric): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length / dim; i++) {
    let s = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) {
      const x = a[j] as number;
      const y = b[j] as number;
      s += metric === 'cosine' || metric === 'inner' ? x * y : (x - y) * (x - y);
    }
    const f = Math.fround(s);
    out.push(metric === 'euclid' ? -Math.fround(Math.sqrt(f)) : metric === 'sq_euclid' ? -f : f);
  }
  return out;
}
