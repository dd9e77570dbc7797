// OnnxRecognizer (recognite-ts/deploy) against the worker: the same embeddings for the same tensors (six
// backbones, random weights, batches 1, 3 and 8) and the same image files (Node's pipeline vs the worker's);
// bad files and inputs; and no Python process started by the deploy entry.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { Recognite, Tensor, type Recognizer } from 'recognite-ts';
import { OnnxRecognizer, ValidationError } from 'recognite-ts/deploy';
import { REPO_ROOT } from './helpers.js';

let rt: Recognite;
let dir: string;

before(async () => {
  rt = await Recognite.start({ device: 'cpu', threads: 2 });
  dir = mkdtempSync(join(tmpdir(), 'recognite-onnx-'));
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Export `model` for `size` × `size` inputs to `path` (+ `path`.json). */
async function exportModel(model: Recognizer, path: string, size: number): Promise<void> {
  await model.exportOnnx(path, { size });
}

/** Seeded values, roughly normalised images. */
function images(n: number, size: number, seed: number): Tensor<'float32'> {
  let state = seed + 1;
  const data = new Float32Array(n * 3 * size * size).map(() => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648 - 0.5) * 4;
  });
  return new Tensor(data, [n, 3, size, size]);
}

/** Largest absolute difference and smallest per-row cosine of two N × D float32 tensors. */
function compare(a: Tensor, b: Tensor): { maxAbs: number; minCos: number } {
  assert.deepEqual(a.shape, b.shape);
  const [n, d] = a.shape as [number, number];
  let maxAbs = 0;
  let minCos = Infinity;
  for (let i = 0; i < n; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = i * d; j < (i + 1) * d; j++) {
      const x = a.data[j] as number;
      const y = b.data[j] as number;
      maxAbs = Math.max(maxAbs, Math.abs(x - y));
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    minCos = Math.min(minCos, ab / Math.sqrt(aa * bb));
  }
  return { maxAbs, minCos };
}

const MODELS = ['resnet18', 'mobilenet_v3_small', 'efficientnet_b0', 'convnext_tiny', 'swin_t', 'vit_b_16'] as const;

describe('tensor parity: worker embed vs OnnxRecognizer (random weights, 224 px)', () => {
  for (const name of MODELS) {
    test(name, async (t) => {
      await using model = await rt.createRecognizer({ modelName: name });
      const path = join(dir, `${name}.onnx`);
      await exportModel(model, path, 224);
      await using onnx = await OnnxRecognizer.load(path, { intraOpNumThreads: 2 });
      assert.equal(onnx.modelName, name);
      assert.equal(onnx.embeddingDim, model.embeddingDim);
      for (const batch of [1, 3, 8]) {
        const x = images(batch, 224, batch);
        const { maxAbs, minCos } = compare(await model.embed(x), await onnx.embed(x));
        t.diagnostic(`${name} batch ${batch}: max |diff| ${maxAbs.toExponential(2)}, min cosine ${minCos.toFixed(7)}`);
        assert.ok(maxAbs <= 1e-4, `${name} batch ${batch}: max abs diff ${maxAbs}`);
        assert.ok(minCos >= 0.9999, `${name} batch ${batch}: cosine ${minCos}`);
      }
      rmSync(path);
    });
  }
});

