// model.evaluate through the SDK: precomputed embeddings with known answers, data sets with progress, .npy files.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  Recognite,
  Tensor,
  ValidationError,
  loadNpy,
  saveNpy,
  type EvaluateProgress,
  type Recognizer,
} from 'recognite-ts';

let rt: Recognite;
let model: Recognizer;
let dir: string;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  model = await rt.createRecognizer({ modelName: 'resnet18' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-eval-'));
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

function rows(values: number[][]): Tensor<'float32'> {
  return new Tensor(Float32Array.from(values.flat()), [values.length, values[0]!.length]);
}

describe('evaluate precomputed embeddings', () => {
  // gallery: one reference per label along the axes; queries near them, the last one closest to the wrong label
  const gallery = {
    embeddings: rows([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]),
    labels: ['a', 'b', 'c'],
  };
  const query = {
    embeddings: rows([
      [0.9, 0.1, 0],
      [0.1, 0.9, 0.1],
      [0.2, 0, 0.9],
      [0.8, 0.5, 0],
    ]),
    labels: ['a', 'b', 'c', 'b'],
  };

  test('top-1, top-k, CMC and mAP have the hand-computed values', async () => {
    const report = await model.evaluate({ gallery, query, k: 2, topMatches: true });
    assert.equal(report.numQueries, 4);
    assert.equal(report.numGallery, 3);
    assert.equal(report.accuracy, 0.75);
    assert.equal(report.topKAccuracy, 1);
    assert.deepEqual(report.cmc, [0.75, 1]);
    assert.equal(report.mAP, (1 + 1 + 1 + 0.5) / 4); // the last query finds its only positive at rank 2
    assert.deepEqual(report.topMatches!.indices.shape, [4, 2]);
    assert.deepEqual([...report.topMatches!.indices.data].slice(0, 2), [0n, 1n]);
    assert.ok(report.thresholds.falseAcceptTargets.length >= 2);
  });

  test('per-query values, the full score matrix and the PR curves on request', async () => {
    const report = await model.evaluate({ gallery, query, perQuery: true, returnScores: true, curves: true });
    assert.deepEqual([...report.perQuery!.ap.data], [1, 1, 1, 0.5]);
    assert.deepEqual([...report.perQuery!.firstHitRank.data], [0n, 0n, 0n, 1n]);
    assert.deepEqual(report.scores!.shape, [4, 3]);
    const s = report.scores!.data;
    assert.ok(Math.abs(s[0]! - 0.9 / Math.hypot(0.9, 0.1)) < 1e-6, `cosine ${s[0]}`);
    assert.equal(report.curves!.length, 4);
    assert.deepEqual(report.curves![0]!.recall.at(-1), 0); // recognite's layout ends at (P 1, R 0)
  });

  test('a query label absent from the gallery counts as AP 0 in mAP and is skipped by mAPWithPositives', async () => {
    const q = {
      embeddings: rows([
        [1, 0, 0],
        [0, 0, 1],
      ]),
      labels: ['a', 'zzz'],
    };
    const report = await model.evaluate({ gallery, query: q });
    assert.equal(report.queriesWithoutPositives, 1);
    assert.equal(report.mAP, 0.5);
    assert.equal(report.mAPWithPositives, 1);
  });

  test('BAD CALL - labels that do not match the rows, an unknown metric, k of 0', async () => {
    await assert.rejects(
      model.evaluate({ gallery, query: { embeddings: query.embeddings, labels: ['a'] } }),
      /query\.labels: must hold one label per row \(4\)/,
    );
    await assert.rejects(model.evaluate({ gallery, query, metric: 'manhattan' as never }), ValidationError);
    await assert.rejects(model.evaluate({ gallery, query, k: 0 }), /k: must be >= 1/);
  });
});

describe('evaluate data sets', () => {
  test('embeds the gallery and the queries with progress, and returns the embeddings when asked', async () => {
    const ds = await rt.data.generateSynthetic({
      outDir: join(dir, 'ds'),
      identities: 6,
      samplesPerIdentity: 4,
      size: 32,
    });
    const split = await rt.data.galleryQuerySplit(ds, { outDir: join(dir, 'split'), numRefs: 1 });
    const phases = new Set<string>();
    const report = await model.evaluate({
      gallery: split.gallery,
      query: split.query,
      size: 32,
      returnEmbeddings: true,
      onProgress: (e: EvaluateProgress) => phases.add(e.phase),
    });
    assert.deepEqual([...phases].sort(), ['gallery', 'query', 'scoring']);
    assert.equal(report.numGallery, 6);
    assert.equal(report.numQueries, 18);
    assert.deepEqual(report.embeddings!.query.shape, [18, 512]);
    // the same numbers from the returned embeddings
    const again = await model.evaluate({
      gallery: { embeddings: report.embeddings!.gallery, labels: labelsOf(split.gallery.csv) },
      query: { embeddings: report.embeddings!.query, labels: labelsOf(split.query.csv) },
    });
    assert.equal(again.accuracy, report.accuracy);
    assert.equal(again.mAP, report.mAP);
  });
});

function labelsOf(csv: string): string[] {
  return readFileSync(csv, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').at(-1)!);
}

describe('evaluate: cancellation', () => {
  test('an AbortSignal stops the embedding after the current batch and rejects with AbortError', async () => {
    const ds = await rt.data.generateSynthetic({
      outDir: join(dir, 'abort'),
      identities: 6,
      samplesPerIdentity: 8,
      size: 32,
    });
    const split = await rt.data.galleryQuerySplit(ds, { outDir: join(dir, 'abort-split'), numRefs: 1 });
    const controller = new AbortController();
    await assert.rejects(
      model.evaluate({
        gallery: split.gallery,
        query: split.query,
        size: 32,
        batchSize: 2,
        signal: controller.signal,
        onProgress: () => {
          controller.abort();
        },
      }),
      AbortError,
    );
    assert.equal((await model.evaluate({ gallery: split.gallery, query: split.query, size: 32 })).numQueries, 42);
  });
});

describe('test-time augmentation', () => {
  test('flip and three-crop views change the embeddings, stay normalised, and keep the counts', async () => {
    const ds = await rt.data.generateSynthetic({
      outDir: join(dir, 'tta'),
      identities: 4,
      samplesPerIdentity: 3,
      size: 40,
    });
    const split = await rt.data.galleryQuerySplit(ds, { outDir: join(dir, 'tta-split'), numRefs: 1 });
    const base = { gallery: split.gallery, query: split.query, size: 32, returnEmbeddings: true } as const;
    const plain = await model.evaluate(base);
    for (const tta of ['flip', 'threeCrop', 'threeCropFlip'] as const) {
      const report = await model.evaluate({ ...base, tta });
      assert.equal(report.numQueries, 8);
      const q = report.embeddings!.query;
      assert.notDeepEqual([...q.data], [...plain.embeddings!.query.data], `${tta} changed nothing`);
      const norm = Math.hypot(...q.data.subarray(0, 512));
      assert.ok(Math.abs(norm - 1) < 1e-5, `${tta}: norm ${norm}`);
    }
  });
});

describe('.npy files', () => {
  test('round trip, and numpy reads what saveNpy wrote', async () => {
    const t = rows([
      [1.5, -2, 3],
      [4, 5, 6.25],
    ]);
    const path = join(dir, 'emb.npy');
    saveNpy(path, t);
    const back = loadNpy(path);
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual([...back.data], [...t.data]);
    const python = (await rt.info()).pythonExecutable;
    const out = execFileSync(
      python,
      ['-c', 'import sys, numpy; a = numpy.load(sys.argv[1]); print(a.dtype, a.shape, a.sum())', path],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(out.trim(), 'float32 (2, 3) 17.75');
    execFileSync(python, [
      '-c',
      'import sys, numpy; numpy.save(sys.argv[1], numpy.arange(6, dtype=numpy.int64).reshape(3, 2))',
      join(dir, 'np.npy'),
    ]);
    const fromNumpy = loadNpy(join(dir, 'np.npy'));
    assert.equal(fromNumpy.dtype, 'int64');
    assert.deepEqual(fromNumpy.shape, [3, 2]);
  });

  test('BAD CALL - a file that is not .npy', () => {
    writeFileSync(join(dir, 'junk.npy'), 'hello');
    assert.throws(() => loadNpy(join(dir, 'junk.npy')), /not a \.npy file/);
  });

  test('BAD CALL - missing files, folders and non-tensors are ValidationErrors that name the path', () => {
    const t = rows([[1, 2]]);
    const invalid = (pattern: RegExp) => (e: unknown) => e instanceof ValidationError && pattern.test(e.message);
    assert.throws(() => loadNpy(join(dir, 'nope.npy')), invalid(/nope\.npy: no such file or folder/));
    assert.throws(() => loadNpy(dir), invalid(/is a folder/));
    assert.throws(
      () => {
        saveNpy(join(dir, 'no-folder', 'x.npy'), t);
      },
      invalid(/no-folder.*no such file or folder/),
    );
    assert.throws(
      () => {
        saveNpy(dir, t);
      },
      invalid(/is a folder/),
    );
    assert.throws(
      () => {
        saveNpy(join(dir, 'x.npy'), [1, 2] as unknown as Tensor);
      },
      invalid(/must be a Tensor/),
    );
  });
});
