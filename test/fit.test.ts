// Training through the SDK on a synthetic data set: it learns, it stops when asked, it resumes exactly.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  BusyError,
  Recognite,
  Tensor,
  ValidationError,
  type FitEvent,
  type Recognizer,
  type SplitPart,
} from 'recognite-ts';

let rt: Recognite;
let dir: string;
let parts: { train: SplitPart; gallery: SplitPart; query: SplitPart };
const SIZE = 32;
const BASE = { batchSize: 32, size: SIZE, lr: 0.05, numWorkers: 0 } as const;

before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-fit-'));
  const ds = await rt.data.generateSynthetic({
    outDir: join(dir, 'ds'),
    identities: 40,
    samplesPerIdentity: 10,
    size: SIZE,
    seed: 7,
  });
  parts = await rt.data.trainValDatasets(ds, { outDir: join(dir, 'parts'), numFolds: 4, valFold: 0, numRefs: 1 });
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

function probe(): Tensor<'float32'> {
  return new Tensor(
    Float32Array.from({ length: 2 * 3 * SIZE * SIZE }, (_, i) => Math.sin(i / 7)),
    [2, 3, SIZE, SIZE],
  );
}

async function freshModel(initFrom?: string): Promise<Recognizer> {
  const model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: parts.train.labels });
  if (initFrom) await model.loadStateDict(initFrom);
  return model;
}

describe('fit', () => {
  test('the loss falls and unseen identities are recognised far above chance, with progress events', async () => {
    await using model = await freshModel();
    const events: FitEvent[] = [];
    const result = await model.fit({
      ...BASE,
      train: parts.train,
      validation: { gallery: parts.gallery, query: parts.query },
      epochs: 4,
      onProgress: (e) => events.push(e),
    });
    const [first, last] = [result.history[0]!, result.history.at(-1)!];
    assert.ok(last.loss < first.loss * 0.7, `loss ${first.loss} -> ${last.loss}`);
    assert.equal(last.chanceTop1, 0.1);
    assert.ok(last.top1! >= 3 * last.chanceTop1, `top-1 ${last.top1} vs chance ${last.chanceTop1}`);
    assert.equal(result.classes.length, parts.train.labels);
    const batches = events.filter((e) => e.type === 'batch');
    assert.ok(batches.length >= 4 * 9, `${batches.length} batch events`);
    assert.ok(batches.every((e) => e.samplesPerSec > 0 && e.etaSeconds >= 0));
    assert.deepEqual(
      events.filter((e) => e.type === 'epoch').map((e) => e.epoch),
      [1, 2, 3, 4],
    );
    assert.equal(model.training, true, 'fit leaves the mode as it found it');
  });

  test('an AbortSignal stops training after the current batch; the model and the last checkpoint stay usable', async () => {
    await using model = await freshModel();
    const controller = new AbortController();
    const checkpointDir = join(dir, 'ckpt-abort');
    const seen: FitEvent[] = [];
    await assert.rejects(
      model.fit({
        ...BASE,
        train: parts.train,
        epochs: 50,
        checkpointDir,
        signal: controller.signal,
        onProgress: (e) => {
          seen.push(e);
          if (e.type === 'batch' && e.epoch === 2 && e.step === 3) controller.abort();
        },
      }),
      AbortError,
    );
    const batchesAfterAbort = seen.filter((e) => e.type === 'batch' && e.epoch === 2 && e.step > 3).length;
    assert.ok(batchesAfterAbort <= 2, `${batchesAfterAbort} batches ran after the abort`);
    assert.ok(existsSync(join(checkpointDir, 'last.pt')), 'the epoch-1 checkpoint is there');
    assert.deepEqual((await model.embed(probe())).shape, [2, 512]);
    // the checkpoint resumes: one more epoch from epoch 1
    const resumed = await model.fit({
      ...BASE,
      train: parts.train,
      epochs: 2,
      resumeFrom: join(checkpointDir, 'last.pt'),
    });
    assert.deepEqual(
      resumed.history.map((h) => h.epoch),
      [1, 2],
    );
  });

  test('resuming from a checkpoint gives the same model as an uninterrupted run with the same seed', async () => {
    const init = join(dir, 'init.pt');
    {
      await using seedModel = await freshModel();
      await seedModel.saveStateDict(init);
    }
    await using whole = await freshModel(init);
    await whole.fit({ ...BASE, train: parts.train, epochs: 2, seed: 11 });

    await using firstHalf = await freshModel(init);
    await firstHalf.fit({ ...BASE, train: parts.train, epochs: 1, seed: 11, checkpointDir: join(dir, 'ckpt-resume') });
    await using resumed = await freshModel(); // its own random init: the checkpoint must replace it
    await resumed.fit({
      ...BASE,
      train: parts.train,
      epochs: 2,
      seed: 11,
      resumeFrom: join(dir, 'ckpt-resume', 'last.pt'),
    });

    const a = await whole.embed(probe());
    const b = await resumed.embed(probe());
    const maxDiff = Math.max(...a.data.map((v, i) => Math.abs(v - b.data[i]!)));
    assert.ok(maxDiff < 1e-5, `embeddings differ by ${maxDiff}`);
  });

  test('the same config and seed give the same run, with the default loader workers, whatever ran before', async () => {
    const run = async (): Promise<{ loss: number; embedding: Float32Array }> => {
      // only the required options, and hflip on so that augmentation draws random numbers in the loaders
      await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: parts.train.labels });
      const { history, config } = await model.fit({ train: parts.train, epochs: 1, size: SIZE, hflip: true });
      assert.ok(config.numWorkers >= 1 || availableParallelism() < 2, 'the default uses loader processes');
      return { loss: history[0]!.loss, embedding: (await model.embed(probe())).data };
    };
    const first = await run();
    {
      // other work in between, which used to move the random state the next model was drawn from
      await using other = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 3 });
      await other.forward(probe());
    }
    const second = await run();
    // same operations on the same inputs in one process: exact (no cross-machine comparison here)
    assert.equal(second.loss, first.loss);
    assert.deepEqual(second.embedding, first.embedding);
  });
});