describe('image files: Node pipeline (sharp decode + resize.ts) vs the worker', () => {
  let model: Recognizer;
  let paths: string[];
  before(async () => {
    model = await rt.createRecognizer({ modelName: 'resnet18' });
    const data = await rt.data.generateSynthetic({
      outDir: join(dir, 'synth'),
      identities: 4,
      samplesPerIdentity: 3,
      size: 64,
    });
    const rows = readFileSync(data.csv, 'utf8').trim().split('\n').slice(1);
    paths = rows.map((row) => resolve(dirname(data.csv), row.split(',')[0] as string));
    // odd shapes too: a crop offset with a half (Python rounds it to even), portrait and landscape, grey and RGBA
    const noise = (w: number, h: number, c: number): Buffer => randomBytes(w * h * c, w + h);
    for (const [w, h, c] of [
      [150, 100, 3],
      [97, 131, 3],
      [301, 224, 1],
      [640, 480, 4],
    ] as const) {
      const file = join(dir, `odd-${w}x${h}.png`);
      await sharp(noise(w, h, c), { raw: { width: w, height: h, channels: c } })
        .png()
        .toFile(file);
      paths.push(file);
    }
  });
  after(() => model.dispose());

  for (const size of [224, 48]) {
    test(`size ${size}: per-image cosine ≥ 0.999 (${size > 64 ? 'upscaling' : 'downscaling'} the 64 px images)`, async (t) => {
      const path = join(dir, `r18-${size}.onnx`);
      await exportModel(model, path, size);
      await using onnx = await OnnxRecognizer.load(path);
      const { maxAbs, minCos } = compare(await model.embed(paths, { size }), await onnx.embed(paths));
      t.diagnostic(
        `size ${size}: ${paths.length} images, max |diff| ${maxAbs.toExponential(2)}, min cosine ${minCos.toFixed(7)}`,
      );
      assert.ok(minCos >= 0.999, `min cosine ${minCos}`);
    });
  }
});

/** Seeded bytes. */
function randomBytes(n: number, seed: number): Buffer {
  let state = seed + 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out[i] = state >> 23;
  }
  return out;
}

describe('bad files and inputs', () => {
  let path: string;
  before(async () => {
    await using model = await rt.createRecognizer({ modelName: 'mobilenet_v3_small' });
    path = join(dir, 'bad-base.onnx');
    await exportModel(model, path, 64);
  });

  const refused = async (onnxPath: string, pattern: RegExp): Promise<void> => {
    await assert.rejects(OnnxRecognizer.load(onnxPath), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.match(err.message, pattern);
      return true;
    });
  };
  const variant = (name: string, edit: (s: Record<string, unknown>) => void, bytes?: Buffer): string => {
    const target = join(dir, name);
    if (bytes) writeFileSync(target, bytes);
    else copyFileSync(path, target);
    const sidecar = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Record<string, unknown>;
    edit(sidecar);
    writeFileSync(`${target}.json`, JSON.stringify(sidecar));
    return target;
  };

  test('a missing .onnx file, a missing sidecar', async () => {
    await refused(join(dir, 'nothing.onnx'), /nothing\.onnx does not exist.*exportOnnx/);
    const lone = join(dir, 'lone.onnx');
    copyFileSync(path, lone);
    await refused(lone, /lone\.onnx\.json does not exist/);
  });

  test('a corrupt .onnx file: changed after export, or not ONNX at all', async () => {
    const changed = join(dir, 'changed.onnx');
    const bytes = readFileSync(path);
    const middle = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(middle) ^ 0xff, middle);
    writeFileSync(changed, bytes);
    copyFileSync(`${path}.json`, `${changed}.json`);
    await refused(changed, /describes another file.*SHA-256/);
    const garbage = randomBytes(4096, 7);
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(garbage).digest('hex');
    await refused(
      variant('garbage.onnx', (s) => (s.onnxSha256 = sha), garbage),
      /not a model onnxruntime can run/,
    );
  });

  test('a sidecar that does not match the model, or is no sidecar', async () => {
    await refused(
      variant('size.onnx', (s) => (s.inputSize = 96)),
      /sidecar\.inputSize.*does not match/,
    );
    await refused(
      variant('dim.onnx', (s) => (s.embeddingDim = 512)),
      /sidecar\.embeddingDim.*does not match/,
    );
    await refused(
      variant('name.onnx', (s) => (s.input = { name: 'pixels', dynamicBatch: true })),
      /no input pixels/,
    );
    await refused(
      variant('version.onnx', (s) => (s.version = 2)),
      /version 2; this SDK reads version 1/,
    );
    await refused(
      variant('fields.onnx', (s) => delete s.preprocess),
      /sidecar\.preprocess/,
    );
    const notJson = join(dir, 'notjson.onnx');
    copyFileSync(path, notJson);
    writeFileSync(`${notJson}.json`, '{ nope');
    await refused(notJson, /not valid JSON/);
  });

  test('a tensor of the wrong size, shape or dtype; a disposed recognizer', async () => {
    const onnx = await OnnxRecognizer.load(path);
    const bad = async (x: unknown, pattern: RegExp) =>
      assert.rejects(
        onnx.embed(x as Tensor),
        (err: unknown) => err instanceof ValidationError && pattern.test(err.message),
      );
    await bad(images(2, 224, 1), /must be N × 3 × 64 × 64.*got 2 × 3 × 224 × 224: resize/);
    await bad(new Tensor(new Float32Array(64 * 64), [1, 1, 64, 64]), /must be N × 3 × 64 × 64/);
    await bad(new Tensor(new Float64Array(3 * 64 * 64), [1, 3, 64, 64]), /must be float32; got float64/);
    await bad(new Tensor(new Float32Array(3 * 64 * 64).fill(NaN), [1, 3, 64, 64]), /NaN or infinite/);
    await bad([join(dir, 'no-such.png')], /cannot decode image/);
    await bad('one.png', /must be a Tensor or an array of image paths/);
    const empty = await onnx.embed(new Tensor(new Float32Array(0), [0, 3, 64, 64]));
    assert.deepEqual(empty.shape, [0, onnx.embeddingDim]);
    const many = images(5, 64, 3);
    const whole = await onnx.embed(many);
    const small = await OnnxRecognizer.load(path, { batchSize: 2 }); // 2 + 2 + 1
    assert.ok(compare(whole, await small.embed(many)).maxAbs < 1e-5);
    await small.dispose();
    await onnx.dispose();
    await onnx.dispose();
    await assert.rejects(onnx.embed(many), /disposed/);
    await assert.rejects(OnnxRecognizer.load(path, { batchSize: 0 }), /batchSize/);
    await assert.rejects(OnnxRecognizer.load(path, { threads: 2 } as never), /threads: is not an option/);
  });
});

