// Galleries against the real worker: enrol, identify (with unknowns), verify, calibrate, save/load, FAISS, bad inputs.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClosedError, Recognite, Tensor, ValidationError, type Recognizer, type SplitPart } from 'recognite-ts';

let rt: Recognite;
let model: Recognizer;
let dir: string;
let gallerySet: SplitPart;
let querySet: SplitPart;

before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  model = await rt.createRecognizer({ modelName: 'resnet18' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-gallery-'));
  const data = await rt.data.generateSynthetic({
    outDir: join(dir, 'synth'),
    identities: 6,
    samplesPerIdentity: 3,
    size: 32,
  });
  ({ gallery: gallerySet, query: querySet } = await rt.data.galleryQuerySplit(data, { outDir: join(dir, 'split') }));
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Embeddings around one centre per label (seeded), and their labels. */
function clusters(labels: number, perLabel: number, dim: number, seed: number, spread = 0.15, noiseSeed = seed) {
  const generator = (start: number) => {
    let state = start + 1;
    return (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648 - 0.5;
    };
  };
  const centre = generator(seed);
  const centres = Array.from({ length: labels }, () => Array.from({ length: dim }, centre));
  const random = generator(noiseSeed + 7919);
  const rows: number[] = [];
  const names: string[] = [];
  for (let l = 0; l < labels; l++) {
    for (let i = 0; i < perLabel; i++) {
      rows.push(...centres[l]!.map((c) => c + spread * random()));
      names.push(`id${l}`);
    }
  }
  return { embeddings: new Tensor(Float32Array.from(rows), [names.length, dim]), labels: names, centres };
}

/**
 * Rows of two searches agree at the first `ranks` ranks of each query, except where two references score
 * within 1e-5 of each other: two computations of the same scores (torch vs FAISS, another chunking, another
 * CPU) may round the last bits differently and swap near-tied neighbours. All three arrays are queries × width.
 */
function assertSameRows(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  scores: ArrayLike<number>,
  width: number,
  ranks = width,
): void {
  for (let i = 0; i < got.length; i++) {
    const [q, j] = [Math.floor(i / width), i % width];
    if (j >= ranks || got[i] === want[i]) continue;
    const neighbours = [j - 1, j + 1].filter((n) => n >= 0 && n < width).map((n) => scores[q * width + n]!);
    const tie = neighbours.some((s) => Math.abs(s - scores[i]!) <= 1e-5);
    assert.ok(tie, `query ${q}, rank ${j}: row ${got[i]} instead of ${want[i]} without a near-tie`);
  }
}

function rowsOf(values: number[][]): Tensor<'float32'> {
  return new Tensor(Float32Array.from(values.flat()), [values.length, values[0]!.length]);
}

describe('a gallery of a model, with only the required options', () => {
  test('identify gives the same top-1 as evaluate on the same gallery and queries', async () => {
    await using gallery = await rt.createGallery({ model });
    assert.equal(await gallery.add(gallerySet), gallerySet.rows);
    assert.equal(gallery.size, gallerySet.rows);
    assert.equal(gallery.metric, 'cosine');
    assert.equal(gallery.backend, 'exact');
    const result = await gallery.identify(querySet);
    const report = await model.evaluate({ gallery: gallerySet, query: querySet, topMatches: true });
    assert.equal(result.answers.length, querySet.rows);
    assert.equal(result.threshold, null);
    const evaluated = Array.from(report.topMatches!.indices.data, Number);
    const k = report.topMatches!.indices.shape[1]!;
    // the same best row as evaluate (up to a near-tie of the two best)
    assertSameRows(Array.from(result.rows.data), evaluated, report.topMatches!.scores.data, k, 1);
    result.answers.forEach((answer, q) => {
      assert.equal(answer.matches.length, 5, 'k defaults to 5');
      assert.equal(answer.label, answer.matches[0]!.label, 'without a threshold the verdict is the best label');
      assert.ok(Math.abs(answer.score - report.topMatches!.scores.data[q * k]!) < 1e-5);
    });
  });

  test('model.createGallery, verify pairs of image files, and identify a list of paths', async () => {
    await using gallery = await model.createGallery();
    await gallery.add(gallerySet);
    const paths = readFileSync(querySet.csv, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => resolve(join(dir, 'split'), l.split(',')[0]!));
    const byPaths = await gallery.identify(paths.slice(0, 3));
    const byData = await gallery.identify(querySet);
    assert.deepEqual(byPaths.answers, byData.answers.slice(0, 3));
    await gallery.setThreshold(0.5);
    const same = await gallery.verify(paths[0]!, paths[0]!);
    assert.deepEqual(same.same, [true]);
    assert.ok(Math.abs(same.scores[0]! - 1) < 1e-5, 'an image scores 1 against itself');
    assert.equal(same.threshold, 0.5);
  });
});

describe('open-set answers from embeddings', () => {
  test('calibrate stores a threshold that rejects identities not enrolled, and reports the open-set figures', async () => {
    const refs = clusters(12, 4, 16, 1, 0.3);
    await using gallery = await rt.createGallery({ dim: 16 });
    const enrolled = 24; // id0..id5 enrolled, id6..id11 never
    await gallery.add({
      embeddings: new Tensor(refs.embeddings.data.slice(0, enrolled * 16), [enrolled, 16]),
      labels: refs.labels.slice(0, enrolled),
    });
    const validation = clusters(12, 4, 16, 1, 1.2, 2); // same centres, other and more noise
    const report = await gallery.calibrate({ embeddings: validation.embeddings, labels: validation.labels });
    assert.equal(report.strategy, 'far');
    assert.equal(report.targetFar, 0.01);
    assert.equal(report.known, 24);
    assert.equal(report.unknown, 24);
    assert.equal(gallery.threshold, report.threshold);
    assert.ok(report.far !== null && report.far <= 0.01);
    const result = await gallery.identify(validation.embeddings, { k: 3 });
    const rejected = result.answers.slice(24).filter((a) => a.label === null).length / 24;
    assert.ok(Math.abs(rejected - report.unknownRejection!) < 1e-9, 'identify applies the calibrated threshold');
    const right = result.answers.filter((a, i) =>
      i < 24 ? a.label === validation.labels[i] : a.label === null,
    ).length;
    assert.ok(Math.abs(right / 48 - report.openSetAccuracy!) < 1e-9);
    console.log(
      `open-set: accuracy ${report.openSetAccuracy}, TAR ${report.tar} at FAR ${report.far}, DIR ${report.identificationRate}, unknowns rejected ${report.unknownRejection}`,
    );
  });

  test('save → load → identify gives identical answers, and the folder is checked', async () => {
    const refs = clusters(10, 3, 8, 2);
    await using gallery = await rt.createGallery({ dim: 8, backend: 'faiss', index: 'IVF4,Flat', nprobe: 2 });
    await gallery.add(refs);
    await assert.rejects(
      gallery.identify(refs.embeddings),
      (e: unknown) => e instanceof ValidationError && /not trained yet/.test(e.message),
    );
    assert.equal(await gallery.train(), 30);
    await gallery.setThreshold(0.8);
    const before = await gallery.identify(refs.embeddings, { k: 4 });
    const folder = join(dir, 'saved');
    await gallery.save(folder);
    await using loaded = await rt.loadGallery(folder);
    assert.equal(loaded.threshold, 0.8);
    assert.equal(loaded.size, 30);
    assert.deepEqual((await loaded.identify(refs.embeddings, { k: 4 })).answers, before.answers);
    // damaged, foreign
    const data = readdirSync(folder).find((n) => n.startsWith('data-'))!;
    const npy = join(folder, data, 'embeddings.npy');
    const bytes = readFileSync(npy);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(npy, bytes);
    await assert.rejects(
      rt.loadGallery(folder),
      (e: unknown) => e instanceof ValidationError && /embeddings.npy is damaged/.test(e.message),
    );
    await assert.rejects(
      rt.loadGallery(join(dir, 'split')),
      (e: unknown) => e instanceof ValidationError && /gallery.json is missing/.test(e.message),
    );
  });

  test('a gallery saved with one model refuses another', async () => {
    await using gallery = await rt.createGallery({ model });
    await gallery.add(gallerySet);
    const folder = join(dir, 'with-model');
    await gallery.save(folder);
    const info = gallery.modelInfo;
    assert.ok(info, 'the gallery records its model');
    assert.equal(info.modelName, 'resnet18');
    assert.match(info.fingerprint ?? '', /^[0-9a-f]{16}$/);
    await using same = await rt.loadGallery(folder, { model });
    assert.equal(same.size, gallerySet.rows);
    const other = await rt.createRecognizer({ modelName: 'resnet18', seed: 7 });
    await assert.rejects(
      rt.loadGallery(folder, { model: other }),
      (e: unknown) => e instanceof ValidationError && /other resnet18 weights/.test(e.message),
    );
    await other.dispose();
  });

  test('FAISS Flat agrees with exact search; HNSW reports its recall', async () => {
    const refs = clusters(40, 5, 32, 3, 0.3);
    await using exact = await rt.createGallery({ dim: 32 });
    await using flat = await rt.createGallery({ dim: 32, backend: 'faiss' });
    await using hnsw = await rt.createGallery({ dim: 32, backend: 'faiss', index: 'HNSW16', efSearch: 32 });
    for (const g of [exact, flat, hnsw]) await g.add(refs);
    const a = await exact.identify(refs.embeddings, { k: 10 });
    const b = await flat.identify(refs.embeddings, { k: 10 });
    assertSameRows(Array.from(b.rows.data), Array.from(a.rows.data), a.scores.data, 10);
    a.scores.data.forEach((s, i) => {
      assert.ok(Math.abs(s - b.scores.data[i]!) < 1e-5);
    });
    const flatRecall = await flat.measureRecall(); // only the defaults: 1000 sampled (all 200 here), k 10
    assert.equal(flatRecall.sample, 200);
    assert.ok(flatRecall.recall >= 0.99, `Flat is exact search, up to near-ties: recall ${flatRecall.recall}`);
    const recall = await hnsw.measureRecall({ sample: 100 });
    assert.equal(recall.k, 10);
    assert.ok(recall.recall > 0.9 && recall.recall <= 1, `HNSW recall@10 ${recall.recall}`);
  });

  test('remove, labels, knn votes and averaged references', async () => {
    await using gallery = await rt.createGallery({ dim: 2, averageReferences: true });
    await gallery.add({
      embeddings: rowsOf([
        [1, 0],
        [0.9, 0.1],
        [0, 1],
      ]),
      labels: ['a', 'a', 'b'],
    });
    assert.deepEqual(await gallery.labels(), ['a', 'b']);
    const answer = (await gallery.identify(rowsOf([[1, 0.05]]), { k: 2, vote: 'knn' })).answers[0]!;
    assert.equal(answer.label, 'a');
    assert.deepEqual(
      answer.matches.map((m) => m.row),
      [-1, -1],
    );
    assert.equal(await gallery.remove('a'), 2);
    assert.equal(gallery.size, 1);
    assert.equal((await gallery.identify(rowsOf([[1, 0]]))).answers[0]!.label, 'b');
  });
});

describe('re-ranking and query expansion in identify', () => {
  test('rerank: true re-ranks every score with the paper defaults; FAISS galleries refuse it', async () => {
    const refs = clusters(6, 4, 8, 4, 0.4);
    await using gallery = await rt.createGallery({ dim: 8 });
    await gallery.add(refs);
    const plain = await gallery.identify(refs.embeddings);
    const reranked = await gallery.identify(refs.embeddings, { rerank: true });
    const expanded = await gallery.identify(refs.embeddings, { queryExpansion: true });
    assert.equal(reranked.answers.length, 24);
    assert.ok(
      reranked.answers.every((a) => a.score <= 1e-6 && a.score >= -1 - 1e-6),
      'minus re-ranked distances, in [-1, 0] (to float32 rounding)',
    );
    assert.ok(plain.answers.every((a) => a.score > 0));
    assert.equal(expanded.answers.length, 24);
    await using flat = await rt.createGallery({ dim: 8, backend: 'faiss' });
    await flat.add(refs);
    await assert.rejects(
      flat.identify(refs.embeddings, { rerank: { k1: 5 } }),
      (e: unknown) => e instanceof ValidationError && /use backend 'exact'/.test(e.message),
    );
    await assert.rejects(
      gallery.identify(refs.embeddings, { rerank: { lambda: 2 } }),
      (e: unknown) => e instanceof ValidationError && /rerank/.test(e.message),
    );
  });
});

describe('bad inputs are ValidationErrors that name the problem', () => {
  test('options, sizes, thresholds and an empty gallery', async () => {
    const invalid = (pattern: RegExp) => (e: unknown) => e instanceof ValidationError && pattern.test(e.message);
    await assert.rejects(rt.createGallery({}), invalid(/give the model/));
    await assert.rejects(rt.createGallery({ dim: 4, index: 'HNSW32' }), invalid(/applies only to backend 'faiss'/));
    await assert.rejects(
      rt.createGallery({ dim: 4, backend: 'faiss', index: 'IVF-nonsense' }),
      invalid(/could not parse index string/),
    );
    await assert.rejects(rt.createGallery({ dim: 4, metric: 'cosin' as 'cosine' }), invalid(/metric/));
    await using gallery = await rt.createGallery({ dim: 4 });
    await assert.rejects(gallery.identify(rowsOf([[1, 0, 0, 0]])), invalid(/empty/));
    await assert.rejects(
      gallery.add({ embeddings: rowsOf([[1, 0]]), labels: ['a'] }),
      invalid(/do not fit this gallery of 4-dim/),
    );
    await assert.rejects(
      gallery.add({ embeddings: rowsOf([[1, 0, 0, 0]]), labels: ['a', 'b'] }),
      invalid(/one label per row \(1\)/),
    );
    await assert.rejects(gallery.add(gallerySet), invalid(/no model to embed images/));
    await gallery.add({ embeddings: rowsOf([[1, 0, 0, 0]]), labels: [7] });
    await assert.rejects(gallery.identify(rowsOf([[1, 0, 0, 0]]), { threshold: 1.5 }), invalid(/\[-1, 1\] for cosine/));
    await assert.rejects(gallery.setThreshold(Number.NaN), invalid(/finite number/));
    await assert.rejects(gallery.verify(rowsOf([[1, 0, 0, 0]]), rowsOf([[1, 0, 0, 0]])), invalid(/no threshold/));
    await assert.rejects(gallery.identify(rowsOf([[1, 0, 0, 0]]), { k: 0 }), invalid(/k/));
    await using distances = await rt.createGallery({ dim: 4, metric: 'euclid' });
    await assert.rejects(distances.setThreshold(0.5), invalid(/≤ 0 for euclid/));
    await gallery.dispose();
    await assert.rejects(gallery.labels(), ClosedError);
  });
});
