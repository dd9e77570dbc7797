// SIGKILL of the worker at every stage of its work: each pending call rejects with WorkerCrashedError
// within 2 s, no process of the worker (loader processes included) outlives it, its session folder is
// gone, the last checkpoint stays loadable, and a new session works.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Recognite, Tensor, WorkerCrashedError, type SplitPart } from 'recognite-ts';
import { isAlive, waitFor } from './helpers.js';

let dir: string;
let data: { gallery: SplitPart; query: SplitPart; all: { csv: string } };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'recognite-kills-'));
  await using rt = await Recognite.start({ device: 'cpu' });
  const ds = await rt.data.generateSynthetic({
    outDir: join(dir, 'data'),
    identities: 8,
    samplesPerIdentity: 24,
    size: 32,
  });
  const { gallery, query } = await rt.data.galleryQuerySplit(ds, { outDir: join(dir, 'gq') });
  data = { gallery, query, all: ds };
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Every process below `pid` (loader processes, the forkserver), from /proc. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number): void => {
    for (const [child, ppid] of parent) {
      if (ppid === p) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

/**
 * Start `work` on a fresh session, wait until `ready` says it is under way, SIGKILL the worker, and check
 * what every stage must leave: a prompt WorkerCrashedError, no process, no folder.
 */
async function killDuring(
  name: string,
  work: (rt: Recognite) => Promise<unknown>,
  ready: (rt: Recognite) => Promise<void>,
): Promise<void> {
  const rt = await Recognite.start({ device: 'cpu' });
  const pid = rt.workerPid!;
  const { dir: session } = rt.sharedMemory;
  const pending = work(rt);
  pending.catch(() => {}); // observed below
  await ready(rt);
  const children = descendants(pid);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await assert.rejects(pending, (e: unknown) => e instanceof WorkerCrashedError, `${name}: WorkerCrashedError`);
  const elapsed = Date.now() - killedAt;
  assert.ok(elapsed < 2000, `${name}: rejected after ${elapsed} ms`);
  const gone = await waitFor(() => children.every((c) => !isAlive(c)), 10_000);
  const lastExit = Date.now() - killedAt;
  console.log(`${name}: ${children.length} processes below the worker, all gone ${lastExit} ms after the kill`);
  assert.ok(gone && lastExit < 5000, `${name}: processes left: ${children.filter(isAlive).join(', ')}`);
  await rt.close();
  assert.equal(existsSync(session), false, `${name}: session folder removed`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('SIGKILL of the worker at every stage', () => {
  test('idle, and during a 64 MiB round trip', async () => {
    const idle = await Recognite.start({ device: 'cpu' });
    const { dir: session } = idle.sharedMemory;
    process.kill(idle.workerPid!, 'SIGKILL');
    const killedAt = Date.now();
    await assert.rejects(idle.info(), WorkerCrashedError, 'idle: the next call');
    assert.ok(Date.now() - killedAt < 2000, 'idle: rejected promptly');
    await idle.close();
    assert.equal(existsSync(session), false, 'idle: session folder removed');
    await killDuring(
      'round trip',
      async (rt) => {
        for (;;) await rt.echo(new Tensor(new Float32Array(16 * 1024 * 1024)));
      },
      () => sleep(500),
    );
  });

  test('while embedding files with loader processes', async () => {
    await killDuring(
      'embed',
      async (rt) => {
        const model = await rt.createRecognizer({ modelName: 'resnet18' });
        for (;;) await model.embed(data.all, { size: 64, numWorkers: 2, batchSize: 8 });
      },
      async (rt) => {
        await waitFor(() => descendants(rt.workerPid!).length >= 3, 30_000); // forkserver + 2 loaders
      },
    );
  });

  test('during fit: the last checkpoint stays whole and loads in a new session', async () => {
    const checkpointDir = join(dir, 'ckpt');
    let epochs = 0;
    await killDuring(
      'fit',
      async (rt) => {
        const model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 8 });
        return model.fit({
          train: data.all,
          epochs: 50,
          size: 32,
          batchSize: 16,
          numWorkers: 1,
          checkpointDir,
          onProgress: (e) => {
            if (e.type === 'epoch') epochs = e.epoch;
          },
        });
      },
      async () => {
        await waitFor(() => epochs >= 1, 120_000, 100);
        await sleep(300); // into the next epoch
      },
    );
    await using rt = await Recognite.start({ device: 'cpu' });
    const model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: 8 });
    const result = await model.fit({
      train: data.all,
      epochs: epochs + 1,
      size: 32,
      batchSize: 16,
      resumeFrom: join(checkpointDir, 'last.pt'),
    });
    assert.equal(result.history.length, epochs + 1, 'resumed from the last whole checkpoint');
  });

  test('during evaluate and during a gallery search', async () => {
    await killDuring(
      'evaluate',
      async (rt) => {
        const model = await rt.createRecognizer({ modelName: 'resnet18' });
        for (;;) await model.evaluate({ gallery: data.gallery, query: data.query, size: 64, numWorkers: 0 });
      },
      () => sleep(2500),
    );
    await killDuring(
      'gallery',
      async (rt) => {
        const gallery = await rt.createGallery({ dim: 256 });
        const rows = 50_000;
        await gallery.add({
          embeddings: new Tensor(new Float32Array(rows * 256).map(Math.random), [rows, 256]),
          labels: Array.from({ length: rows }, (_, i) => i % 1000),
        });
        const queries = new Tensor(new Float32Array(4000 * 256).map(Math.random), [4000, 256]);
        for (;;) await gallery.identify(queries, { k: 10 });
      },
      () => sleep(4000),
    );
  });
});
