/**
 * `report.saveHtml(path)`: the evaluation report as one self-contained HTML file. evaluate() attaches
 * it to the report it returns as a non-enumerable method, so the report stays plain data for
 * JSON.stringify and the result schema, while the page can still name what it describes (model,
 * data sets, date) and fetch thumbnails from the worker that evaluated it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { EvaluationSide, ResolvedEvaluateConfig } from '../evaluation/config.js';
import type { EvaluationReport, EvaluationReportWithHtml, SaveHtmlOptions } from '../evaluation/report.js';
import type { ResolvedRecognizerConfig } from '../model/config.js';
import type { CheckpointDescription } from '../model/results.js';
import { renderCharts } from './charts.js';
import { renderHtml, type ReportContext } from './html.js';
import { fetchThumbnails, type ThumbnailHost } from './thumbnails.js';

/** What evaluate() knows about the evaluation besides its numbers. */
export interface ReportSource {
  host: ThumbnailHost;
  modelName: string;
  /** Where the weights came from, in words; saveHtml's `checkpoint` option replaces it. */
  weights: string;
  /** Each side in words: its CSV path, or "embeddings (N rows)". */
  gallery: string;
  query: string;
  settings: Array<[string, string]>;
  evaluatedAt: Date;
}

/** What an evaluate() call describes, from its model and its resolved payload. */
export function reportSource(
  host: ThumbnailHost,
  config: ResolvedRecognizerConfig,
  checkpoint: Readonly<CheckpointDescription> | null,
  payload: { gallery: EvaluationSide; query: EvaluationSide; options: ResolvedEvaluateConfig },
): ReportSource {
  const side = (s: EvaluationSide): string => ('dataset' in s ? s.dataset.csv : `embeddings (${s.labels.length} rows)`);
  const o = payload.options;
  const settings: Array<[string, string]> = [['k', String(o.k)]];
  if ('dataset' in payload.gallery || 'dataset' in payload.query) {
    settings.push(['image size', `${o.size} px`], ['test-time augmentation', o.tta]);
  }
  settings.push(
    ['averaged references', o.averageReferences ? 'yes' : 'no'],
    ['re-ranking', o.rerank ? `k1 ${o.rerank.k1}, k2 ${o.rerank.k2}, lambda ${o.rerank.lambda}` : 'none'],
    ['query expansion', o.queryExpansion ? `k ${o.queryExpansion.k}` : 'none'],
  );
  let weights = config.weightsPath ?? config.weights ?? 'random initialisation (no pretrained weights)';
  if (checkpoint) {
    const epoch = checkpoint.epoch !== null ? `, epoch ${checkpoint.epoch}` : '';
    weights = checkpoint.kind === 'fit' ? `fit() checkpoint${epoch}` : 'state dict';
  }
  const gallery = side(payload.gallery);
  const query = side(payload.query);
  return { host, modelName: config.modelName, weights, gallery, query, settings, evaluatedAt: new Date() };
}

/** The report, with `saveHtml` attached as a non-enumerable method. */
export function withSaveHtml(report: EvaluationReport, source: ReportSource): EvaluationReportWithHtml {
  Object.defineProperty(report, 'saveHtml', {
    value: (path: string, options?: SaveHtmlOptions) => saveHtml(report, source, path, options),
    enumerable: false,
    writable: false,
    configurable: true,
  });
  return report as EvaluationReportWithHtml;
}

function checkOptions(options: unknown): SaveHtmlOptions {
  if (options === undefined) return {};
  if (!options || typeof options !== 'object' || Array.isArray(options)) {
    throw ValidationError.one('saveHtml options', '', 'must be an object { title?, checkpoint? }');
  }
  const problems = Object.entries(options as Record<string, unknown>).flatMap(([key, value]) => {
    if (key !== 'title' && key !== 'checkpoint') return [{ path: key, message: 'unknown option (title, checkpoint)' }];
    return typeof value === 'string' || value === undefined ? [] : [{ path: key, message: 'must be a string' }];
  });
  if (problems.length) throw new ValidationError('saveHtml options', problems);
  return options;
}

/** Check the destination: a file path whose folder exists, not a folder itself. */
function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path === '') throw ValidationError.one('saveHtml', 'path', 'must be a file path');
  const full = resolve(path);
  const folder = dirname(full);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw ValidationError.one('saveHtml', 'path', `folder not found: ${folder} (create it first)`);
  }
  if (existsSync(full) && statSync(full).isDirectory()) {
    throw ValidationError.one(
      'saveHtml',
      'path',
      `${full} is a folder: give a file name, e.g. ${join(full, 'report.html')}`,
    );
  }
  return full;
}

/** Render the page and write it atomically (a temporary file in the same folder, then a rename). */
export async function saveHtml(
  report: EvaluationReport,
  source: ReportSource,
  path: string,
  options?: SaveHtmlOptions,
): Promise<void> {
  const full = checkPath(path);
  const { title, checkpoint } = checkOptions(options);
  const [charts, thumbs] = await Promise.all([renderCharts(report), fetchThumbnails(source.host, report)]);
  const context: ReportContext = {
    title: title ?? `Evaluation of ${source.modelName}`,
    modelName: source.modelName,
    weights: checkpoint ?? source.weights,
    gallery: source.gallery,
    query: source.query,
    settings: source.settings,
    evaluatedAt: source.evaluatedAt,
    writtenAt: new Date(),
  };
  const html = renderHtml(report, context, charts, thumbs);
  const tmp = join(dirname(full), `.${basename(full)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, html, { flag: 'wx' });
    renameSync(tmp, full);
  } catch (err) {
    rmSync(tmp, { force: true });
    const reason = err instanceof Error ? err.message : String(err);
    throw ValidationError.one('saveHtml', 'path', `cannot write ${full}: ${reason}`);
  }
}
