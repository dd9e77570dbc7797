// Every public call, made with only its required arguments exactly as the README's "Every call at a
// glance" shows it, against the real worker: a documented default that is not applied fails here.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  allModelInfo,
  isSupportedModel,
  loadNpy,
  modelInfo,
  Recognite,
  saveNpy,
  SUPPORTED_MODELS,
  Tensor,
} from 'recognite-ts';

const dir = mkdtempSync(join(tmpdir(), 'recognite-minimal-'));
const at = (name: string): string => join(dir, name);
let rt: Recognite;

before(async () => {
  rt = await Recognite.start();
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the catalog: SUPPORTED_MODELS, isSupportedModel, modelInfo, allModelInfo', () => {
  assert.equal(SUPPORTED_MODELS.length, 78);
  assert.ok(isSupportedModel('resnet18'));
  assert.equal(modelInfo('resnet18').embeddingDim, 512);
  assert.equal(allModelInfo().length, 78);
});

test('the session: start(), info(), echo(tensor)', async () => {
  const info = await rt.info();
  assert.equal(info.device, 'cpu');
  assert.equal(info.gpuName, null); // GPU name and memory only on a GPU
  assert.equal(info.gpuMemoryBytes, null);
  const t = new Tensor(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const copy = await rt.echo(t);
  assert.deepEqual([...copy.data], [...t.data]);
  using view = await rt.echo(t, { view: true }); // a TensorView, released at the end of the block
  assert.deepEqual([...view.data], [...t.data]);
});

test('data, model, training, embedding and evaluation with only their required options', async () => {
  const ds = await rt.data.generateSynthetic({ outDir: at('data'), identities: 10, samplesPerIdentity: 4 });
  assert.equal(ds.size, 64); // the documented default size
  assert.equal(ds.format, 'png');
  const { train, val } = await rt.data.kFoldSplit(ds, { outDir: at('folds') });
  assert.equal(train.labels + val.labels, 10);
  assert.equal(val.labels, 2); // 5 folds by default
  const { gallery, query } = await rt.data.galleryQuerySplit(val, { outDir: at('gq') });
  assert.equal(gallery.rows, 2); // one reference per label by default
  const parts = await rt.data.trainValDatasets(ds, { outDir: at('parts') });
  assert.equal(parts.gallery.rows, 2);
  const counted = await rt.data.describe(train);
  assert.deepEqual([counted.rows, counted.labels], [train.rows, train.labels]);
  const photos = await rt.data.fromFolder(ds.imageDir, { csv: at('photos.csv') }); // the synthetic images/<identity>/ tree
  assert.deepEqual([photos.rows, photos.labels], [40, 10]);

  await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: train.labels });
  assert.equal(model.training, true);
  const result = await model.fit({ train, epochs: 1 });
  assert.equal(result.history.length, 1);
  assert.ok(Number.isFinite(result.history[0]!.loss));
  assert.equal(result.config.batchSize, 32);
  assert.equal(result.config.size, 224);
  assert.equal(result.config.hflip, false);
  assert.deepEqual(result.classes.length, train.labels);

  const x = new Tensor(new Float32Array(2 * 3 * 64 * 64).fill(0.5), [2, 3, 64, 64]);
  assert.deepEqual((await model.forward(x)).shape, [2, train.labels]); // training mode: logits
  await model.eval();
  assert.deepEqual((await model.forward(x)).shape, [2, 512]); // evaluation mode: embeddings
  await model.train();
  assert.deepEqual((await model.embed(x)).shape, [2, 512]);

  const fromSet = await model.embedDataset(gallery);
  assert.deepEqual(fromSet.embeddings.shape, [gallery.rows, 512]);
  assert.equal(fromSet.labels.length, gallery.rows);
  assert.deepEqual((await model.embed(gallery)).shape, [gallery.rows, 512]);

  const report = await model.evaluate({ gallery, query });
  assert.equal(report.numQueries, query.rows);
  assert.equal(report.k, 5);
  assert.equal(report.metric, 'cosine');
  assert.ok(report.accuracy >= 0 && report.accuracy <= 1);

  await report.saveHtml(at('report.html'));
  assert.match(readFileSync(at('report.html'), 'utf8'), /^<!DOCTYPE html>/i);

  const weights = await model.classifierWeights();
  assert.deepEqual(weights?.weight.shape, [train.labels, 512]);
  await model.saveStateDict(at('model.pt'));
  await model.loadStateDict(at('model.pt'));
  {
    await using loaded = await rt.loadRecognizer(at('model.pt'), { modelName: 'resnet18' });
    assert.equal(loaded.numClasses, train.labels); // read from the file
    assert.equal(loaded.training, false);
  }
  {
    const exported = await model.exportOnnx(at('model.onnx')); // the embedding path and its sidecar, checked
    assert.equal(exported.sidecar.inputSize, 224); // the model's defaultInputSize
    assert.equal(exported.sidecar.input.dynamicBatch, true);
    assert.equal(exported.sidecarPath, `${at('model.onnx')}.json`);
  }

  saveNpy(at('gallery.npy'), fromSet.embeddings);
  assert.deepEqual(loadNpy(at('gallery.npy')).shape, [gallery.rows, 512]);
  const again = await model.evaluate({ gallery: fromSet, query: await model.embedDataset(query) });
  assert.equal(again.numGallery, gallery.rows);
  await model.dispose();
});

test('a gallery with only its required options: create, add, identify, calibrate, verify, save, load', async () => {
  const ds = await rt.data.generateSynthetic({ outDir: at('people'), identities: 4, samplesPerIdentity: 3 });
  const { gallery, query } = await rt.data.galleryQuerySplit(ds, { outDir: at('people-gq') });
  await using model = await rt.createRecognizer({ modelName: 'resnet18' });

  await using people = await rt.createGallery({ model });
  assert.equal(await people.add(gallery), 4);
  const { answers } = await people.identify(query);
  assert.equal(answers.length, query.rows);
  assert.equal(answers[0]!.matches.length, 4); // k defaults to 5, capped at the 4 references
  const calibration = await people.calibrate(query);
  assert.equal(calibration.targetFar, 0.01); // the documented default
  assert.equal(people.threshold, calibration.threshold);
  const image = join(ds.imageDir, 'id0000', '0.png');
  const { same, scores } = await people.verify(image, image);
  assert.deepEqual(same, [true]);
  assert.ok(Math.abs(scores[0]! - 1) < 1e-5);
  await people.save(at('people-gallery'));
  await using again = await rt.loadGallery(at('people-gallery'), { model });
  assert.deepEqual((await again.identify(query)).answers, (await people.identify(query)).answers);
});
