// Quickstart, the main job (`npm start`): make a synthetic data set, split it by identity,
// train a small backbone on the CPU (or GPU), and recognise identities it never saw in training.
// RECOGNITE_EXAMPLE_SMALL=1 runs a tiny version (10 identities, 1 epoch) into out/examples/small/quickstart.

// %% [Setup]
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Recognite, type FitEvent } from 'recognite-ts';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
const OUT = join(import.meta.dirname, '..', 'out', ...(SMALL ? ['examples', 'small', 'quickstart'] : ['quickstart']));
const SIZE = SMALL ? 32 : 64;
const tty = process.stdout.isTTY;
const started = Date.now();
mkdirSync(OUT, { recursive: true });

// %% [1. The worker]
// One Python process, torch imported once.
await using rt = await Recognite.start();
const info = await rt.info();
console.log(`worker: torch ${info.torch} on ${info.device}, ${info.threads} threads (python ${info.python})`);

// %% [2. A synthetic data set]
// 100 identities × 20 images of 64 px, each identity a drawn pattern.
const dataset = await rt.data.generateSynthetic(
  { outDir: join(OUT, 'data'), identities: SMALL ? 10 : 100, samplesPerIdentity: SMALL ? 5 : 20, size: SIZE, seed: 0 },
  { onProgress: (e) => tty && process.stdout.write(`\rgenerating images ${e.done}/${e.total}`) },
);
console.log(
  `${tty ? '\r' : ''}data set: ${dataset.numImages} images of ${dataset.identities} identities in ${relative(process.cwd(), dataset.csv)}`,
);

// %% [3. Split by identity]
// Label-disjoint (recognite's): 80 identities to train on, 20 unseen ones split into gallery and queries.
const split = await rt.data.trainValDatasets(dataset, {
  outDir: join(OUT, 'split'),
  numFolds: 5,
  valFold: 0,
  numRefs: 1,
});
console.log(
  `split: train ${split.train.rows} images / ${split.train.labels} identities; ` +
    `unseen: gallery ${split.gallery.rows}, queries ${split.query.rows} (${split.query.labels} identities)`,
);

// %% [4. Train, checking unseen identities each epoch]
// resnet18 from scratch (random init: no downloads), checking unseen identities after each epoch.
await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
/** A rate as a percentage; fit reports accuracies only when it has a validation set. */
const pct = (rate: number | undefined): string => (rate === undefined ? 'n/a' : `${(100 * rate).toFixed(1)} %`);
const show = (e: FitEvent): void => {
  if (e.type === 'batch' && tty) {
    process.stdout.write(
      `\repoch ${e.epoch}/${e.epochs} step ${e.step}/${e.steps} loss ${e.loss.toFixed(3)} ` +
        `${e.samplesPerSec.toFixed(0)} img/s, ETA ${e.etaSeconds.toFixed(0)} s   `,
    );
  } else if (e.type === 'epoch') {
    console.log(
      `${tty ? '\r' : ''}epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(3)}, unseen top-1 ${pct(e.top1)} ` +
        `(chance ${pct(e.chanceTop1)}), ${e.seconds.toFixed(0)} s            `,
    );
  }
};
const result = await model.fit({
  train: split.train,
  validation: { gallery: split.gallery, query: split.query },
  epochs: SMALL ? 1 : 3,
  batchSize: SMALL ? 16 : 64,
  size: SIZE,
  lr: 0.05,
  checkpointDir: join(OUT, 'checkpoints'),
  onProgress: show,
});

// %% [5. The outcome]
// The outcome, and the model saved with recognite's state-dict keys.
const last = result.history[result.history.length - 1];
await model.saveStateDict(join(OUT, 'resnet18-synthetic.pt'));
console.log('\n| unseen identities | top-1 accuracy | chance |');
console.log('| --- | --- | --- |');
console.log(`| ${split.query.labels} (${split.query.rows} queries) | ${pct(last?.top1)} | ${pct(last?.chanceTop1)} |`);
console.log(
  `\nsaved ${relative(process.cwd(), join(OUT, 'resnet18-synthetic.pt'))}; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
);