describe('precision', () => {
  test("bf16: one epoch trains, FitResult.config says so, and bf16 embeddings agree with fp32's", async () => {
    await using model = await freshModel();
    const { history, config } = await model.fit({ ...BASE, train: parts.train, epochs: 1, precision: 'bf16' });
    assert.equal(config.precision, 'bf16');
    assert.ok(Number.isFinite(history[0]!.loss), `loss ${history[0]!.loss}`);
    const full = await model.embedDataset(parts.query, { size: SIZE });
    const half = await model.embedDataset(parts.query, { size: SIZE, precision: 'bf16' });
    assert.equal(half.embeddings.dtype, 'float32');
    const dim = full.embeddings.shape[1]!;
    for (let row = 0; row < full.embeddings.shape[0]!; row++) {
      const a = full.embeddings.data.subarray(row * dim, (row + 1) * dim);
      const b = half.embeddings.data.subarray(row * dim, (row + 1) * dim);
      const cosine = a.reduce((sum, v, i) => sum + v * b[i]!, 0); // both of norm 1
      assert.ok(cosine >= 0.99, `row ${row}: cosine ${cosine}`); // bf16 keeps 8 mantissa bits
    }
  });
});

describe('a model busy with a job', () => {
  test('BAD CALL - other calls on it are refused until fit() ends, then work again', async () => {
    await using model = await freshModel();
    const training = model.fit({ ...BASE, train: parts.train, epochs: 1 });
    const busy = (what: string) => (err: unknown) =>
      err instanceof BusyError && err.code === 'busy' && err.message.startsWith(`cannot ${what}: a fit(), embed()`);
    await assert.rejects(model.forward(probe()), busy('recognizer.forward'));
    await assert.rejects(model.fit({ ...BASE, train: parts.train, epochs: 1 }), busy('fit'));
    await training;
    assert.deepEqual((await model.embed(probe())).shape, [2, 512]);
  });
});

describe('embed image files', () => {
  test('a list of paths and the same rows as a data set give the same N × D embeddings, with progress', async () => {
    await using model = await freshModel();
    const lines = readFileSync(parts.query.csv, 'utf8').trim().split('\n').slice(1, 41);
    const paths = lines.map((l) => l.split(',')[0]!);
    const csv = join(dir, 'forty.csv');
    writeFileSync(csv, `image,label\n${lines.join('\n')}\n`);
    const events: number[] = [];
    const fromPaths = await model.embed(paths, { size: SIZE, batchSize: 16, onProgress: (e) => events.push(e.done) });
    const fromCsv = await model.embed({ csv }, { size: SIZE });
    assert.deepEqual(fromPaths.shape, [40, 512]);
    assert.deepEqual([...fromPaths.data], [...fromCsv.data]);
    assert.deepEqual(events, [16, 32, 40]);
    assert.equal(model.training, true, 'the mode is left as it was');
  });

  test('BAD CALL - missing files are listed by position; a bad size or an empty list is refused', async () => {
    await using model = await freshModel();
    await assert.rejects(
      model.embed([join(dir, 'nope-1.png'), join(dir, 'nope-2.png')], { size: SIZE }),
      /image paths that cannot be read: \[0\] .*nope-1\.png \(image file not found\); \[1\] .*nope-2\.png/,
    );
    await assert.rejects(model.embed([], { size: SIZE }), ValidationError);
    await assert.rejects(model.embed([join(dir, 'x.png')], { size: 0 }), /size: must be >= 1/);
  });
});

