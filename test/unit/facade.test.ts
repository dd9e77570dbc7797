// Unit tests of the TypeScript facade against a fake worker (no Python): every public call, made with
// only its required arguments, sends a completely resolved config; every option check is a typed error.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  BusyError,
  DataApi,
  defaultNumWorkers,
  modelInfo,
  Recognizer,
  Tensor,
  ValidationError,
  type DatasetRef,
  type ModelName,
} from 'recognite-ts';
import { assertResolved, FakeWorker } from './fake-worker.js';

const dir = mkdtempSync(join(tmpdir(), 'recognite-unit-'));
const csv = join(dir, 'data.csv');
writeFileSync(csv, 'image,label\na.png,x\n');
const ds: DatasetRef = { csv };

async function model(
  numClasses: number | null = 10,
  modelName: ModelName = 'resnet18',
): Promise<{ worker: FakeWorker; model: Recognizer }> {
  const worker = new FakeWorker();
  const config = numClasses === null ? { modelName } : { modelName, numClasses };
  return { worker, model: await Recognizer.create(worker, config) };
}

function problemPaths(fn: () => unknown): Promise<string[]> {
  return Promise.resolve()
    .then(fn)
    .then(
      () => assert.fail('expected a ValidationError'),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${String(err)}`);
        return err.problems.map((p) => p.path);
      },
    );
}

describe('minimal calls send resolved configs', () => {
  test('createRecognizer({ modelName })', async () => {
    const { worker, model: m } = await model(null);
    const { config } = worker.last('recognizer.create') as { config: Record<string, unknown> };
    assertResolved('RecognizerConfig', config);
    assert.deepEqual(config, {
      modelName: 'resnet18',
      numClasses: null,
      weights: null,
      weightsPath: null,
      clfBias: false,
      normalize: true,
      seed: 0,
    });
    assert.deepEqual(m.config, config);
  });

  test('fit({ train, epochs }): every option filled in once, and FitResult.config says what ran', async () => {
    const { worker, model: m } = await model();
    const result = await m.fit({ train: ds, epochs: 1 });
    const { options } = worker.last('recognizer.fit') as { options: Record<string, unknown> };
    assertResolved('FitConfig', options);
    assert.equal(options.batchSize, 32);
    assert.equal(options.hflip, false);
    assert.equal(options.size, modelInfo('resnet18').defaultInputSize);
    assert.equal(options.numWorkers, defaultNumWorkers());
    assert.equal(options.validation, null);
    assert.equal(options.checkpointDir, null);
    assert.equal(options.precision, 'fp32');
    assert.deepEqual(options.train, { csv, imageColumn: 'image', labelColumn: 'label' });
    assert.deepEqual(result.config, options);
    const bf16 = await m.fit({ train: ds, epochs: 1, precision: 'bf16' });
    assert.equal(bf16.config.precision, 'bf16');
  });

  test('embed(paths) and embedDataset(ds)', async () => {
    const { worker, model: m } = await model();
    await m.embed(['a.png']);
    const first = worker.last('recognizer.embedFiles') as { options: unknown; paths: string[]; dataset: unknown };
    assertResolved('EmbedConfig', first.options);
    assert.equal((first.options as { precision: string }).precision, 'fp32');
    assert.equal(first.dataset, null);
    assert.equal(first.paths.length, 1);
    worker.jobDone = true;
    await m.embedDataset(ds);
    const second = worker.last('recognizer.embedFiles') as { dataset: unknown; paths: unknown };
    assert.equal(second.paths, null);
    assertResolved('DatasetRef', second.dataset);
  });

  test('evaluate({ gallery, query })', async () => {
    const { worker, model: m } = await model();
    const embeddings = new Tensor(new Float32Array(4), [2, 2]);
    await m.evaluate({ gallery: ds, query: { embeddings, labels: ['a', 'b'] } });
    const payload = worker.last('recognizer.evaluate') as { options: Record<string, unknown>; gallery: unknown };
    assertResolved('EvaluateConfig', payload.options);
    assert.equal(payload.options.chunkSize, null);
    assert.equal(payload.options.k, 5);
    assertResolved('DatasetRef', (payload.gallery as { dataset: unknown }).dataset);
  });

  test('data helpers: generateSynthetic({ outDir, identities, samplesPerIdentity }) and the splits({ outDir })', async () => {
    const worker = new FakeWorker();
    const data = new DataApi(worker);
    worker.jobDone = true;
    await data.generateSynthetic({ outDir: dir, identities: 2, samplesPerIdentity: 1 }).catch(() => {});
    assertResolved('SyntheticOptions', worker.last('data.synthetic'));
    for (const split of ['kFoldSplit', 'galleryQuerySplit', 'trainValDatasets'] as const) {
      await data[split](ds, { outDir: dir }).catch(() => {}); // the fake writes no parts
      const payload = worker.last('data.split');
      assertResolved('SplitOptions', payload);
      assertResolved('DatasetRef', payload.dataset);
    }
  });
});

describe('typed errors, before anything reaches the worker', () => {
  test('BAD CALL - a model busy with a job refuses other calls with BusyError', async () => {
    const { worker, model: m } = await model();
    worker.jobDone = false;
    const fit = m.fit({ train: ds, epochs: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await assert.rejects(m.eval(), (err: unknown) => err instanceof BusyError && err.code === 'busy');
    worker.jobDone = true;
    await fit;
  });

  test('BAD CALL - fit without a classifier, a size below the minimum, a missing checkpoint', async () => {
    const { model: m } = await model(null);
    const paths = await problemPaths(() => m.fit({ train: ds, epochs: 1, resumeFrom: join(dir, 'missing.pt') }));
    assert.deepEqual(paths.sort(), ['numClasses', 'resumeFrom']);
    const { model: alexnet } = await model(10, 'alexnet'); // needs at least 63 px
    assert.deepEqual(await problemPaths(() => alexnet.fit({ train: ds, epochs: 1, size: 32 })), ['size']);
    assert.deepEqual(await problemPaths(() => alexnet.embed(['a.png'], { size: 32 })), ['size']);
  });

  test('BAD CALL - schema checks: a misspelt option, a wrong type, a missing required option', async () => {
    const { model: m } = await model();
    assert.deepEqual(await problemPaths(() => m.fit({ train: ds, epochs: 1, batchsize: 3 } as never)), ['batchsize']);
    assert.deepEqual(await problemPaths(() => m.fit({ train: ds, epochs: 0.5 })), ['epochs', 'epochs']); // integer, ≥ 1
    assert.deepEqual(await problemPaths(() => m.fit({ train: ds } as never)), ['epochs']);
    assert.deepEqual(await problemPaths(() => m.embed(['a.png'], { tta: 'mirror' as never })), ['tta']);
    assert.deepEqual(await problemPaths(() => m.fit({ train: ds, epochs: 1, precision: 'fp8' as never })), [
      'precision',
    ]);
    assert.deepEqual(await problemPaths(() => m.evaluate({ gallery: ds, query: ds, metric: 'l2' as never })), [
      'metric',
    ]);
  });

  test('BAD CALL - evaluation sides: embeddings of the wrong type, labels that do not match the rows', async () => {
    const { model: m } = await model();
    const ints = new Tensor(new Int32Array(4), [2, 2]);
    const floats = new Tensor(new Float32Array(4), [2, 2]);
    assert.deepEqual(
      await problemPaths(() => m.evaluate({ gallery: ds, query: { embeddings: ints as never, labels: [1, 2] } })),
      ['query.embeddings'],
    );
    assert.deepEqual(
      await problemPaths(() => m.evaluate({ gallery: { embeddings: floats, labels: [1] }, query: ds })),
      ['gallery.labels'],
    );
  });

  test('BAD CALL - labels of embeddings that are not strings or numbers', async () => {
    const { model: m } = await model();
    const floats = new Tensor(new Float32Array(4), [2, 2]);
    const labels = ['a', { id: 1 }] as never;
    assert.deepEqual(await problemPaths(() => m.evaluate({ gallery: { embeddings: floats, labels }, query: ds })), [
      'gallery.labels[1]',
    ]);
  });

  test('BAD CALL - seeds beyond 32 bits (numpy seeds the splits and the loaders)', async () => {
    const { model: m } = await model();
    assert.deepEqual(await problemPaths(() => m.fit({ train: ds, epochs: 1, seed: 2 ** 32 })), ['seed']);
    const data = new DataApi(new FakeWorker());
    assert.deepEqual(await problemPaths(() => data.kFoldSplit(ds, { outDir: dir, refSeed: 2 ** 32 })), ['refSeed']);
  });

  test('BAD CALL - embed: an empty list, an empty path, a non-data-set object', async () => {
    const { model: m } = await model();
    assert.deepEqual(await problemPaths(() => m.embed([])), ['paths']);
    assert.deepEqual(await problemPaths(() => m.embed(['a.png', ''])), ['paths[1]']);
    assert.deepEqual(await problemPaths(() => m.embedDataset([] as never)), ['']);
  });

  test('BAD CALL - splits: valFold must be below numFolds', async () => {
    const data = new DataApi(new FakeWorker());
    assert.deepEqual(await problemPaths(() => data.kFoldSplit(ds, { outDir: dir, numFolds: 3, valFold: 3 })), [
      'valFold',
    ]);
  });
});
