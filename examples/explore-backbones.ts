// Explore the backbones: which torchvision models recognite-ts can train, and how a handful of them
// compare on this machine: embedding size, parameters and CPU images per second.
// Run it with `npx tsx examples/explore-backbones.ts` (RECOGNITE_EXAMPLE_SMALL=1: fewer, smaller runs).

// %% [Setup]
import { allModelInfo, modelInfo, Recognite, Tensor, type ModelName } from 'recognite-ts';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
/** A markdown table: readable in a terminal, pastable into a README. */
function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
const millions = (n: number): string => `${(n / 1e6).toFixed(1)} M`;

// %% [The catalog: every backbone, no worker needed]
// modelInfo() and allModelInfo() read the catalog generated from the real torchvision: TypeScript
// knows each model's embedding size, parameter count, input sizes and pretrained weights.
const catalog = allModelInfo();
console.log(`${catalog.length} backbones in the catalog; the smallest and largest of each family:\n`);
const families = new Map<string, typeof catalog>();
for (const info of catalog) {
  // resnet18 → resnet, efficientnet_v2_s → efficientnet, wide_resnet50_2 → wide_resnet
  const family = info.name.startsWith('wide_') ? 'wide_resnet' : (info.name.split('_')[0] ?? '').replace(/[\d.]+$/, '');
  families.set(family, [...(families.get(family) ?? []), info]);
}
/** Distinct values, listed when few, else as a range. */
function sizesOf(values: number[]): string {
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  return distinct.length <= 3 ? distinct.join(', ') : `${distinct[0]} … ${distinct.at(-1)} (${distinct.length} sizes)`;
}
const familyRows = [...families.entries()].flatMap(([family, members]) => {
  const sorted = [...members].sort((a, b) => a.parameters - b.parameters);
  const [first, last] = [sorted[0], sorted.at(-1)];
  if (!first || !last) return [];
  return [
    [
      family,
      members.length,
      members.length === 1 ? first.name : `${first.name} … ${last.name}`,
      members.length === 1
        ? millions(first.parameters)
        : `${millions(first.parameters)} … ${millions(last.parameters)}`,
      sizesOf(members.map((m) => m.embeddingDim)),
      first.fixedInputSize ? `${first.defaultInputSize} only` : `≥ ${Math.min(...members.map((m) => m.minInputSize))}`,
    ],
  ];
});
table(
  ['family', 'models', 'smallest … largest', 'parameters', 'embedding sizes', 'input px'],
  SMALL ? familyRows.slice(0, 5) : familyRows,
);

// %% [One model in detail]
console.log('\nmodelInfo("resnet18"):', modelInfo('resnet18'));

// %% [Build a handful and measure them on this CPU]
// Random weights (no download): speed and size do not depend on the weights. Each model embeds the same
// batch in evaluation mode a few times; the first (warm-up) pass is not counted, the fastest of the rest is.
const names: ModelName[] = SMALL
  ? ['resnet18', 'mobilenet_v3_small']
  : [
      'mobilenet_v3_small',
      'shufflenet_v2_x1_0',
      'efficientnet_b0',
      'regnet_y_400mf',
      'resnet18',
      'resnet50',
      'convnext_tiny',
    ];
const SIZE = SMALL ? 64 : 128;
const BATCH = SMALL ? 8 : 32;
const REPEATS = SMALL ? 1 : 3;

await using rt = await Recognite.start();
const info = await rt.info();
console.log(
  `\nworker: torch ${info.torch} on ${info.device}, ${info.threads} threads; batches of ${BATCH} images of ${SIZE} px`,
);
const pixels = new Float32Array(BATCH * 3 * SIZE * SIZE);
for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i) * 0.5; // any values: speed does not depend on them
const batch = new Tensor(pixels, [BATCH, 3, SIZE, SIZE]);

const measured: Array<Array<string | number>> = [];
for (const modelName of names) {
  await using model = await rt.createRecognizer({ modelName });
  const warm = await model.embed(batch); // also the embedding's shape
  let fastest = Infinity; // the best of a few passes: the least disturbed by anything else on the machine
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    await model.embed(batch);
    fastest = Math.min(fastest, (performance.now() - start) / 1000);
  }
  const catalogInfo = modelInfo(modelName);
  measured.push([modelName, warm.shape[1] ?? 0, millions(catalogInfo.parameters), (BATCH / fastest).toFixed(0)]);
  process.stdout.write(`measured ${modelName}\n`);
}

// %% [The comparison]
console.log('');
table(['model', 'embedding', 'parameters', `CPU images/s (${SIZE} px)`], measured);
console.log(
  '\nPick by the accuracy you need on your data, then by speed: train two or three candidates briefly and compare.',
);