describe('fit checkpoints outside fit', () => {
  test('loadStateDict takes the model part of a fit() checkpoint', async () => {
    const checkpointDir = join(dir, 'ckpt-load');
    await using trained = await freshModel();
    await trained.fit({ ...BASE, train: parts.train, epochs: 1, checkpointDir });
    await using loaded = await freshModel();
    await loaded.loadStateDict(join(checkpointDir, 'last.pt'));
    assert.deepEqual([...(await loaded.embed(probe())).data], [...(await trained.embed(probe())).data]);

    // rt.loadRecognizer(path): the checkpoint says which model it is; only the path is required
    await using fromFile = await rt.loadRecognizer(join(checkpointDir, 'last.pt'));
    assert.equal(fromFile.config.modelName, 'resnet18');
    assert.equal(fromFile.numClasses, parts.train.labels);
    assert.equal(fromFile.training, false);
    assert.equal(fromFile.checkpoint?.kind, 'fit');
    assert.equal(fromFile.checkpoint.epoch, 1);
    assert.equal(fromFile.checkpoint.classes?.length, parts.train.labels);
    assert.deepEqual([...(await fromFile.embed(probe())).data], [...(await trained.embed(probe())).data]);
  });

  test('rt.loadRecognizer of a plain state dict needs the modelName it does not record', async () => {
    const path = join(dir, 'plain.pt');
    await using trained = await freshModel();
    await trained.saveStateDict(path);
    await assert.rejects(rt.loadRecognizer(path), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /plain state dict.*pass \{ modelName \}/);
      return true;
    });
    await using loaded = await rt.loadRecognizer(path, { modelName: 'resnet18' });
    assert.equal(loaded.numClasses, parts.train.labels);
    assert.equal(loaded.checkpoint?.kind, 'stateDict');
    assert.deepEqual([...(await loaded.embed(probe())).data], [...(await trained.embed(probe())).data]);
    // the wrong backbone names the keys that do not fit
    await assert.rejects(rt.loadRecognizer(path, { modelName: 'resnet34' }), /does not fit this model \(resnet34/);
    await assert.rejects(rt.loadRecognizer(join(dir, 'missing.pt')), /file not found/);
  });
});

describe('fit: bad inputs get typed errors and the worker survives', () => {
  function csvWith(name: string, body: string): string {
    const path = join(dir, name);
    writeFileSync(path, body);
    return path;
  }
  const firstImage = (): string => join(dir, 'ds', 'images', 'id00', '0.png');

  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    [
      'a missing column',
      async () =>
        (await freshModel()).fit({ ...BASE, epochs: 1, train: { csv: csvWith('a.csv', 'path,label\nx.png,1\n') } }),
      /has no column 'image'.*set imageColumn/,
    ],
    [
      'an empty label',
      async () =>
        (await freshModel()).fit({
          ...BASE,
          epochs: 1,
          train: { csv: csvWith('b.csv', `image,label\n${firstImage()},\n`) },
        }),
      /row 2: empty label/,
    ],
    [
      'a missing image file',
      async () =>
        (await freshModel()).fit({ ...BASE, epochs: 1, train: { csv: csvWith('c.csv', 'image,label\nnope.png,a\n') } }),
      /row 2: image file not found: .*nope\.png/,
    ],
    [
      'an empty data set',
      async () => (await freshModel()).fit({ ...BASE, epochs: 1, train: { csv: csvWith('d.csv', 'image,label\n') } }),
      /has no rows/,
    ],
    [
      'an undecodable image',
      async () => {
        writeFileSync(join(dir, 'junk.png'), 'not a png');
        const rows = Array.from({ length: 30 }, (_, i) => `junk.png,${i}`).join('\n');
        return (await freshModel()).fit({
          ...BASE,
          epochs: 1,
          train: { csv: csvWith('e.csv', `image,label\n${rows}\n`) },
        });
      },
      /cannot decode image .*junk\.png \(CSV row 2|cannot decode image .*junk\.png/,
    ],
    [
      'numClasses that does not match the labels',
      async () => {
        const m = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 3 });
        return m.fit({ ...BASE, epochs: 1, train: parts.train });
      },
      /the training set has 30 labels but the model has numClasses 3: create it with numClasses: 30/,
    ],
    [
      'a model without a classifier',
      async () =>
        (await rt.createRecognizer({ modelName: 'resnet18' })).fit({ ...BASE, epochs: 1, train: parts.train }),
      /numClasses: this model has no classifier/,
    ],
    [
      'resumeFrom a file that is not a fit() checkpoint',
      async () => {
        const m = await freshModel();
        await m.saveStateDict(join(dir, 'plain-state.pt'));
        return m.fit({ ...BASE, epochs: 1, train: parts.train, resumeFrom: join(dir, 'plain-state.pt') });
      },
      /plain-state\.pt is not a fit\(\) checkpoint/,
    ],
    [
      'a checkpointDir that is a file',
      async () =>
        (await freshModel()).fit({ ...BASE, epochs: 1, train: parts.train, checkpointDir: csvWith('f.csv', 'x') }),
      /cannot use .*f\.csv as a folder/,
    ],
    [
      'a misspelt option',
      async () => (await freshModel()).fit({ ...BASE, epoch: 1, train: parts.train } as never),
      /epoch: unknown option \(did you mean 'epochs'\?\)/,
    ],
  ];
  for (const [what, run, fragment] of cases) {
    test(`BAD CALL - ${what}`, async () => {
      await assert.rejects(run(), (err: unknown) => {
        assert.ok(err instanceof ValidationError, String(err));
        assert.match(err.message, fragment);
        return true;
      });
      await rt.info();
    });
  }
});
