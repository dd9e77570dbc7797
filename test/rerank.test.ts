// model.evaluate with k-reciprocal re-ranking, query expansion and mINP, against the real worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Recognite, Tensor, ValidationError, modelInfo, type Recognizer } from 'recognite-ts';
import { checkRerankSize, resolveEvaluateConfig } from '../src/sdk/evaluation/config.js';

let rt: Recognite;
let model: Recognizer;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  model = await rt.createRecognizer({ modelName: 'resnet18' });
});
after(async () => {
  await rt.close();
});

/** `ids` identities of `per` gallery rows each, noisy copies of a random centre; one query per identity. */
function embeddingSets(ids: number, per: number, dim = 8) {
  let seed = 1;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647 - 0.5;
  };
  const centres = Array.from({ length: ids }, () => Array.from({ length: dim }, random));
  const noisy = (c: number[]): number[] => c.map((x) => x + 0.3 * random());
  const rows = (values: number[][]) => new Tensor(Float32Array.from(values.flat()), [values.length, dim]);
  const labels = centres.map((_, i) => `id${i}`);
  return {
    gallery: {
      embeddings: rows(centres.flatMap((c) => Array.from({ length: per }, () => noisy(c)))),
      labels: labels.flatMap((l) => Array<string>(per).fill(l)),
    },
    query: { embeddings: rows(centres.map(noisy)), labels },
  };
}

/** The paths of a ValidationError's problems. */
async function problemPaths(call: () => Promise<unknown>): Promise<string[]> {
  const err = await call().then(
    () => assert.fail('expected a ValidationError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ValidationError, String(err));
  return err.problems.map((p) => p.path);
}

describe('re-ranking', () => {
  const { gallery, query } = embeddingSets(12, 4);

  test('rerank: true runs with the paper defaults and returns mINP', async () => {
    const plain = await model.evaluate({ gallery, query, perQuery: true, returnScores: true });
    const report = await model.evaluate({ gallery, query, rerank: true, perQuery: true, returnScores: true });
    assert.deepEqual(report.rerank, { k1: 20, k2: 6, lambda: 0.3 });
    assert.equal(report.queryExpansion, null);
    assert.equal(plain.rerank, null);
    for (const r of [plain, report]) {
      assert.ok(typeof r.mINP === 'number' && r.mINP > 0 && r.mINP <= 1, `mINP ${r.mINP}`);
      assert.deepEqual(r.perQuery!.inp.shape, [12]);
      const mean = [...r.perQuery!.inp.data].reduce((a, b) => a + b, 0) / 12; // every query has positives
      assert.ok(Math.abs(mean - r.mINP) < 1e-6);
    }
    // the scores are minus the re-ranked distances, which lie in [0, 1]
    assert.notDeepEqual([...report.scores!.data], [...plain.scores!.data], 're-ranking changed nothing');
    assert.ok(report.scores!.data.every((s) => s <= 0 && s >= -1));
    // the same call gives the same numbers
    assert.equal((await model.evaluate({ gallery, query, rerank: true })).mAP, report.mAP);
  });

  test('the resolved defaults: k1 20, k2 6, lambda 0.3; partial objects keep the others; queryExpansion k 5', () => {
    const info = modelInfo('resnet18');
    const off = resolveEvaluateConfig({}, info);
    assert.equal(off.rerank, null);
    assert.equal(off.queryExpansion, null);
    const on = resolveEvaluateConfig({ rerank: true, queryExpansion: true }, info);
    assert.deepEqual(on.rerank, { k1: 20, k2: 6, lambda: 0.3 });
    assert.deepEqual(on.queryExpansion, { k: 5 });
    assert.deepEqual(resolveEvaluateConfig({ rerank: { k1: 10 } }, info).rerank, { k1: 10, k2: 6, lambda: 0.3 });
    assert.equal(resolveEvaluateConfig({ rerank: false }, info).rerank, null);
  });

  test('queryExpansion runs, alone and with rerank, and says so', async () => {
    const report = await model.evaluate({ gallery, query, queryExpansion: { k: 3 }, rerank: { k1: 8 } });
    assert.deepEqual(report.queryExpansion, { k: 3 });
    assert.deepEqual(report.rerank, { k1: 8, k2: 6, lambda: 0.3 });
    assert.deepEqual((await model.evaluate({ gallery, query, queryExpansion: true })).queryExpansion, { k: 5 });
  });

  test('BAD CALL - k1 0, lambda 2, queryExpansion k 0 and metric inner are ValidationErrors naming the path', async () => {
    assert.ok((await problemPaths(() => model.evaluate({ gallery, query, rerank: { k1: 0 } }))).includes('rerank.k1'));
    assert.ok(
      (await problemPaths(() => model.evaluate({ gallery, query, rerank: { lambda: 2 } }))).includes('rerank.lambda'),
    );
    const qe = await problemPaths(() => model.evaluate({ gallery, query, queryExpansion: { k: 0 } }));
    assert.ok(qe.includes('queryExpansion.k'));
    await assert.rejects(model.evaluate({ gallery, query, rerank: true, metric: 'inner' }), /rerank: needs a distance/);
  });

  test('BAD CALL - above 20000 items in all: a ValidationError from TypeScript, before anything is sent', async () => {
    const big = {
      embeddings: new Tensor(new Float32Array(20_000), [20_000, 1]),
      labels: Array<number>(20_000).fill(0),
    };
    const small = { embeddings: new Tensor(new Float32Array([1]), [1, 1]), labels: [0] };
    const options = resolveEvaluateConfig({ rerank: true }, modelInfo('resnet18'));
    assert.throws(() => {
      checkRerankSize(big, small, options);
    }, /exceeds its limit of 20000/);
    await assert.rejects(
      model.evaluate({ gallery: big, query: small, rerank: true }),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.problems[0]!.path === 'rerank' &&
        /Nq \+ Ng = 20001 exceeds its limit of 20000/.test(err.message),
    );
    // averaged references count once per label: 2 items
    const report = await model.evaluate({ gallery: big, query: small, rerank: true, averageReferences: true });
    assert.equal(report.numGallery, 1);
  });
});
