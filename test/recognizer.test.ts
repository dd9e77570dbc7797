// The Recognizer through the SDK: recognite's behaviours, state dicts, and every bad input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClosedError, Recognite, Recognizer, Tensor, ValidationError } from 'recognite-ts';
import { debugCall } from './debug.js';

let rt: Recognite;
let dir: string;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-recognizer-'));
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A deterministic pseudo-random image batch. */
function images(n: number, size: number, seed = 1): Tensor<'float32'> {
  let s = seed;
  const data = Float32Array.from({ length: n * 3 * size * size }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
  return new Tensor(data, [n, 3, size, size]);
}

function rowNorms(t: Tensor<'float32'>): number[] {
  const [rows, cols] = t.shape as [number, number];
  return Array.from({ length: rows }, (_, r) => Math.hypot(...t.data.subarray(r * cols, (r + 1) * cols)));
}

function assertValidation(fragment: RegExp, path?: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    assert.match(err.message, fragment);
    if (path !== undefined)
      assert.ok(
        err.problems.some((p) => p.path === path),
        JSON.stringify(err.problems),
      );
    return true;
  };
}

describe('recognite semantics', () => {
  test('evaluation-mode embeddings have norm 1; training-mode forward gives N × numClasses logits', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 5 });
    assert.equal(model.training, true, 'a new model is in training mode, as in PyTorch');
    assert.equal(model.embeddingDim, 512);
    assert.equal(model.numClasses, 5);
    const logits = await model.forward(images(3, 32));
    assert.deepEqual(logits.shape, [3, 5]);
    await model.eval();
    const emb = await model.forward(images(3, 32));
    assert.deepEqual(emb.shape, [3, 512]);
    for (const n of rowNorms(emb)) assert.ok(Math.abs(n - 1) < 1e-5, `norm ${n}`);
  });

  test('after a training-mode forward every classifier row has norm 1', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 7 });
    const before = (await model.classifierWeights())!;
    assert.ok(
      rowNorms(before.weight).some((n) => Math.abs(n - 1) > 1e-3),
      'random init rows are not unit',
    );
    await model.forward(images(2, 32));
    const afterFwd = (await model.classifierWeights())!;
    assert.deepEqual(afterFwd.weight.shape, [7, 512]);
    for (const n of rowNorms(afterFwd.weight)) assert.ok(Math.abs(n - 1) < 1e-5, `row norm ${n}`);
  });

  test('the classifier has a bias only with clfBias', async () => {
    await using plain = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 4 });
    assert.equal((await plain.classifierWeights())!.bias, null);
    await using biased = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 4, clfBias: true });
    assert.deepEqual((await biased.classifierWeights())!.bias!.shape, [4]);
  });

  test('without numClasses: no classifier, 512-d embeddings in both modes', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18' });
    assert.equal(model.numClasses, null);
    assert.equal(await model.classifierWeights(), null);
    assert.deepEqual((await model.forward(images(2, 32))).shape, [2, 512]);
    await model.eval();
    assert.deepEqual((await model.forward(images(2, 32))).shape, [2, 512]);
  });

  test('normalize: false leaves embedding norms alone', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 3, normalize: false });
    await model.eval();
    const norms = rowNorms(await model.forward(images(2, 32)));
    assert.ok(
      norms.every((n) => Math.abs(n - 1) > 1e-2),
      `norms ${norms.join(', ')}`,
    );
  });

  test('embed() gives evaluation-mode embeddings without changing the mode', async () => {
    await using model = await rt.createRecognizer({ modelName: 'mobilenet_v3_small', numClasses: 3 });
    const x = images(2, 32);
    const emb = await model.embed(x);
    assert.equal(model.training, true);
    assert.deepEqual(emb.shape, [2, model.embeddingDim]);
    await model.eval();
    assert.deepEqual([...(await model.forward(x)).data], [...emb.data]);
  });
});

