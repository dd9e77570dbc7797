// Deploy without Python: train with the worker, export the model to ONNX and save a gallery, then close
// the worker and recognise new images in Node alone (onnxruntime-node + sharp), with the same answers.
// Run it with `npx tsx examples/deploy-without-python.ts` (RECOGNITE_EXAMPLE_SMALL=1: a tiny run).

// %% [Setup]
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Recognite, type QueryAnswer } from 'recognite-ts';
import { loadGallery, OnnxRecognizer } from 'recognite-ts/deploy';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
const OUT = join(import.meta.dirname, '..', 'out', 'examples', SMALL ? 'small' : '', 'deploy-without-python');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const SIZE = SMALL ? 32 : 64;
const onnxPath = join(OUT, 'model.onnx');
const galleryDir = join(OUT, 'gallery');
const verdict = (a: QueryAnswer | undefined): string =>
  a === undefined ? '-' : a.label === null ? 'unknown' : String(a.label);

// %% [With the worker: train, export, enrol]
// Everything that needs torch happens here; afterwards the worker is closed.
let queries: string[];
let workerAnswers: QueryAnswer[];
let workerEmbeddings: Float32Array;
{
  await using rt = await Recognite.start();
  const data = await rt.data.generateSynthetic({
    outDir: join(OUT, 'data'),
    identities: SMALL ? 10 : 40,
    samplesPerIdentity: SMALL ? 4 : 8,
    size: SIZE,
  });
  const parts = await rt.data.trainValDatasets(data, { outDir: join(OUT, 'split'), numFolds: SMALL ? 3 : 4 });
  await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: parts.train.labels });
  await model.fit({ train: parts.train, epochs: SMALL ? 1 : 3, batchSize: 32, size: SIZE, lr: 0.05 });

  const { sidecar } = await model.exportOnnx(onnxPath, { size: SIZE });
  console.log(
    `exported ${relative(process.cwd(), onnxPath)}: ${sidecar.modelName}, ${sidecar.embeddingDim}-d, ` +
      `${sidecar.inputSize} px, opset ${sidecar.opset}; the worker's check: max |Δ| ${sidecar.check.maxAbsDiff.toExponential(1)}, ` +
      `cosine ≥ ${sidecar.check.minCosine.toFixed(6)}`,
  );

  await using people = await rt.createGallery({ model });
  await people.add(parts.gallery, { size: SIZE });
  await people.save(galleryDir);
  queries = queryPaths(parts.query.csv);
  workerAnswers = (await people.identify(queries, { k: 3, size: SIZE })).answers;
  workerEmbeddings = (await model.embed(queries, { size: SIZE })).data;
  console.log(`gallery: ${people.size} references; ${queries.length} query images; the worker closes now`);
}

/** The image paths of a CSV this SDK wrote (absolute paths, no quoted fields). */
function queryPaths(csv: string): string[] {
  return readFileSync(csv, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0] ?? '');
}

// %% [In Node alone: the exported model]
// `recognite-ts/deploy` loads no Python: onnxruntime-node runs the graph, sharp decodes the images and
// the worker's own resize, crop and normalisation are applied in TypeScript.
await using onnx = await OnnxRecognizer.load(onnxPath);
const started = performance.now();
const embeddings = await onnx.embed(queries);
const seconds = (performance.now() - started) / 1000;
let maxDiff = 0;
embeddings.data.forEach((v, i) => {
  maxDiff = Math.max(maxDiff, Math.abs(v - (workerEmbeddings[i] ?? Number.NaN)));
});
console.log(
  `OnnxRecognizer: ${queries.length} images in ${seconds.toFixed(2)} s (${(queries.length / seconds).toFixed(0)} images/s); ` +
    `largest difference from the worker's embeddings: ${maxDiff.toExponential(1)}`,
);

// %% [In Node alone: the saved gallery answers]
const gallery = await loadGallery(galleryDir, { model: onnx });
const { answers } = await gallery.identify(queries, { k: 3 });
const same = answers.filter((a, i) => verdict(a) === verdict(workerAnswers[i])).length;
console.log('| query | verdict (Node) | verdict (worker) | top matches (Node) |');
console.log('| --- | --- | --- | --- |');
for (const [i, a] of answers.slice(0, SMALL ? answers.length : 8).entries()) {
  const top = a.matches.map((m) => `${String(m.label)} ${m.score.toFixed(3)}`).join(', ');
  console.log(`| ${relative(OUT, queries[i] ?? '')} | ${verdict(a)} | ${verdict(workerAnswers[i])} | ${top} |`);
}
console.log(`${same} of ${answers.length} verdicts are the worker's`);
