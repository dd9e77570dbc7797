// Benchmark: the training defaults `hflip` and `margin`, chosen on two differently made data sets.
//   1. the project's synthetic set (rt.data.generateSynthetic: 100 identities × 20 images of 64 px);
//   2. glyphs: characters rendered in the 16 typefaces matplotlib ships (bench/datasets/glyphs.py:
//      200 characters × 16 typefaces of 64 px), where a horizontal flip turns one identity into another.
// Each is split by identity (5 folds: 4/5 of the identities to train on, 1/5 unseen, split into a gallery
// of one image per identity and the queries). For each seed, one resnet18 from random weights is the
// start of every setting on a data set; each setting trains 3 epochs (batch 64, 64 px, SGD lr 0.05,
// logitScale 16), every fit option given explicitly. Prints the last epoch's unseen-identity top-1.
//
// Run: npm run bench:defaults -- [--seeds 0,1] [--datasets synthetic,glyphs]
//      [--glyphs 200] [--epochs 3] [--keep]
// Needs matplotlib in the project's Python (for its fonts): node scripts/py.mjs -m pip install matplotlib==3.11.2
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Recognite, type DatasetRef } from 'recognite-ts';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0' },
    glyphs: { type: 'string', default: '200' },
    epochs: { type: 'string', default: '3' },
    datasets: { type: 'string', default: 'synthetic,glyphs' },
    keep: { type: 'boolean', default: false },
  },
});
const SEEDS = args.seeds.split(',').map(Number);
const WANTED = new Set(args.datasets.split(','));
const EPOCHS = Number(args.epochs);
const SETTINGS: Array<{ hflip: boolean; margin: number }> = [
  { hflip: true, margin: 0.2 }, // the defaults measured on the synthetic set alone
  { hflip: true, margin: 0 },
  { hflip: false, margin: 0.2 },
  { hflip: false, margin: 0 },
];
const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-defaults-'));
const started = Date.now();

await using rt = await Recognite.start();
const info = await rt.info();
console.log(`worker: torch ${info.torch} on ${info.device}, ${info.threads} threads`);

