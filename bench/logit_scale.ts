// Benchmark: which logit scale and margin train best on the synthetic data set (the quickstart's set-up).
// Prints unseen-identity top-1 after each epoch for each setting. Run: npm run bench:loss
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recognite } from 'recognite-ts';

const SETTINGS: Array<{ logitScale: number; margin: number }> = [
  { logitScale: 1, margin: 0 }, // recognite's own objective
  { logitScale: 8, margin: 0 },
  { logitScale: 16, margin: 0 },
  { logitScale: 32, margin: 0 },
  { logitScale: 16, margin: 0.2 },
];
const dir = mkdtempSync(join(tmpdir(), 'recognite-bench-loss-'));
await using rt = await Recognite.start();
const ds = await rt.data.generateSynthetic({ outDir: dir, identities: 100, samplesPerIdentity: 20, size: 64, seed: 0 });
const split = await rt.data.trainValDatasets(ds, { outDir: join(dir, 'split'), numFolds: 5, valFold: 0, numRefs: 1 });
const init = join(dir, 'init.pt');
{
  await using m = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
  await m.saveStateDict(init); // every setting starts from the same weights
}
console.log('| logitScale | margin | loss per epoch | unseen top-1 per epoch (chance 5 %) |');
console.log('| --- | --- | --- | --- |');
for (const s of SETTINGS) {
  await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
  await model.loadStateDict(init);
  const { history } = await model.fit({
    train: split.train,
    validation: { gallery: split.gallery, query: split.query },
    epochs: 3,
    batchSize: 64,
    size: 64,
    lr: 0.05,
    ...s,
  });
  const pct = (x: number | undefined): string => `${(100 * (x ?? 0)).toFixed(1)} %`;
  console.log(
    `| ${s.logitScale} | ${s.margin} | ${history.map((h) => h.loss.toFixed(2)).join(' → ')} | ${history.map((h) => pct(h.top1)).join(' → ')} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
