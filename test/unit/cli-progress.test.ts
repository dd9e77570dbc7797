// How the CLI shows progress: a bar on a terminal, periodic plain lines in a log or pipe, nothing with --json.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createProgress } from '../../src/sdk/cli/progress.js';

/** A stream that records what is written, as a terminal (isTTY) or a pipe. */
function capture(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  Object.assign(stream, {
    isTTY: tty,
    columns: 120,
    rows: 40,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  return { stream, text: () => text };
}

test('on a terminal: a bar with the phase, counts, the detail, the speed and the ETA; logged lines above it', async () => {
  const { stream, text } = capture(true);
  const progress = createProgress({ json: false, stream });
  progress.begin();
  progress.update({ phase: 'epoch 1/2', done: 3, total: 10, detail: 'loss 2.3026', rate: 120, etaSeconds: 75 });
  progress.log('epoch 1/2: loss 2.3026');
  progress.update({ phase: 'epoch 2/2', done: 10, total: 10, detail: 'loss 1.5', rate: 130, etaSeconds: 0 });
  progress.stop();
  await new Promise((resolve) => setImmediate(resolve));
  const out = text();
  assert.match(out, /epoch 1\/2 \[[█░]+\] 30% 3\/10 \| loss 2\.3026 \| 120 img\/s \| ETA 1m15s/);
  assert.match(out, /\nepoch 1\/2: loss 2\.3026\n/, 'the bar of epoch 1 stays, the line comes below it');
  assert.match(out, /epoch 2\/2 \[█+\] 100% 10\/10/);
});

test('in a log or a pipe: plain lines, at most one per interval within a phase, and always the last of each', () => {
  const { stream, text } = capture(false);
  const progress = createProgress({ json: false, stream, intervalMs: 60_000 });
  progress.begin();
  for (let done = 1; done <= 5; done++) progress.update({ phase: 'embedding', done, total: 5 });
  progress.update({ phase: 'scoring', done: 0, total: 2, unit: 'rows/s' });
  progress.log('done');
  const lines = text().trim().split('\n');
  assert.equal(lines.length, 4, lines.join('\n'));
  assert.match(lines[0]!, /^embedding: 1\/5 \(20%\), (\d+(\.\d)?|\?) img\/s, ETA /);
  assert.match(lines[1]!, /^embedding: 5\/5 \(100%\)/);
  assert.match(lines[2]!, /^scoring: 0\/2 \(0%\), \? rows\/s, ETA \?$/);
  assert.equal(lines[3], 'done');
  assert.ok(!text().includes('\u001b['), 'no terminal escapes in a log');
});

test('with --json: nothing at all', () => {
  const { stream, text } = capture(true);
  const progress = createProgress({ json: true, stream });
  progress.begin();
  progress.update({ phase: 'x', done: 1, total: 2 });
  progress.log('line');
  progress.stop();
  assert.equal(text(), '');
});
