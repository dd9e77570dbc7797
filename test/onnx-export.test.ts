// model.exportOnnx(path) and `recognite export` against the real worker: the .onnx file and its
// sidecar (src/sdk/deploy/sidecar.ts) as the pure-Node OnnxRecognizer reads them, the options'
// defaults and refusals (made before the worker is asked), cancellation, and the CLI end to end.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AbortError, Recognite, Recognizer, Tensor, ValidationError } from 'recognite-ts';
import type { OnnxExportProgress, OnnxExportResult, OnnxSidecar } from 'recognite-ts';
import { REPO_ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'recognite-onnx-export-'));
const at = (name: string): string => join(dir, name);
let rt: Recognite;

before(async () => {
  rt = await Recognite.start();
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('model.exportOnnx', () => {
  test('with only the path: the model at its default size, a dynamic batch, a checked file and its sidecar', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 5 });
    const events: OnnxExportProgress[] = [];
    const path = at('resnet18.onnx');
    const result: OnnxExportResult = await model.exportOnnx(path);
    assert.equal(result.path, path);
    assert.equal(result.sidecarPath, `${path}.json`);
    const sidecar = JSON.parse(readFileSync(result.sidecarPath, 'utf8')) as OnnxSidecar;
    assert.deepEqual(sidecar, result.sidecar);
    const expected: Omit<OnnxSidecar, 'exportedBy' | 'weightsFingerprint' | 'onnxSha256' | 'check'> = {
      format: 'recognite-onnx',
      version: 1,
      modelName: 'resnet18',
      embeddingDim: 512,
      inputSize: 224, // modelInfo('resnet18').defaultInputSize
      input: { name: 'images', dynamicBatch: true },
      output: { name: 'embeddings' },
      normalized: true,
      preprocess: {
        resize: 'shortest-side',
        crop: 'center',
        interpolation: 'bilinear',
        antialias: true,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
      },
      opset: 20, // the exporter's default with the pinned torch
    };
    const { exportedBy, weightsFingerprint, onnxSha256, check, ...rest } = sidecar;
    assert.deepEqual(rest, expected);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(exportedBy.recogniteTs, pkg.version);
    assert.match(exportedBy.torch, /^2\.\d+/);
    assert.equal(onnxSha256, sha256(path));
    assert.equal(check.batch, 4);
    assert.ok(check.maxAbsDiff >= 0 && check.maxAbsDiff <= 1e-4, `maxAbsDiff ${check.maxAbsDiff}`);
    assert.ok(check.minCosine >= 0.9999, `minCosine ${check.minCosine}`);
    assert.deepEqual(readdirSync(dir).sort(), ['resnet18.onnx', 'resnet18.onnx.json'], 'no temporary files');
    assert.equal(model.training, true, 'the model keeps its mode');

    // the fingerprint is the one a gallery made with this model records
    await using people = await rt.createGallery({ model });
    const x = new Tensor(
      new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i)),
      [2, 3, 32, 32],
    );
    await people.add({ embeddings: await model.embed(x), labels: ['a', 'b'] });
    await people.save(at('people'));
    assert.equal(people.modelInfo?.fingerprint, weightsFingerprint);

    // options, with progress: a fixed batch and an opset, at another size
    const fixed = await model.exportOnnx(at('fixed.onnx'), {
      size: 64,
      dynamicBatch: false,
      opset: 18,
      onProgress: (e) => events.push(e),
    });
    assert.deepEqual(
      events.map((e) => [e.seq, e.stage]),
      [
        [1, 'copying'],
        [2, 'exporting'],
        [3, 'checking'],
      ],
    );
    assert.equal(fixed.sidecar.inputSize, 64);
    assert.equal(fixed.sidecar.input.dynamicBatch, false);
    assert.equal(fixed.sidecar.opset, 18);
    assert.equal(fixed.sidecar.weightsFingerprint, weightsFingerprint);
  });

  test('a path in a missing folder, a folder or another extension is a ValidationError, and nothing is written', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18' });
    const missing = at(join('no-such-folder', 'model.onnx'));
    await assert.rejects(
      model.exportOnnx(missing),
      (err: unknown) => err instanceof ValidationError && /no-such-folder does not exist/.test(err.message),
    );
    assert.equal(existsSync(at('no-such-folder')), false);
    mkdirSync(at('a-folder.onnx'));
    await assert.rejects(model.exportOnnx(at('a-folder.onnx')), /is a folder/);
    await assert.rejects(model.exportOnnx(at('model.pt')), /must end in \.onnx/);
  });

  test('an AbortSignal stops the export and leaves no file', async () => {
    await using model = await rt.createRecognizer({ modelName: 'resnet18' });
    const controller = new AbortController();
    const path = at('aborted.onnx');
    await assert.rejects(
      model.exportOnnx(path, {
        size: 32,
        signal: controller.signal,
        onProgress: () => {
          controller.abort();
        },
      }),
      AbortError,
    );
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}.json`), false);
    assert.equal(
      readdirSync(dir).some((name) => name.startsWith('.aborted.onnx')),
      false,
      'no temporary file',
    );
  });
});

describe('exportOnnx refuses bad options before the worker is asked', () => {
  /** A Recognizer over a fake worker that records every call. */
  async function fakeModel(modelName: 'vit_b_16' | 'resnet18' | 'maxvit_t', calls: string[]): Promise<Recognizer> {
    const worker = {
      invoke: (method: string): Promise<unknown> => {
        calls.push(method);
        if (method === 'recognizer.create') {
          return Promise.resolve({ id: 1, embeddingDim: 768, numClasses: null, training: true });
        }
        return Promise.reject(new Error(`the worker was asked ${method}`));
      },
    };
    return Recognizer.create(worker, { modelName });
  }

  test('ViT with a size other than 224, sizes out of range, a bad opset, an unknown option', async () => {
    const calls: string[] = [];
    const vit = await fakeModel('vit_b_16', calls);
    await assert.rejects(
      vit.exportOnnx(at('vit.onnx'), { size: 256 }),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.problems[0]?.path === 'size' &&
        /vit_b_16 takes exactly 224×224 images, got 256/.test(err.message),
    );
    const maxvit = await fakeModel('maxvit_t', calls);
    await assert.rejects(maxvit.exportOnnx(at('m.onnx'), { size: 512 }), /maxvit_t takes at most 224, got 512/);
    await assert.rejects(maxvit.exportOnnx(at('m.onnx'), { size: 64 }), /maxvit_t needs at least 221, got 64/);
    const resnet = await fakeModel('resnet18', calls);
    await assert.rejects(resnet.exportOnnx(at('r.onnx'), { opset: 12 }), /opset: must be >= 18/);
    await assert.rejects(resnet.exportOnnx(at('r.onnx'), { size: 0 }), ValidationError);
    await assert.rejects(
      resnet.exportOnnx(at('r.onnx'), { dynamic: false } as never),
      /dynamicBatch/, // the nearest valid name
    );
    assert.deepEqual(calls, ['recognizer.create', 'recognizer.create', 'recognizer.create']);
  });
});

describe('recognite export', () => {
  const CLI = ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'src', 'sdk', 'cli.ts')];
  const recognite = (...args: string[]) =>
    spawnSync(process.execPath, [...CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });

  test('exports the checkpoint of a 1-epoch fit, with --json', () => {
    const data = at('cli-data');
    const synth = recognite('synth', '--out', data, '--identities', '6', '--samples', '4', '--size', '32');
    assert.equal(synth.status, 0, synth.stderr);
    const ckpt = at('cli-ckpt');
    const train = recognite(
      ...['train', '--data', join(data, 'dataset.csv'), '--model', 'resnet18', '--epochs', '1'],
      ...['--checkpoint-dir', ckpt, '--size', '32', '--num-workers', '0', '--batch-size', '8', '--json'],
    );
    assert.equal(train.status, 0, train.stderr);
    const out = at('cli-model.onnx');
    const run = recognite(
      ...['export', '--checkpoint', join(ckpt, 'last.pt'), '--out', out, '--size', '32'],
      ...['--no-dynamic-batch', '--opset', '18', '--json'],
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '', '--json: no progress');
    assert.equal(run.stdout.trim().split('\n').length, 1, '--json prints one line: the result');
    const result = JSON.parse(run.stdout) as OnnxExportResult;
    assert.equal(result.path, out);
    assert.equal(result.sidecarPath, `${out}.json`);
    assert.deepEqual(JSON.parse(readFileSync(`${out}.json`, 'utf8')), result.sidecar);
    assert.equal(result.sidecar.modelName, 'resnet18');
    assert.equal(result.sidecar.inputSize, 32);
    assert.equal(result.sidecar.input.dynamicBatch, false);
    assert.equal(result.sidecar.opset, 18);
    assert.equal(result.sidecar.onnxSha256, sha256(out));
    assert.ok(result.sidecar.check.maxAbsDiff <= 1e-4 && result.sidecar.check.minCosine >= 0.9999);
  });

  test('bad usage exits 2 before the worker starts', () => {
    const notOnnx = recognite('export', '--checkpoint', 'x.pt', '--out', at('model.pt'));
    assert.equal(notOnnx.status, 2);
    assert.match(notOnnx.stderr, /--out must name a \.onnx file/);
    const badOpset = recognite('export', '--checkpoint', 'x.pt', '--out', at('m.onnx'), '--opset', '7');
    assert.equal(badOpset.status, 2);
    assert.match(badOpset.stderr, /--opset: must be >= 18/);
    const help = recognite('export', '--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Examples:\n {2}\$ recognite export --checkpoint/);
    assert.match(help.stdout, /--no-dynamic-batch/);
  });
});
