/**
 * The report's charts: Vega-Lite specs compiled and rendered to static SVG in Node (vega's headless
 * `renderer: 'none'` view), so the page needs no script and no network. Axis text uses the generic
 * `sans-serif` family: no font is fetched.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EvaluationReport } from '../evaluation/report.js';

/** Labels drawn in the per-label AP chart, worst first; the page says how many more there are. */
export const MAX_LABELS_SHOWN = 40;

const WIDTH = 360;
const HEIGHT = 220;
const BLUE = '#3b6fb6';
const CONFIG = { font: 'sans-serif', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 } };

/** The SVG of a Vega-Lite spec. */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Mean interpolated precision against recall (EvaluationReport.prCurve). */
export function prCurveSpec(report: EvaluationReport): TopLevelSpec {
  const { recall, precision } = report.prCurve;
  const values = recall.flatMap((r, i) => (precision[i] == null ? [] : [{ recall: r, precision: precision[i] }]));
  return {
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values },
    mark: { type: 'line', color: BLUE, interpolate: 'step-after' },
    encoding: {
      x: { field: 'recall', type: 'quantitative', scale: { domain: [0, 1] }, title: 'recall' },
      y: { field: 'precision', type: 'quantitative', scale: { domain: [0, 1] }, title: 'interpolated precision' },
    },
  };
}

/** Rank-r accuracy for r = 1…k (EvaluationReport.cmc). */
export function cmcSpec(report: EvaluationReport): TopLevelSpec {
  const values = report.cmc.map((accuracy, i) => ({ rank: i + 1, accuracy }));
  return {
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    data: { values },
    mark: { type: 'line', color: BLUE, point: true },
    encoding: {
      x: { field: 'rank', type: 'quantitative', scale: { domain: [1, Math.max(2, values.length)] }, title: 'rank' },
      y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'accuracy within rank' },
    },
  };
}

/** The suggested thresholds drawn as rules on the histograms: max F1, then each false-accept target. */
export function thresholdMarks(report: EvaluationReport): Array<{ threshold: number; name: string }> {
  const marks: Array<{ threshold: number; name: string }> = [];
  const { maxF1, falseAcceptTargets } = report.thresholds;
  if (maxF1) marks.push({ threshold: maxF1.threshold, name: 'max F1' });
  for (const t of falseAcceptTargets) {
    if (t.threshold !== null) marks.push({ threshold: t.threshold, name: `FAR ${formatRate(t.far)}` });
  }
  return marks;
}

/** One rule per distinct threshold, its names joined (FAR targets often land on the same score). */
function mergedMarks(marks: Array<{ threshold: number; name: string }>): Array<{ threshold: number; name: string }> {
  const byValue = new Map<number, string[]>();
  for (const m of marks) byValue.set(m.threshold, [...(byValue.get(m.threshold) ?? []), m.name]);
  return [...byValue].map(([threshold, names]) => ({ threshold, name: names.join(', ') }));
}

/** A histogram of pair scores (positive or negative pairs) with the suggested thresholds as rules. */
export function histogramSpec(report: EvaluationReport, side: 'positive' | 'negative'): TopLevelSpec {
  const { edges } = report.pairHistogram;
  const counts = report.pairHistogram[side];
  const values = counts.map((count, i) => ({ start: edges[i], end: edges[i + 1], count }));
  const color = side === 'positive' ? '#2e8b57' : '#c0392b';
  const marks = mergedMarks(thresholdMarks(report));
  const x = { field: 'start', type: 'quantitative', title: 'score', scale: { zero: false } } as const;
  return {
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values },
        // rect, not bar: a bar with x and x2 both quantitative may be laid out sideways
        mark: { type: 'rect', color, opacity: 0.85, stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x,
          x2: { field: 'end' },
          y: { field: 'count', type: 'quantitative', title: `${side} pairs` },
          y2: { datum: 0 },
        },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', color: '#222', strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: { x: { field: 'threshold', type: 'quantitative' } },
        name: 'thresholds',
      },
      {
        data: { values: marks },
        mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dx: -4, dy: -2, fontSize: 10 },
        encoding: { x: { field: 'threshold', type: 'quantitative' }, y: { value: 0 }, text: { field: 'name' } },
      },
    ],
  };
}

/** Per-label AP as horizontal bars, worst first, at most MAX_LABELS_SHOWN labels (labels without an AP left out). */
export function apPerLabelSpec(report: EvaluationReport): TopLevelSpec {
  const values = worstLabels(report).map(({ label, ap }, i) => ({ label: String(label), ap, order: i }));
  return {
    width: WIDTH,
    height: { step: 14 },
    config: CONFIG,
    data: { values },
    mark: { type: 'bar', color: BLUE },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: { field: 'order' }, title: 'label' },
      x: { field: 'ap', type: 'quantitative', scale: { domain: [0, 1] }, title: 'average precision' },
      tooltip: null,
    },
  };
}

/** The labels the AP chart shows: those with an AP, lowest first (ties in label order), capped. */
export function worstLabels(report: EvaluationReport): Array<{ label: string | number; ap: number }> {
  const rated = report.apPerLabel.filter((e): e is { label: string | number; ap: number } => e.ap !== null);
  return rated
    .map((e, i) => ({ ...e, i }))
    .sort((a, b) => a.ap - b.ap || a.i - b.i)
    .slice(0, MAX_LABELS_SHOWN)
    .map(({ label, ap }) => ({ label, ap }));
}

/** Every chart of the report, as SVG text. */
export async function renderCharts(report: EvaluationReport): Promise<Record<ChartName, string>> {
  const [pr, cmc, positive, negative, ap] = await Promise.all([
    toSvg(prCurveSpec(report)),
    toSvg(cmcSpec(report)),
    toSvg(histogramSpec(report, 'positive')),
    toSvg(histogramSpec(report, 'negative')),
    toSvg(apPerLabelSpec(report)),
  ]);
  return { 'pr-curve': pr, cmc, 'hist-positive': positive, 'hist-negative': negative, 'ap-per-label': ap };
}

export type ChartName = 'pr-curve' | 'cmc' | 'hist-positive' | 'hist-negative' | 'ap-per-label';

/** 0.01 → "1 %", 0.001 → "0.1 %". */
export function formatRate(rate: number): string {
  return `${Number((rate * 100).toPrecision(3))} %`;
}
