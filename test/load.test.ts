// Load against the real worker: many concurrent calls each get their own answer, long runs of small calls
// and of model create/dispose cycles leave Node's heap and the worker's memory flat. Every figure is printed
// (console.log) so that it can be quoted; the tolerances are stated beside each assertion.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test, type TestContext } from 'node:test';
import { modelInfo, Recognite, Tensor } from 'recognite-ts';
import { gc } from './helpers.js';

const MiB = 1024 * 1024;

let rt: Recognite;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
});
after(async () => {
  await rt.close();
});

const hasProc = existsSync('/proc/self/status');
/** A line of /proc/<pid>/status in MiB (VmRSS: all resident memory; RssAnon: without mapped files and shared memory). */
function workerMiB(field: 'VmRSS' | 'RssAnon'): number {
  const status = readFileSync(`/proc/${rt.workerPid!}/status`, 'utf8');
  const kB = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
  assert.ok(kB, `${field} in /proc/${rt.workerPid!}/status`);
  return Number(kB) / 1024;
}
/** Node's heap after a full collection, in MiB. */
function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / MiB;
}
const mib = (n: number): string => `${n.toFixed(1)} MiB`;

/** The worker's resident memory now, to compare with later (undefined without /proc). */
function workerMemory(): { rss: number; anon: number } | undefined {
  return hasProc ? { rss: workerMiB('VmRSS'), anon: workerMiB('RssAnon') } : undefined;
}

/** Print and check the worker's growth since `before` (tolerance 50 MiB); skips the test without /proc. */
function assertWorkerFlat(t: TestContext, before: ReturnType<typeof workerMemory>, what: string, note = ''): void {
  if (!before) {
    t.skip('no /proc: worker memory not measured');
    return;
  }
  const rssGrowth = workerMiB('VmRSS') - before.rss;
  const anonGrowth = workerMiB('RssAnon') - before.anon;
  console.log(
    `load: worker VmRSS ${mib(before.rss)} → growth ${mib(rssGrowth)} (RssAnon growth ${mib(anonGrowth)})${note}`,
  );
  assert.ok(rssGrowth < 50, `the worker's resident memory grew ${mib(rssGrowth)} ${what} (tolerance 50 MiB)`);
}
const seconds = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`;

test('1,000 concurrent calls each get their own answer', async () => {
  const count = 1000;
  const started = performance.now();
  const sent = Array.from({ length: count }, (_, i) => new Tensor(Int32Array.of(i, 100_000 - i, i * 7 + 3), [3]));
  const answers = await Promise.all(sent.map((t) => rt.echo(t)));
  const elapsed = performance.now() - started;
  answers.forEach((answer, i) => {
    assert.equal(answer.dtype, 'int32');
    assert.deepEqual(answer.shape, [3]);
    assert.deepEqual([...answer.data], [i, 100_000 - i, i * 7 + 3], `call ${i} got another call's answer`);
  });
  assert.deepEqual(await rt.invoke('ping', {}), {});
  console.log(
    `load: ${count} concurrent echo calls answered correctly in ${(elapsed / 1000).toFixed(2)} s ` +
      `(${Math.round(count / (elapsed / 1000))} calls/s)`,
  );
});

test('100 concurrent 1 MiB round trips each return exactly their own data', async () => {
  const count = 100;
  const words = MiB / 4;
  /** A pattern unique to call i, different in every word. */
  const pattern = (i: number): Int32Array => {
    const data = new Int32Array(words);
    for (let j = 0; j < words; j++) data[j] = (Math.imul(i + 1, 0x9e3779b1) + Math.imul(j, 0x85ebca6b)) | 0;
    return data;
  };
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) => rt.echo(new Tensor(pattern(i), [256, words / 256]))),
  );
  const elapsed = performance.now() - started;
  answers.forEach((answer, i) => {
    assert.deepEqual(answer.shape, [256, words / 256]);
    const expected = Buffer.from(pattern(i).buffer);
    const got = Buffer.from(answer.data.buffer, answer.data.byteOffset, answer.data.byteLength);
    assert.equal(got.equals(expected), true, `round trip ${i}: not its own bytes`);
  });
  console.log(
    `load: ${count} concurrent 1 MiB echo round trips, every byte checked, in ${(elapsed / 1000).toFixed(2)} s ` +
      `(${((2 * count) / (elapsed / 1000)).toFixed(0)} MiB/s both ways)`,
  );
});

test('10,000 sequential small calls: Node heap and worker memory stay flat', async (t) => {
  const tiny = (i: number): Tensor<'float32'> => new Tensor(Float32Array.of(i, i + 0.5, -i), [3]);
  const run = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const back = await rt.echo(tiny(i));
      if (back.data[0] !== i || back.data[2] !== -i) assert.fail(`call ${i}: wrong answer ${String([...back.data])}`);
    }
  };
  await run(1000); // warm-up: pools, caches and lazily imported modules
  await new Promise((r) => setTimeout(r, 100));
  const heapBefore = heapMiB();
  const workerBefore = workerMemory();
  const started = performance.now();
  await run(10_000);
  const time = seconds(started);
  await new Promise((r) => setTimeout(r, 100));
  const heapGrowth = heapMiB() - heapBefore;
  console.log(
    `load: 10,000 sequential echo calls in ${time}; Node heap ${mib(heapBefore)} → growth ${mib(heapGrowth)}`,
  );
  assert.ok(heapGrowth < 10, `Node's heap grew ${mib(heapGrowth)} (tolerance 10 MiB)`);
  assertWorkerFlat(t, workerBefore, 'over 10,000 calls');
});

test('200 createRecognizer/dispose cycles: worker memory stays flat', async (t) => {
  const config = { modelName: 'shufflenet_v2_x0_5', numClasses: 10 } as const;
  const x = new Tensor(new Float32Array(2 * 3 * 32 * 32).fill(0.5), [2, 3, 32, 32]);
  const cycle = async (i: number): Promise<void> => {
    const model = await rt.createRecognizer({ ...config, seed: i });
    assert.deepEqual((await model.forward(x)).shape, [2, 10]);
    await model.dispose();
  };
  for (let i = 0; i < 10; i++) await cycle(i); // warm-up: the allocator's pools, torchvision's imports
  const workerBefore = workerMemory();
  const heapBefore = heapMiB();
  const started = performance.now();
  const perCycle: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    await cycle(i);
    perCycle.push(performance.now() - t0);
  }
  const time = seconds(started);
  const heapGrowth = heapMiB() - heapBefore;
  const mean = (xs: number[]): string => `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(0)} ms`;
  console.log(
    `load: 200 create/forward/dispose cycles of ${config.modelName} in ${time} (first 20: ${mean(perCycle.slice(0, 20))} ` +
      `a cycle, last 20: ${mean(perCycle.slice(-20))}); Node heap growth ${mib(heapGrowth)}`,
  );
  assert.ok(heapGrowth < 10, `Node's heap grew ${mib(heapGrowth)} (tolerance 10 MiB)`);
  const weights = mib((modelInfo(config.modelName).parameters * 4) / MiB);
  assertWorkerFlat(t, workerBefore, 'over 200 cycles', `; one model is ${weights} of weights`);
});
