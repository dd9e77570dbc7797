// The generated parts of docs/BENCHMARKS.md are rewritten between markers by `npm run bench`;
// hand-written text around them must survive, and broken markers must stop the rewrite.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { markers, replaceSection, storedRows, withRows } from '../../bench/lib/docs-sections.js';
import { median, table } from '../../bench/lib/contract.js';

const [start, end] = markers('train');

test('replaceSection replaces only the text between the markers', () => {
  const doc = `# B\n\nintro\n\n${start}\nold table\n${end}\n\nafter\n`;
  const out = replaceSection(doc, 'train', '| new |\n', '### Train');
  assert.equal(out, `# B\n\nintro\n\n${start}\n| new |\n${end}\n\nafter\n`);
  assert.equal(replaceSection(out, 'train', '| new |', '### Train'), out, 'idempotent');
});

test('replaceSection appends a missing section under its heading', () => {
  const out = replaceSection('# B\n\nintro\n', 'train', 'body', '### Train');
  assert.equal(out, `# B\n\nintro\n\n### Train\n\n${start}\nbody\n${end}\n`);
});

test('replaceSection refuses missing, repeated or reversed markers', () => {
  for (const doc of [`${start}\nx\n`, `x\n${end}\n`, `${end}\n${start}\n`, `${start}\n${end}\n${start}\n${end}\n`]) {
    assert.throws(() => replaceSection(doc, 'train', 'body', '### Train'), /markers of section "train"/);
  }
});

test('every marker pair in docs/BENCHMARKS.md is well formed', () => {
  const doc = readFileSync(new URL('../../docs/BENCHMARKS.md', import.meta.url), 'utf8');
  const names = [...doc.matchAll(/<!-- bench:([\w-]+) -->/g)].map((m) => m[1]!);
  for (const name of names) assert.doesNotThrow(() => replaceSection(doc, name, 'x', `### ${name}`));
});

test('median and table', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 3);
  assert.throws(() => median([]), RangeError);
  assert.equal(table(['a', 'b'], [['1', '2']]), '| a | b |\n| --- | --- |\n| 1 | 2 |');
});

test('a section keeps its summary rows, so a partial run can rebuild the whole summary', () => {
  const rows = [{ benchmark: 'train', work: 'w', goal: 'g', measured: '1.00× | ok', met: true }];
  const doc = replaceSection('# B\n', 'train', withRows('| table |', rows), '### Train');
  assert.deepEqual(storedRows(doc, 'train'), rows);
  assert.deepEqual(storedRows(doc, 'evaluate'), [], 'a section that has not run has no rows');
  assert.deepEqual(storedRows(replaceSection(doc, 'train', '| table |', '### Train'), 'train'), []);
});
