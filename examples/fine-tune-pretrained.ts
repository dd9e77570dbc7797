// Fine-tune a pretrained backbone: start from torchvision's ImageNet weights (`weights: 'DEFAULT'`)
// instead of random ones, see how far they get before any training, then fine-tune on your identities.
// Run it with `npx tsx examples/fine-tune-pretrained.ts` (RECOGNITE_EXAMPLE_SMALL=1: a tiny run).
//
// The weights come from torchvision's cache ($TORCH_HOME/hub/checkpoints, by default
// ~/.cache/torch/hub/checkpoints). With a network the worker downloads them there once; without one,
// download the file elsewhere (the URL is printed below) and place it at that path. This example
// checks first and, when the file is not there, says what to place where and stops (exit 0).

// %% [Setup]
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Recognite, type FitEvent } from 'recognite-ts';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
const OUT = join(import.meta.dirname, '..', 'out', 'examples', SMALL ? 'small' : '', 'fine-tune-pretrained');
const SIZE = SMALL ? 32 : 64;
const pct = (rate: number | null | undefined): string => (rate == null ? 'n/a' : `${(100 * rate).toFixed(1)} %`);
function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}

// %% [Are the weights in torch's cache?]
// The folder as torch.hub.get_dir() computes it; resnet18's DEFAULT weights are
// ResNet18_Weights.IMAGENET1K_V1, whose file is named after its URL.
const URL = 'https://download.pytorch.org/models/resnet18-f37072fd.pth';
const FILE = 'resnet18-f37072fd.pth';
const torchHome = process.env.TORCH_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'torch');
const target = join(torchHome, 'hub', 'checkpoints', FILE);
if (!existsSync(target)) {
  console.log(`pretrained weights not found at ${target}`);
  console.log(`skipped: place ${FILE} (from ${URL}) at ${target}, or set TORCH_HOME to the folder above hub/`);
  process.exit(0);
}
console.log(`pretrained weights: ${target}`);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

await using rt = await Recognite.start();

// %% [Data: identities to tell apart]
const data = await rt.data.generateSynthetic({
  outDir: join(OUT, 'data'),
  identities: SMALL ? 10 : 60,
  samplesPerIdentity: SMALL ? 4 : 12,
  size: SIZE,
});
const split = await rt.data.trainValDatasets(data, { outDir: join(OUT, 'split') });
const validation = { gallery: split.gallery, query: split.query };
console.log(
  `train: ${split.train.labels} identities; unseen: ${split.query.labels} identities, ${split.query.rows} queries`,
);

// %% [Before any training: pretrained against random weights]
// ImageNet features already separate many patterns; random ones barely do better than chance.
await using pretrained = await rt.createRecognizer({
  modelName: 'resnet18',
  weights: 'DEFAULT',
  numClasses: split.train.labels,
});
const before: Array<Array<string | number>> = [];
{
  await using random = await rt.createRecognizer({ modelName: 'resnet18', numClasses: split.train.labels });
  for (const [name, model] of [
    ['random weights', random],
    ['ImageNet weights', pretrained],
  ] as const) {
    const report = await model.evaluate({ ...validation, size: SIZE });
    before.push([name, pct(report.accuracy), pct(report.mAP)]);
  }
}
table(['untrained resnet18', 'unseen top-1', 'mAP'], before);

// %% [Fine-tune]
// A smaller learning rate than from scratch: the pretrained features are a good start to keep.
const epochs = SMALL ? 1 : 3;
const show = (e: FitEvent): void => {
  if (e.type === 'epoch') {
    console.log(
      `epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(3)}, unseen top-1 ${pct(e.top1)}, ${e.seconds.toFixed(0)} s`,
    );
  }
};
console.log('');
const { history } = await pretrained.fit({
  train: split.train,
  validation,
  epochs,
  batchSize: 32,
  size: SIZE,
  lr: 0.01,
  checkpointDir: join(OUT, 'checkpoints'),
  onProgress: show,
});
const last = history[history.length - 1];
const after = await pretrained.evaluate({ ...validation, size: SIZE });
console.log('');
table(
  ['fine-tuned resnet18', 'unseen top-1', 'mAP'],
  [[`after ${epochs} epoch(s)`, pct(after.accuracy), pct(after.mAP)]],
);
console.log(
  `\ncheckpoint: ${join('out', 'examples', SMALL ? 'small' : '', 'fine-tune-pretrained', 'checkpoints', 'last.pt')} (loss ${last?.loss.toFixed(3)})`,
);
