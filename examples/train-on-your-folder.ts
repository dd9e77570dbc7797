// Train on your own folder of images: photos laid out one sub-folder per identity (the common
// "ImageFolder" layout) → a data-set CSV → recognite's label-disjoint k-fold split → training with
// progress and an evaluation on unseen identities after every epoch, keeping the best checkpoint.
// Run it with `npx tsx examples/train-on-your-folder.ts` (RECOGNITE_EXAMPLE_SMALL=1: a tiny run).
// To use your own photos, point PHOTOS at your folder and skip the cell that makes the stand-in.

// %% [Setup]
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Recognite, type FitEvent } from 'recognite-ts';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
const OUT = join(import.meta.dirname, '..', 'out', 'examples', SMALL ? 'small' : '', 'train-on-your-folder');
rmSync(OUT, { recursive: true, force: true }); // a notebook re-run starts clean
mkdirSync(OUT, { recursive: true });
const show = (path: string): string => relative(process.cwd(), path);
const pct = (rate: number | null | undefined): string => (rate == null ? 'n/a' : `${(100 * rate).toFixed(1)} %`);
function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
const tty = process.stdout.isTTY;

await using rt = await Recognite.start();

// %% [A stand-in for your photos]
// No photos at hand (and no network): the synthetic generator draws identities and writes them exactly
// in the ImageFolder layout, <folder>/<identity>/<n>.png.
const synthetic = await rt.data.generateSynthetic({
  outDir: join(OUT, 'stand-in'),
  identities: SMALL ? 10 : 60,
  samplesPerIdentity: SMALL ? 4 : 12,
  size: SMALL ? 32 : 64,
});
const PHOTOS = synthetic.imageDir;
const identities = readdirSync(PHOTOS).sort();
console.log(`${show(PHOTOS)}/ holds ${identities.length} identity folders, e.g.`);
for (const identity of identities.slice(0, 2)) {
  const files = readdirSync(join(PHOTOS, identity)).sort();
  console.log(`  ${identity}/ ${files.slice(0, 3).join(' ')} … (${files.length} images)`);
}

// %% [The folder as a data set]
// fromFolder walks the tree in Node (no worker): each sub-folder's name is the label, images are found
// by extension at any depth, and the CSV's paths are relative to the CSV, so the CSV travels with them.
const dataset = await rt.data.fromFolder(PHOTOS, { csv: join(OUT, 'dataset.csv') });
console.log(`\n${show(dataset.csv)}: ${dataset.rows} images of ${dataset.labels} identities`);

// %% [recognite's split: train identities, and unseen ones for validation]
// Label-disjoint k folds (fold 0 of 5 for validation); the validation identities are split again into a
// gallery (one reference each) and queries, so each epoch measures recognition of people never trained on.
const split = await rt.data.trainValDatasets(dataset, { outDir: join(OUT, 'split'), numFolds: 5, valFold: 0 });
table(
  ['part', 'images', 'identities', 'csv'],
  (['train', 'gallery', 'query'] as const).map((name) => [
    name,
    split[name].rows,
    split[name].labels,
    show(split[name].csv),
  ]),
);

// %% [Train, evaluate every epoch, keep the best]
// One fit() per epoch, each resuming from the last checkpoint: the same result as one long fit (the
// same seed, a constant learning rate), and after each epoch we decide whether to keep it as best.pt.
const EPOCHS = SMALL ? 2 : 5;
const SIZE = SMALL ? 32 : 64; // train and evaluate at the images' own size
const checkpoints = join(OUT, 'checkpoints');
await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
const progress = (e: FitEvent): void => {
  if (e.type === 'batch' && tty) {
    process.stdout.write(
      `\repoch ${e.epoch}/${EPOCHS} step ${e.step}/${e.steps} loss ${e.loss.toFixed(3)}, ${e.samplesPerSec.toFixed(0)} img/s   `,
    );
  }
};
let best = { epoch: 0, top1: -1 };
const rows: Array<Array<string | number>> = [];
console.log('');
for (let epoch = 1; epoch <= EPOCHS; epoch++) {
  const { history } = await model.fit({
    train: split.train,
    validation: { gallery: split.gallery, query: split.query },
    epochs: epoch,
    resumeFrom: epoch > 1 ? join(checkpoints, 'last.pt') : undefined,
    checkpointDir: checkpoints,
    batchSize: SMALL ? 16 : 32,
    size: SIZE,
    lr: 0.05,
    onProgress: progress,
  });
  const record = history.at(-1);
  if (!record) throw new Error('fit() returned no epoch');
  const top1 = record.top1 ?? 0;
  const improved = top1 > best.top1;
  if (improved) {
    best = { epoch, top1 };
    copyFileSync(join(checkpoints, 'last.pt'), join(checkpoints, 'best.pt'));
  }
  console.log(
    `${tty ? '\r' : ''}epoch ${epoch}/${EPOCHS}: loss ${record.loss.toFixed(3)}, unseen top-1 ${pct(record.top1)}` +
      ` (chance ${pct(record.chanceTop1)}), ${record.seconds.toFixed(0)} s${improved ? ' → best.pt' : ''}${tty ? '      ' : ''}`,
  );
  rows.push([epoch, record.loss.toFixed(3), pct(record.top1), improved ? 'kept' : '']);
}
console.log('');
table(['epoch', 'loss', 'unseen top-1', 'best.pt'], rows);

// %% [The best checkpoint, reloaded and evaluated]
// A fit() checkpoint knows its model: loadRecognizer needs only the path.
await using bestModel = await rt.loadRecognizer(join(checkpoints, 'best.pt'));
const report = await bestModel.evaluate({ gallery: split.gallery, query: split.query, k: 5, size: SIZE });
console.log(
  `\n${show(join(checkpoints, 'best.pt'))} (epoch ${best.epoch}) on the ${split.query.labels} unseen identities:`,
);
table(
  ['queries', 'top-1', 'top-5', 'mAP'],
  [[report.numQueries, pct(report.accuracy), pct(report.topKAccuracy), pct(report.mAP)]],
);