const datasets: Array<{ name: string; data: DatasetRef }> = [];
if (WANTED.has('synthetic')) {
  datasets.push({
    name: 'synthetic (100 × 20)',
    data: await rt.data.generateSynthetic({
      outDir: join(dir, 'synthetic'),
      identities: 100,
      samplesPerIdentity: 20,
      size: 64,
      seed: 0,
      format: 'png',
    }),
  });
}
if (WANTED.has('glyphs')) {
  const glyphDir = join(dir, 'glyphs');
  const script = join(ROOT, 'bench', 'datasets', 'glyphs.py');
  const gen = spawnSync(
    process.execPath,
    [
      join(ROOT, 'scripts', 'py.mjs'),
      script,
      '--out',
      glyphDir,
      '--identities',
      args.glyphs,
      '--size',
      '64',
      '--seed',
      '0',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (gen.status !== 0) throw new Error(`bench/datasets/glyphs.py failed (exit ${gen.status})`);
  datasets.push({
    name: `glyphs (${args.glyphs} × 16)`,
    data: { csv: join(glyphDir, 'dataset.csv'), imageColumn: 'image', labelColumn: 'label' },
  });
}

interface Row {
  dataset: string;
  hflip: boolean;
  margin: number;
  seed: number;
  top1: number;
  chance: number;
  seconds: number;
}
const rows: Row[] = [];
const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

for (const [d, { name, data }] of datasets.entries()) {
  const split = await rt.data.trainValDatasets(data, {
    outDir: join(dir, `split-${d}`),
    numFolds: 5,
    valFold: 0,
    seed: 0,
    numRefs: 1,
    refSeed: 0,
  });
  console.log(
    `${name}: ${split.train.labels} identities (${split.train.rows} images) to train on; ` +
      `${split.gallery.labels} unseen (gallery ${split.gallery.rows}, queries ${split.query.rows})`,
  );
  for (const seed of SEEDS) {
    const init = join(dir, `init-${d}-${seed}.pt`);
    {
      await using m = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
      await m.saveStateDict(init); // every setting of this data set and seed starts from the same weights
    }
    for (const s of SETTINGS) {
      await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
      await model.loadStateDict(init);
      const { history, seconds } = await model.fit({
        train: split.train,
        validation: { gallery: split.gallery, query: split.query },
        epochs: EPOCHS,
        batchSize: 64,
        size: 64,
        lr: 0.05,
        momentum: 0.9,
        weightDecay: 0.0005,
        hflip: s.hflip,
        logitScale: 16,
        margin: s.margin,
        seed,
        numWorkers: 0,
      });
      const last = history.at(-1);
      if (last?.top1 === undefined || last.chanceTop1 === undefined) throw new Error('fit reported no top-1');
      rows.push({ dataset: name, ...s, seed, top1: last.top1, chance: last.chanceTop1, seconds });
      console.log(
        `  seed ${seed}, hflip ${s.hflip}, margin ${s.margin}: top-1 per epoch ` +
          `${history.map((h) => pct(h.top1 ?? 0)).join(' → ')} (${seconds.toFixed(0)} s)`,
      );
    }
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const pick = (name: string, f: (r: Row) => boolean): Row[] => rows.filter((r) => r.dataset === name && f(r));
console.log(
  `\nunseen-identity top-1 after epoch ${EPOCHS} (resnet18 from scratch, logitScale 16), seeds ${SEEDS.join(', ')}\n`,
);
console.log(`| data set | hflip | margin | ${SEEDS.map((s) => `seed ${s}`).join(' | ')} | mean | chance |`);
console.log(`| --- | --- | --- | ${SEEDS.map(() => '---').join(' | ')} | --- | --- |`);
for (const { name } of datasets) {
  for (const s of SETTINGS) {
    const rs = pick(name, (r) => r.hflip === s.hflip && r.margin === s.margin);
    console.log(
      `| ${name} | ${s.hflip ? 'on' : 'off'} | ${s.margin} | ${rs.map((r) => pct(r.top1)).join(' | ')} | ` +
        `${pct(mean(rs.map((r) => r.top1)))} | ${pct(rs[0]?.chance ?? 0)} |`,
    );
  }
}
// Effects, paired: the same data set, seed and other option; the difference in points and the ratio of top-1s.
console.log('\n| data set | change | difference in top-1 (points), per pair | mean difference | mean ratio |');
console.log('| --- | --- | --- | --- | --- |');
const effect = (
  name: string,
  label: string,
  a: (r: Row) => boolean,
  b: (r: Row) => boolean,
  same: (x: Row, y: Row) => boolean,
): void => {
  const pairs = pick(name, a).map((x) => {
    const y = pick(name, b).find((r) => r.seed === x.seed && same(x, r));
    if (!y) throw new Error('unpaired row');
    return [x.top1, y.top1] as const;
  });
  const diffs = pairs.map(([x, y]) => 100 * (x - y));
  const ratios = pairs.map(([x, y]) => x / y);
  console.log(
    `| ${name} | ${label} | ${diffs.map((v) => (v >= 0 ? '+' : '') + v.toFixed(1)).join(', ')} | ` +
      `${(mean(diffs) >= 0 ? '+' : '') + mean(diffs).toFixed(1)} | ${mean(ratios).toFixed(2)}× |`,
  );
};
for (const { name } of datasets) {
  effect(
    name,
    'hflip on vs off',
    (r) => r.hflip,
    (r) => !r.hflip,
    (x, y) => x.margin === y.margin,
  );
  effect(
    name,
    'margin 0.2 vs 0',
    (r) => r.margin === 0.2,
    (r) => r.margin === 0,
    (x, y) => x.hflip === y.hflip,
  );
}
console.log(
  `\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s; fit seconds ${rows.map((r) => r.seconds.toFixed(0)).join(', ')}`,
);
if (args.keep) console.log(`data kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