describe('state dicts', () => {
  test('save, load into a fresh model, identical outputs', async () => {
    const path = join(dir, 'resnet18-5.pt');
    const x = images(2, 40, 7);
    await using a = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 5 });
    await a.forward(x); // renormalises the classifier rows, so the state is not the fresh one
    await a.eval();
    await a.saveStateDict(path);
    await using b = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 5 });
    await b.eval();
    assert.notDeepEqual([...(await b.forward(x)).data], [...(await a.forward(x)).data]);
    await b.loadStateDict(path);
    assert.deepEqual([...(await b.forward(x)).data], [...(await a.forward(x)).data]);
  });

  test('BAD CALL - a state dict of another shape names the keys', async () => {
    const path = join(dir, 'resnet18-5b.pt');
    await using a = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 5 });
    await a.saveStateDict(path);
    await using b = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 7 });
    await assert.rejects(
      b.loadStateDict(path),
      assertValidation(/shape mismatches \[classifier\.weight: file \(5, 512\) vs model \(7, 512\)/),
    );
    await using c = await rt.createRecognizer({ modelName: 'resnet18' });
    await assert.rejects(c.loadStateDict(path), assertValidation(/unexpected keys \[.*classifier\.weight/));
    await using d = await rt.createRecognizer({ modelName: 'resnet34', numClasses: 5 });
    await assert.rejects(d.loadStateDict(path), assertValidation(/missing keys \[backbone\.layer1\.2\./));
  });

  test('BAD CALL - missing and corrupt state dict files', async () => {
    await using m = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 2 });
    await assert.rejects(m.loadStateDict(join(dir, 'nope.pt')), assertValidation(/file not found/, 'path'));
    const junk = join(dir, 'junk.pt');
    writeFileSync(junk, 'this is not a checkpoint');
    await assert.rejects(m.loadStateDict(junk), assertValidation(/cannot read .*junk\.pt as a state dict/));
    await assert.rejects(m.saveStateDict(join(dir, 'no-such-folder', 'x.pt')), assertValidation(/does not exist/));
    assert.deepEqual((await m.forward(images(2, 32))).shape, [2, 2], 'the worker is still usable');
  });
});

describe('weightsPath: a local torchvision-format state dict', () => {
  test('two models from the same file agree; random initialisations follow their seed', async () => {
    const file = join(dir, 'resnet18-torchvision.pth');
    const python = (await rt.info()).pythonExecutable;
    execFileSync(python, [
      '-c',
      'import sys, torch, torchvision; torch.manual_seed(123); ' +
        'torch.save(torchvision.models.resnet18().state_dict(), sys.argv[1])',
      file,
    ]);
    const x = images(2, 32, 3);
    const embed = async (config: Parameters<Recognite['createRecognizer']>[0]): Promise<number[]> => {
      await using m = await rt.createRecognizer(config);
      return [...(await m.embed(x)).data];
    };
    const a = await embed({ modelName: 'resnet18', numClasses: 3, weightsPath: file });
    const b = await embed({ modelName: 'resnet18', numClasses: 3, weightsPath: file });
    assert.deepEqual(a, b);
    const seeded = await embed({ modelName: 'resnet18', numClasses: 3 }); // seed 0 by default
    assert.notDeepEqual(seeded, a);
    assert.deepEqual(await embed({ modelName: 'resnet18', numClasses: 3, seed: 0 }), seeded);
    assert.notDeepEqual(await embed({ modelName: 'resnet18', numClasses: 3, seed: 1 }), seeded);
  });

  test('BAD CALL - a file that is not a state dict, or of another model', async () => {
    const junk = join(dir, 'not-weights.pth');
    writeFileSync(junk, 'nope');
    await assert.rejects(
      rt.createRecognizer({ modelName: 'resnet18', weightsPath: junk }),
      assertValidation(/cannot read weights file/, 'weightsPath'),
    );
    const file = join(dir, 'resnet18-torchvision.pth'); // written by the test above
    await assert.rejects(
      rt.createRecognizer({ modelName: 'resnet34', weightsPath: file }),
      assertValidation(/does not fit resnet34/, 'weightsPath'),
    );
  });
});

