/**
 * `recognite eval`: evaluate a trained model on identities it has not seen, as recognite does (a
 * gallery of references, queries ranked against it), print the metrics and optionally write the
 * HTML report.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { Recognite } from '../../core/recognite.js';
import type { DatasetRef } from '../../data/dataset-ref.js';
import type { EvaluationReport } from '../../evaluation/report.js';
import { onCtrlC } from '../interrupt.js';
import { addModelOptions, embedOptions, integer, json, loadModel, SchemaOptions, UsageError } from '../options.js';
import { printTable } from '../output.js';
import { createProgress } from '../progress.js';

const embedding = embedOptions();
const evaluation = new SchemaOptions('EvaluateConfig', ['metric', 'k', 'averageReferences']);

interface EvalOptions {
  checkpoint: string;
  model?: string;
  data?: string;
  gallery?: string;
  query?: string;
  numRefs?: number;
  refSeed?: number;
  rerank?: boolean;
  queryExpansion?: boolean;
  report?: string;
  json?: boolean;
  [option: string]: unknown;
}

export function registerEvalCommand(program: Command): void {
  const command = addModelOptions(
    program
      .command('eval')
      .description(
        'evaluate a trained model on unseen identities: top-1, top-k, mAP, thresholds; optionally an HTML report',
      ),
  )
    .addOption(
      new Option(
        '--data <csv>',
        'a data set of identities unseen in training: split into gallery and queries here',
      ).conflicts(['gallery', 'query']),
    )
    .option('--gallery <csv>', 'the gallery (references), instead of --data')
    .option('--query <csv>', 'the queries, with --gallery')
    .option('--num-refs <n>', 'with --data: gallery images per identity (default 1)', integer)
    .option('--ref-seed <n>', 'with --data: seed of the gallery/query split (default 0)', integer)
    .option('--rerank', 'k-reciprocal re-ranking (Zhong et al. 2017) with its default parameters')
    .option('--query-expansion', 'average query expansion (alpha-QE) with its default k')
    .option(
      '--report <file.html>',
      'also write the HTML report: curves, score histograms, the worst queries with their matches',
    );
  evaluation.addTo(command);
  embedding.addTo(command);
  command
    .addOption(json())
    .addHelpText(
      'after',
      '\nExamples:\n  $ recognite eval --checkpoint checkpoints/last.pt --data checkpoints/split/query.csv' +
        '\n  $ recognite eval --checkpoint checkpoints/last.pt --gallery parts/gallery.csv --query parts/query.csv --k 10 --json' +
        '\n  $ recognite eval --checkpoint checkpoints/last.pt --data checkpoints/split/query.csv --report report.html',
    )
    .action(async (opts: EvalOptions) => evaluate(opts));
}

async function evaluate(opts: EvalOptions): Promise<void> {
  const { data, gallery, query } = opts;
  const given =
    data ??
    (gallery !== undefined && query !== undefined ? { gallery: { csv: gallery }, query: { csv: query } } : undefined);
  if (given === undefined) {
    throw new UsageError('give the evaluation data: --data data.csv, or --gallery gallery.csv with --query query.csv');
  }
  const picked = { ...evaluation.checked(opts), ...embedding.checked(opts) };
  using interrupt = onCtrlC();
  const progress = createProgress({ json: opts.json === true });
  await using rt = await Recognite.start();
  await using model = await loadModel(rt, opts);
  progress.begin();
  // the split's CSVs, only when the data comes whole
  const scratch = typeof given === 'string' ? mkdtempSync(join(tmpdir(), 'recognite-eval-')) : undefined;
  try {
    let sides: { gallery: DatasetRef; query: DatasetRef };
    if (typeof given === 'string') {
      const split = await rt.data.galleryQuerySplit(
        { csv: given },
        {
          outDir: scratch ?? tmpdir(),
          ...(opts.numRefs !== undefined && { numRefs: opts.numRefs }),
          ...(opts.refSeed !== undefined && { seed: opts.refSeed }),
        },
      );
      for (const warning of split.warnings) progress.log(`warning: ${warning}`);
      sides = { gallery: split.gallery, query: split.query };
    } else sides = given;
    const report = await model.evaluate({
      ...sides,
      ...picked,
      ...(opts.rerank === true && { rerank: true }),
      ...(opts.queryExpansion === true && { queryExpansion: true }),
      signal: interrupt.signal,
      onProgress: (e) => {
        progress.update({
          phase: e.phase === 'scoring' ? 'scoring' : `embedding ${e.phase}`,
          done: e.done,
          total: e.total,
          unit: e.phase === 'scoring' ? 'rows/s' : 'img/s',
        });
      },
    });
    progress.stop();
    if (opts.report !== undefined) await report.saveHtml(opts.report, { checkpoint: opts.checkpoint });
    printReport(opts.json === true, report);
  } finally {
    progress.stop();
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
}

/** The headline metrics, one per line, for people; the whole report for machines. */
function printReport(asJson: boolean, r: EvaluationReport): void {
  const f = (v: number | null): string => (v === null ? '-' : v.toFixed(4));
  const rows: string[][] = [
    [
      'queries',
      String(r.numQueries),
      `against ${r.numGallery} gallery images (${r.queriesWithoutPositives} without their identity there)`,
    ],
    ['top-1 accuracy', f(r.accuracy), "the best match has the query's identity"],
    [`top-${r.k} accuracy`, f(r.topKAccuracy), `one of the ${r.k} best matches has it`],
    ['mAP', f(r.mAP), 'mean average precision (a query without positives counts 0)'],
    ['mINP', f(r.mINP), 'mean inverse negative penalty: how far down the hardest positive is'],
    [
      'max-F1 threshold',
      r.thresholds.maxF1 ? f(r.thresholds.maxF1.threshold) : '-',
      'accept a match above this score (best F1 on this data)',
    ],
    ...r.thresholds.falseAcceptTargets.map((t) => [
      `threshold @ FAR ${t.far}`,
      f(t.threshold),
      `true-accept rate ${f(t.tar)}`,
    ]),
  ];
  printTable({ json: asJson }, r, ['metric', 'value', 'meaning'], rows);
}
