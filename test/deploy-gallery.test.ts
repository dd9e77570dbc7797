// A gallery the worker saved, opened in Node alone (recognite-ts/deploy loadGallery): the same identify
// and verify answers as the worker's gallery on the same files and embeddings, for every metric,
// averaged references, knn votes and thresholds; the model check; empty, FAISS and damaged galleries.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Recognite, Tensor, ValidationError, type IdentifyResult, type Recognizer } from 'recognite-ts';
import { loadGallery, OnnxRecognizer } from 'recognite-ts/deploy';

let rt: Recognite;
let dir: string;

before(async () => {
  rt = await Recognite.start({ device: 'cpu', threads: 2 });
  dir = mkdtempSync(join(tmpdir(), 'recognite-deploy-gallery-'));
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Export `model` for `size` × `size` inputs to `path` (+ `path`.json). */
async function exportModel(model: Recognizer, path: string, size: number): Promise<void> {
  await model.exportOnnx(path, { size });
}

/** Seeded embeddings around one centre per label. */
function clusters(
  labels: number,
  perLabel: number,
  dim: number,
  seed: number,
): { embeddings: Tensor<'float32'>; labels: string[] } {
  let state = seed + 1;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const centres = Array.from({ length: labels }, () => Array.from({ length: dim }, next));
  const data = new Float32Array(labels * perLabel * dim);
  const names: string[] = [];
  for (let l = 0; l < labels; l++) {
    for (let r = 0; r < perLabel; r++) {
      const row = l * perLabel + r;
      for (let j = 0; j < dim; j++) data[row * dim + j] = (centres[l]?.[j] ?? 0) + 0.3 * next();
      names.push(`id-${l}`);
    }
  }
  return { embeddings: new Tensor(data, [labels * perLabel, dim]), labels: names };
}

/** The worker's and Node's answers agree: labels, rows and verdicts exactly, scores to `tol`. */
function sameAnswers(worker: IdentifyResult, node: IdentifyResult, tol: number): void {
  assert.equal(node.threshold, worker.threshold);
  assert.deepEqual(node.rows.shape, worker.rows.shape);
  assert.deepEqual(Array.from(node.rows.data), Array.from(worker.rows.data));
  worker.answers.forEach((w, q) => {
    const n = node.answers[q];
    assert.ok(n);
    assert.equal(n.label, w.label, `query ${q}`);
    assert.ok(Math.abs(n.score - w.score) <= tol, `query ${q}: score ${n.score} vs ${w.score}`);
    assert.deepEqual(
      n.matches.map((m) => [m.label, m.row]),
      w.matches.map((m) => [m.label, m.row]),
    );
    n.matches.forEach((m, j) => {
      assert.ok(Math.abs(m.score - (w.matches[j]?.score ?? NaN)) <= tol);
    });
  });
}

describe('image galleries: worker vs Node on the same files', () => {
  let model: Recognizer;
  let onnxPath: string;
  let references: string[];
  let referenceLabels: string[];
  let queries: string[];
  let saved: string;

  before(async () => {
    model = await rt.createRecognizer({ modelName: 'resnet18' });
    onnxPath = join(dir, 'resnet18.onnx');
    await exportModel(model, onnxPath, 64);
    const data = await rt.data.generateSynthetic({
      outDir: join(dir, 'synth'),
      identities: 5,
      samplesPerIdentity: 4,
      size: 64,
    });
    const rows = readFileSync(data.csv, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((r) => r.split(','));
    const files = rows.map(([image]) => resolve(dirname(data.csv), image as string));
    const labels = rows.map(([, label]) => label as string);
    references = files.filter((_, i) => i % 4 < 2).slice(0, 8); // the first 4 identities enrolled, the 5th unknown
    referenceLabels = labels.filter((_, i) => i % 4 < 2).slice(0, 8);
    queries = files.filter((_, i) => i % 4 >= 2);
    saved = join(dir, 'people');
  });
  after(() => model.dispose());

  test('identify and verify with image paths: the same answers, and the saved threshold applies', async () => {
    await using people = await rt.createGallery({ model });
    await people.add({ paths: references, labels: referenceLabels });
    await people.setThreshold(0.5);
    const worker = await people.identify(queries, { k: 3, size: 64 });
    await people.save(saved);
    await using onnx = await OnnxRecognizer.load(onnxPath);
    const gallery = await loadGallery(saved, { model: onnx });
    assert.equal(gallery.size, 8);
    assert.equal(gallery.threshold, 0.5);
    sameAnswers(worker, await gallery.identify(queries, { k: 3 }), 1e-4);
    const nodeVerify = await gallery.verify(queries.slice(0, 3), queries.slice(3, 6));
    const workerVerify = await people.verify(queries.slice(0, 3), queries.slice(3, 6), { size: 64 });
    assert.deepEqual(nodeVerify.same, workerVerify.same);
    nodeVerify.scores.forEach((s, i) => {
      assert.ok(Math.abs(s - (workerVerify.scores[i] ?? NaN)) < 1e-4);
    });
    // with the worker's own embeddings, scores agree to float32 rounding
    const embedded = await model.embed(queries, { size: 64 });
    sameAnswers(worker, await gallery.identify(embedded, { k: 3 }), 1e-6);
  });

  test('a model with other weights or another backbone is refused, as the worker refuses it', async () => {
    const edited = (name: string, edit: (s: Record<string, unknown>) => void): string => {
      const target = join(dir, name);
      copyFileSync(onnxPath, target);
      const sidecar = JSON.parse(readFileSync(`${onnxPath}.json`, 'utf8')) as Record<string, unknown>;
      edit(sidecar);
      writeFileSync(`${target}.json`, JSON.stringify(sidecar));
      return target;
    };
    const refused = async (path: string, pattern: RegExp) => {
      await using other = await OnnxRecognizer.load(path);
      await assert.rejects(
        loadGallery(saved, { model: other }),
        (e: unknown) => e instanceof ValidationError && pattern.test(e.message),
      );
    };
    await refused(
      edited('weights.onnx', (s) => (s.weightsFingerprint = '0123456789abcdef')),
      /other resnet18 weights \(fingerprint/,
    );
    await refused(
      edited('name.onnx', (s) => (s.modelName = 'resnet34')),
      /built with resnet18, not resnet34/,
    );
    // the worker says the same of other weights
    await using seeded = await rt.createRecognizer({ modelName: 'resnet18', seed: 1 });
    await assert.rejects(rt.loadGallery(saved, { model: seeded }), /other resnet18 weights/);
  });
});

describe('embedding galleries: every metric, averaged references, knn votes', () => {
  const setups = [
    { metric: 'cosine' },
    { metric: 'inner' },
    { metric: 'euclid' },
    { metric: 'sq_euclid' },
    { metric: 'cosine', averageReferences: true },
    { metric: 'euclid', averageReferences: true },
  ] as const;
  for (const config of setups) {
    test(JSON.stringify(config), async () => {
      const refs = clusters(6, 3, 16, 1);
      const probe = clusters(6, 2, 16, 1); // the same centres, other noise
      await using g = await rt.createGallery({ dim: 16, ...config });
      await g.add(refs);
      const folder = join(dir, `g-${config.metric}-${String('averageReferences' in config)}`);
      await g.save(folder);
      const node = await loadGallery(folder);
      for (const options of [{ k: 5 }, { k: 4, vote: 'knn' as const }, { k: 50 }]) {
        sameAnswers(await g.identify(probe.embeddings, options), await node.identify(probe.embeddings, options), 1e-5);
      }
      const scores = (await g.identify(probe.embeddings, { k: 1 })).answers.map((a) => a.score).sort((a, b) => a - b);
      const threshold = scores[Math.floor(scores.length / 2)] ?? 0; // half the queries unknown
      sameAnswers(
        await g.identify(probe.embeddings, { threshold }),
        await node.identify(probe.embeddings, { threshold }),
        1e-5,
      );
      const a = new Tensor(probe.embeddings.data.slice(0, 3 * 16), [3, 16]);
      const b = new Tensor(refs.embeddings.data.slice(0, 3 * 16), [3, 16]);
      const [w, n] = [await g.verify(a, b, { threshold }), await node.verify(a, b, { threshold })];
      assert.deepEqual(n.same, w.same);
      n.scores.forEach((s, i) => {
        assert.ok(Math.abs(s - (w.scores[i] ?? NaN)) < 1e-5);
      });
    });
  }

  test('a calibrated threshold is used by default', async () => {
    const refs = clusters(5, 2, 8, 3);
    await using g = await rt.createGallery({ dim: 8 });
    await g.add({
      embeddings: new Tensor(refs.embeddings.data.slice(0, 8 * 8), [8, 8]),
      labels: refs.labels.slice(0, 8),
    });
    await g.calibrate({ embeddings: refs.embeddings, labels: refs.labels });
    await g.save(join(dir, 'calibrated'));
    const node = await loadGallery(join(dir, 'calibrated'));
    assert.equal(node.threshold, g.threshold);
    assert.deepEqual(node.calibration, g.calibration);
    sameAnswers(await g.identify(refs.embeddings), await node.identify(refs.embeddings), 1e-5);
  });
});

describe('galleries Node cannot or will not search', () => {
  test("an empty gallery: the worker's error, from Node too", async () => {
    await using g = await rt.createGallery({ dim: 4 });
    await g.save(join(dir, 'empty'));
    const q = new Tensor(new Float32Array(4).fill(1), [1, 4]);
    await assert.rejects(g.identify(q), /the gallery is empty: add references first/);
    const node = await loadGallery(join(dir, 'empty'));
    assert.equal(node.size, 0);
    await assert.rejects(
      node.identify(q),
      (e: unknown) => e instanceof ValidationError && /the gallery is empty: add references first/.test(e.message),
    );
  });

  test('a FAISS gallery says it needs the worker', async () => {
    await using g = await rt.createGallery({ dim: 4, backend: 'faiss' });
    await g.add({ embeddings: new Tensor(new Float32Array(8).fill(1), [2, 4]), labels: ['a', 'b'] });
    await g.save(join(dir, 'faiss'));
    await assert.rejects(loadGallery(join(dir, 'faiss')), /FAISS gallery.*needs the worker.*rt\.loadGallery/);
  });

  test('damaged folders, bad queries and the options only the worker has', async () => {
    await assert.rejects(loadGallery(join(dir, 'nowhere')), /not a gallery folder: gallery\.json is missing/);
    const refs = clusters(2, 2, 4, 5);
    await using g = await rt.createGallery({ dim: 4 });
    await g.add(refs);
    const folder = join(dir, 'damaged');
    await g.save(folder);
    const manifest = JSON.parse(readFileSync(join(folder, 'gallery.json'), 'utf8')) as {
      data: string;
      version: number;
    };
    const npy = join(folder, manifest.data, 'embeddings.npy');
    const node = await loadGallery(folder);
    await assert.rejects(node.identify(new Tensor(new Float32Array(3), [1, 3])), /do not fit this gallery of 4-dim/);
    await assert.rejects(node.identify(['x.png']), /images need a model/);
    await assert.rejects(node.identify(refs.embeddings, { rerank: true } as never), /rerank: needs the worker/);
    await assert.rejects(node.verify(refs.embeddings, refs.embeddings), /no threshold/);
    const bytes = readFileSync(npy);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 1, bytes.length - 1);
    writeFileSync(npy, bytes);
    await assert.rejects(loadGallery(folder), /embeddings\.npy is damaged: its checksum does not match/);
    writeFileSync(join(folder, 'gallery.json'), JSON.stringify({ ...manifest, version: 9 }));
    await assert.rejects(loadGallery(folder), /gallery format version 9; this SDK reads version 1/);
  });
});