describe('bad configs are caught in TypeScript', () => {
  test('BAD CALL - an unknown model name suggests the nearest valid ones', async () => {
    await assert.rejects(
      rt.createRecognizer({ modelName: 'resnet-18' as never }),
      assertValidation(/unknown value "resnet-18" \(did you mean 'resnet18'/, 'modelName'),
    );
    await assert.rejects(rt.createRecognizer({ modelName: 'squeezenet1_0' as never }), ValidationError);
  });

  test('BAD CALL - unknown weights list the valid ones for that model', async () => {
    await assert.rejects(
      rt.createRecognizer({ modelName: 'resnet18', weights: 'IMAGENET1K_V2' }),
      assertValidation(
        /unknown weights "IMAGENET1K_V2" for resnet18; valid: ResNet18_Weights\.IMAGENET1K_V1, DEFAULT/,
        'weights',
      ),
    );
  });

  test('BAD CALL - every problem at once: numClasses, types, unknown options', async () => {
    await assert.rejects(
      rt.createRecognizer({ modelName: 'resnet18', numClasses: 0, clfBias: 'yes', normalise: true } as never),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        const paths = err.problems.map((p) => p.path).sort();
        assert.deepEqual(paths, ['clfBias', 'normalise', 'numClasses']);
        assert.match(err.message, /normalise: unknown option \(did you mean 'normalize'\?\)/);
        return true;
      },
    );
  });

  test('BAD CALL - weights and weightsPath together, and a weightsPath that does not exist', async () => {
    await assert.rejects(
      rt.createRecognizer({ modelName: 'resnet18', weights: 'DEFAULT', weightsPath: join(dir, 'missing.pth') }),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.match(err.message, /not both/);
        assert.match(err.message, /file not found: .*missing\.pth/);
        return true;
      },
    );
  });

  test('BAD CALL - pretrained weights offline: the error names the file to place and where', async () => {
    const home = mkdtempSync(join(tmpdir(), 'recognite-torchhome-'));
    // TORCH_HOME is read by the worker at call time through torch.hub.get_dir()
    await debugCall(rt, 'debug.setenv', { name: 'TORCH_HOME', value: home });
    try {
      await assert.rejects(
        rt.createRecognizer({ modelName: 'resnet18', weights: 'DEFAULT' }),
        assertValidation(/Place the file resnet18-f37072fd\.pth .* at .*recognite-torchhome-.*checkpoints/, 'weights'),
      );
    } finally {
      await debugCall(rt, 'debug.setenv', { name: 'TORCH_HOME', value: null });
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('bad inputs to forward and embed', () => {
  test('BAD CALL - wrong dtype, rank, channels, size, and non-finite values', async () => {
    await using m = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 2 });
    const min = m.info.minInputSize;
    const cases: Array<[unknown, RegExp]> = [
      [new Tensor(new Float64Array(2 * 3 * 32 * 32), [2, 3, 32, 32]), /dtype: must be 'float32', got 'float64'/],
      [new Tensor(new Float32Array(3 * 32 * 32), [3, 32, 32]), /shape: must be N × 3 × H × W/],
      [new Tensor(new Float32Array(2 * 1 * 32 * 32), [2, 1, 32, 32]), /shape\[1\]: must be 3 colour channels, got 1/],
      [new Tensor(new Float32Array(0), [0, 3, 32, 32]), /the batch is empty/],
      [new Tensor(images(2, 32).data.fill(NaN, 5, 6), [2, 3, 32, 32]), /data\[5\]: must be finite, got NaN/],
      ['not a tensor', /must be a Tensor/],
    ];
    if (min > 1) cases.push([images(2, min - 1), new RegExp(`H, W ≥ ${min}`)]);
    for (const [x, fragment] of cases) {
      await assert.rejects(m.forward(x as Tensor), assertValidation(fragment));
      await assert.rejects(m.embed(x as Tensor), ValidationError);
    }
    assert.deepEqual((await m.forward(images(2, 32))).shape, [2, 2], 'the worker is still usable');
  });

  test('BAD CALL - a fixed-size model (ViT) names its one valid size', async () => {
    await using vit = await rt.createRecognizer({ modelName: 'vit_b_32', numClasses: 2 });
    assert.equal(vit.info.fixedInputSize, true);
    await assert.rejects(vit.forward(images(1, 64)), assertValidation(/vit_b_32 takes exactly 224×224/));
  });

  test('BAD CALL - calls after dispose() are ClosedError; dispose is idempotent', async () => {
    const m: Recognizer = await rt.createRecognizer({ modelName: 'resnet18' });
    await m.dispose();
    await m.dispose();
    await assert.rejects(m.forward(images(2, 32)), ClosedError);
    await assert.rejects(m.eval(), ClosedError);
  });
});
