/**
 * The report as one HTML page: inline CSS, inline SVG charts, data-URI thumbnails; no script, and a
 * Content-Security-Policy that forbids fetching anything, so the file shows the same offline, anywhere.
 * Every piece of text from the report or the caller (labels, paths, titles) goes through `escapeHtml`.
 */
import type { EvaluationReport, RetrievalEntry, RetrievalMatch } from '../evaluation/report.js';
import { MAX_LABELS_SHOWN, formatRate, thresholdMarks, worstLabels, type ChartName } from './charts.js';

/** What the report describes, beyond its numbers. */
export interface ReportContext {
  title: string;
  modelName: string;
  /** Where the weights came from (a checkpoint path, catalog weights, or "random initialisation"). */
  weights: string;
  gallery: string;
  query: string;
  /** Settings of the evaluation worth knowing when reading it (image size, test-time augmentation, …). */
  settings: Array<[string, string]>;
  evaluatedAt: Date;
  writtenAt: Date;
}

/** Text made safe for HTML content and attribute values. */
export function escapeHtml(text: unknown): string {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const pct = (x: number | null): string => (x === null ? '—' : `${(100 * x).toFixed(1)} %`);
const num = (x: number | null, digits = 3): string => (x === null ? '—' : x.toFixed(digits));

/** The headline metrics: name, value, one-line definition. */
function headline(r: EvaluationReport): Array<[string, string, string]> {
  return [
    ['top-1 accuracy', pct(r.accuracy), "the best-scoring gallery item has the query's label"],
    [`top-${r.k} accuracy`, pct(r.topKAccuracy), `one of the ${r.k} best gallery items has the query's label`],
    ['mAP', num(r.mAP), 'mean over queries of average precision; a query without positives counts 0 (recognite)'],
    ['mAP (with positives)', num(r.mAPWithPositives), 'mean AP over the queries whose label is in the gallery'],
    ['mINP', num(r.mINP), "mean of positives / rank of a query's last positive: how hard its hardest match is"],
    [`kNN accuracy (k = ${r.k})`, pct(r.knnAccuracy), `the majority label of the ${r.k} best items is right`],
    ['R-precision', num(r.rPrecision), "precision among the first R items, R = the query's positives"],
    ['MAP@R', num(r.mapAtR), 'mean average precision within the first R items (pytorch-metric-learning)'],
    ['mean max F1', num(r.meanMaxF1.f1), "mean of each query's best F1 over its score thresholds"],
    ['queries / gallery', `${r.numQueries} / ${r.numGallery}`, 'items evaluated (gallery: references when averaged)'],
    ['queries without positives', String(r.queriesWithoutPositives), 'queries whose label has no gallery item'],
  ];
}

function table(rows: string[][], head: string[], cls = ''): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function figure(name: ChartName, svg: string, caption: string): string {
  return `<figure class="chart" data-chart="${name}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

function image(src: string | null | undefined, alt: string): string {
  return src
    ? `<img class="thumb" src="${escapeHtml(src)}" alt="${escapeHtml(alt)}">`
    : `<div class="thumb none" title="no image">${escapeHtml(alt)}</div>`;
}

function matchCell(m: RetrievalMatch, thumbs: Map<string, string | null>): string {
  const verdict = m.correct ? 'correct' : 'wrong';
  const pic = image(m.image ? thumbs.get(m.image) : null, String(m.label));
  return (
    `<td class="match ${verdict}">${pic}<div>${m.correct ? '✓' : '✗'} ${escapeHtml(m.label)}</div>` +
    `<div class="score">${num(m.score)}</div><div class="row">row ${m.row}</div></td>`
  );
}

function gridRow(e: RetrievalEntry, rank: number, thumbs: Map<string, string | null>): string {
  const tag = e.kind === 'worst' ? `worst #${rank}` : `best #${rank}`;
  const ap = e.hasPositives ? `AP ${num(e.ap)}` : 'no positive in the gallery';
  const query =
    `<td class="query"><div class="kind">${escapeHtml(tag)}</div>${image(e.image ? thumbs.get(e.image) : null, String(e.label))}` +
    `<div>${escapeHtml(e.label)}</div><div class="score">${escapeHtml(ap)}</div><div class="row">query ${e.query}</div></td>`;
  return `<tr class="query-row ${e.kind}">${query}${e.matches.map((m) => matchCell(m, thumbs)).join('')}</tr>`;
}

function retrievalSection(r: EvaluationReport, ctx: ReportContext, thumbs: Map<string, string | null>): string {
  if (r.retrieval.length === 0) return '<p class="note">No query to show.</p>';
  const ranks = { worst: 0, best: 0 };
  const rows = r.retrieval.map((e) => gridRow(e, ++ranks[e.kind], thumbs)).join('\n');
  const notes: string[] = [];
  if (r.retrieval.every((e) => e.image === null)) notes.push(`the queries were ${ctx.query}: no query images`);
  if (r.retrieval.every((e) => e.matches.every((m) => m.image === null))) {
    notes.push(`the gallery was ${ctx.gallery}: no gallery images`);
  }
  const failed = [...thumbs.values()].filter((v) => v === null).length;
  if (failed) notes.push(`${failed} image(s) could not be read`);
  const note = notes.length ? `<p class="note">Thumbnails: ${escapeHtml(notes.join('; '))}.</p>` : '';
  const k = Math.max(...r.retrieval.map((e) => e.matches.length));
  return (
    `<p>The ${ranks.worst} queries with the lowest AP (worst first), then the ${ranks.best} with the highest, ` +
    `each with its ${k} best gallery matches: <span class="ok">green ✓</span> has the query's label, ` +
    `<span class="bad">red ✗</span> does not.</p>${note}\n<table class="grid"><tbody>\n${rows}\n</tbody></table>`
  );
}

const CSS = `
body{font:14px/1.45 sans-serif;color:#222;max-width:1180px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;text-align:left;vertical-align:top}
thead th{border-bottom:1px solid #bbb}.metrics td:nth-child(2){font-variant-numeric:tabular-nums;white-space:nowrap}
.charts{display:flex;flex-wrap:wrap;gap:18px}figure{margin:0}figcaption{font-size:12px;color:#555;max-width:380px}
.note{color:#666;font-size:13px}.ok{color:#2e8b57}.bad{color:#c0392b}
.grid td{text-align:center;font-size:12px;padding:4px;border:3px solid transparent}
.grid .query{border-right:1px solid #bbb;min-width:110px}.grid .kind{font-weight:bold}
tr.worst .kind{color:#c0392b}tr.best .kind{color:#2e8b57}
.grid td.correct{border-color:#2e8b57;background:#eef8f1}.grid td.wrong{border-color:#c0392b;background:#fbeeed}
.thumb{width:96px;height:96px;object-fit:contain;display:block;margin:0 auto 2px;background:#f4f4f4}
.thumb.none{display:flex;align-items:center;justify-content:center;color:#888;overflow:hidden}
.score{font-variant-numeric:tabular-nums}.row{color:#888;font-size:11px}
`;

/** The whole page. */
export function renderHtml(
  r: EvaluationReport,
  ctx: ReportContext,
  charts: Record<ChartName, string>,
  thumbs: Map<string, string | null>,
): string {
  const about: string[][] = [
    ['model', ctx.modelName],
    ['weights', ctx.weights],
    ['gallery', ctx.gallery],
    ['queries', ctx.query],
    ['metric', r.metric],
    ...ctx.settings,
    ['evaluated', ctx.evaluatedAt.toISOString()],
    ['report written', ctx.writtenAt.toISOString()],
  ];
  const metrics = headline(r).map(([name, value, def]) => [name, value, def]);
  const marks = thresholdMarks(r).map((m) => [m.name, num(m.threshold, 4)]);
  const { maxF1 } = r.thresholds;
  const thresholdRows = r.thresholds.falseAcceptTargets.map((t) => [
    `FAR ${formatRate(t.far)}`,
    num(t.threshold, 4),
    t.measuredFar === null ? '—' : formatRate(t.measuredFar),
    pct(t.tar),
  ]);
  if (maxF1) thresholdRows.unshift(['max F1', num(maxF1.threshold, 4), '—', pct(maxF1.recall)]);
  const shown = worstLabels(r).length;
  const rated = r.apPerLabel.filter((e) => e.ap !== null).length;
  const capNote =
    rated > shown
      ? `Showing the ${shown} worst of ${rated} labels (at most ${MAX_LABELS_SHOWN}).`
      : `All ${rated} labels, worst first.`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(ctx.title)}</title><style>${CSS}</style></head>
<body>
<h1>${escapeHtml(ctx.title)}</h1>
<section id="about"><h2>What it describes</h2>${table(about, ['', ''], 'about')}</section>
<section id="metrics"><h2>Headline metrics</h2>${table(metrics, ['metric', 'value', 'definition'], 'metrics')}</section>
<section id="curves"><h2>Curves</h2><div class="charts">
${figure('pr-curve', charts['pr-curve'], `Precision-recall: at each recall level, the mean over the ${r.prCurve.queries} queries with a positive of their interpolated precision (the best precision at any threshold reaching that recall).`)}
${figure('cmc', charts.cmc, `CMC: the share of queries whose first correct match is within rank r, for r = 1 … ${r.k}.`)}
</div></section>
<section id="scores"><h2>Score distributions</h2>
<p>Scores of every query–gallery pair: of the same label (positive) and of different labels (negative). Dashed rules: the suggested acceptance thresholds (${escapeHtml(marks.map((m) => m[0]).join(', ') || 'none')}), from each query's best positive and best negative score.</p>
<div class="charts">
${figure('hist-positive', charts['hist-positive'], `${sum(r.pairHistogram.positive)} positive pairs.`)}
${figure('hist-negative', charts['hist-negative'], `${sum(r.pairHistogram.negative)} negative pairs.`)}
</div>
${table(thresholdRows, ['threshold', 'score', 'false-accept rate', 'true-accept rate'], 'thresholds')}
</section>
<section id="labels"><h2>Average precision per label</h2><p class="note">${escapeHtml(capNote)}</p>
${figure('ap-per-label', charts['ap-per-label'], 'Mean AP of the queries of each label, worst first.')}
</section>
<section id="retrieval"><h2>Retrieval: worst and best queries</h2>${retrievalSection(r, ctx, thumbs)}</section>
</body></html>
`;
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
