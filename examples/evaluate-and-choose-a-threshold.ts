// Evaluate a checkpoint and choose an acceptance threshold: the recognition metrics on identities the
// model never saw, the open-set thresholds (the score above which "same identity" is answered, at a
// false-accept rate you choose), and the HTML report to look at the worst queries.
// Run it with `npx tsx examples/evaluate-and-choose-a-threshold.ts` (RECOGNITE_EXAMPLE_SMALL=1: a tiny run).

// %% [Setup]
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Recognite } from 'recognite-ts';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
const OUT = join(import.meta.dirname, '..', 'out', 'examples', SMALL ? 'small' : '', 'evaluate-and-choose-a-threshold');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const SIZE = SMALL ? 32 : 64;
const show = (path: string): string => relative(process.cwd(), path);
const pct = (rate: number | null | undefined): string => (rate == null ? 'n/a' : `${(100 * rate).toFixed(1)} %`);
const num = (x: number | null | undefined): string => (x == null ? 'n/a' : x.toFixed(3));
function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

await using rt = await Recognite.start();

// %% [A checkpoint to evaluate]
// Self-contained: a synthetic data set, recognite's split, and a short training that writes a fit()
// checkpoint. With your own, skip this cell and set CHECKPOINT, gallery and query to your files.
const data = await rt.data.generateSynthetic({
  outDir: join(OUT, 'data'),
  identities: SMALL ? 10 : 100,
  samplesPerIdentity: SMALL ? 4 : 12,
  size: SIZE,
});
const { train, gallery, query } = await rt.data.trainValDatasets(data, { outDir: join(OUT, 'split') });
{
  await using trainee = await rt.createRecognizer({ modelName: 'resnet18', numClasses: train.labels });
  await trainee.fit({
    train,
    epochs: SMALL ? 1 : 3,
    batchSize: 32,
    size: SIZE,
    lr: 0.05,
    checkpointDir: join(OUT, 'checkpoints'),
  });
}
const CHECKPOINT = join(OUT, 'checkpoints', 'last.pt');
console.log(`checkpoint: ${show(CHECKPOINT)} (trained on ${train.labels} identities)`);

// %% [Evaluate it on identities it never saw]
// Each query is ranked against the gallery (one reference per identity); top-1 asks "is the best match
// the right identity", mAP how well all the right references rank.
await using model = await rt.loadRecognizer(CHECKPOINT);
const report = await model.evaluate({ gallery, query, k: 5, size: SIZE });
console.log(
  `\n${report.numQueries} queries of ${query.labels} unseen identities against ${report.numGallery} references:`,
);
table(
  ['top-1', 'top-5', 'mAP', 'mINP'],
  [[pct(report.accuracy), pct(report.topKAccuracy), pct(report.mAP), pct(report.mINP)]],
);

// %% [Open-set thresholds: when to answer "unknown"]
// Every query's best same-identity score against its best other-identity score: a threshold between them
// accepts true matches (TAR) and lets some impostors through (FAR). Choose by the FAR you can afford.
const t = report.thresholds;
console.log(`\nfrom ${t.positives} genuine and ${t.negatives} impostor best scores:`);
table(
  ['target FAR', 'threshold', 'measured FAR', 'TAR'],
  t.falseAcceptTargets.map((x) => [pct(x.far), num(x.threshold), pct(x.measuredFar), pct(x.tar)]),
);
if (t.maxF1) {
  console.log(
    `max F1 ${t.maxF1.f1.toFixed(3)} at threshold ${num(t.maxF1.threshold)} (precision ${pct(t.maxF1.precision)}, recall ${pct(t.maxF1.recall)})`,
  );
}
const chosen = t.falseAcceptTargets.find((x) => x.far === 0.01 && x.threshold !== null) ?? null;
console.log(
  chosen
    ? `\nchosen: ${num(chosen.threshold)} (1 % false accepts; it accepts ${pct(chosen.tar)} of genuine matches)` +
        ' — use it as a gallery threshold: gallery.setThreshold(t), or calibrate the gallery on held-out data'
    : '\nno threshold reaches 1 % false accepts on so few queries: evaluate on more',
);

// %% [The HTML report]
// One self-contained page: curves, score histograms with these thresholds marked, AP per identity and the
// worst queries with their top matches. Thumbnails are made by the worker, so write it before closing.
const page = join(OUT, 'report.html');
await report.saveHtml(page, { title: 'resnet18 on unseen synthetic identities' });
console.log(`\nreport: ${show(page)} (${(statSync(page).size / 1024).toFixed(0)} KiB); open it in a browser`);