describe('no Python: recognite-ts/deploy starts no worker', () => {
  test('its import graph never reaches pythonia or the worker', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // type-only imports too: stricter than what loads at run time
      for (const [, spec] of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
        const target = spec as string;
        assert.ok(
          !/pythonia|recognite\.js|transport|worker/.test(target),
          `${relative(REPO_ROOT, file)} imports ${target}`,
        );
        if (target.startsWith('.')) visit(resolve(dirname(file), target.replace(/\.js$/, '.ts')));
      }
    };
    visit(join(REPO_ROOT, 'src/sdk/deploy/index.ts'));
    assert.ok(seen.size >= 8);
  });

  test('loading and embedding in a fresh Node process spawns no child process', async () => {
    await using model = await rt.createRecognizer({ modelName: 'mobilenet_v3_small' });
    const path = join(dir, 'child.onnx');
    await exportModel(model, path, 64);
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      import { OnnxRecognizer, Tensor } from 'recognite-ts/deploy';
      const onnx = await OnnxRecognizer.load(${JSON.stringify(path)});
      const e = await onnx.embed(new Tensor(new Float32Array(2 * 3 * 64 * 64), [2, 3, 64, 64]));
      const pids = readdirSync('/proc/self/task').flatMap((t) => readFileSync('/proc/self/task/' + t + '/children', 'utf8').trim().split(' ').filter(Boolean));
      const children = pids.map((pid) => { try { return readFileSync('/proc/' + pid + '/cmdline', 'utf8').split('\\0').join(' '); } catch { return ''; } });
      console.log(JSON.stringify({ shape: e.shape, children }));
      await onnx.dispose();`;
    const run = spawnSync('node', ['--conditions=source', '--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, RECOGNITE_PYTHON: '/nonexistent/python' },
    });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout.trim().split('\n').pop() as string) as { shape: number[]; children: string[] };
    assert.deepEqual(out.shape, [2, model.embeddingDim]);
    // running from source, tsx may start its esbuild service to compile a changed file: that is no worker
    assert.deepEqual(
      out.children.filter((cmd) => !/[/\\]esbuild\b.*--service/.test(cmd)),
      [],
    );
  });
});
