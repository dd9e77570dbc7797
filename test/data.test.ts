// Data sets through the SDK: the synthetic generator and recognite's splits, written as CSVs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Recognite, ValidationError, type SyntheticProgress } from 'recognite-ts';

let rt: Recognite;
let dir: string;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-data-'));
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

function labelsOf(csv: string): string[] {
  return readFileSync(csv, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',').at(-1)!);
}

describe('synthetic data sets', () => {
  test('deterministic for a seed, with progress, and a CSV of relative paths', async () => {
    const events: SyntheticProgress[] = [];
    const a = await rt.data.generateSynthetic(
      { outDir: join(dir, 'a'), identities: 5, samplesPerIdentity: 4, size: 24, seed: 3 },
      { onProgress: (e) => events.push(e) },
    );
    const b = await rt.data.generateSynthetic({
      outDir: join(dir, 'b'),
      identities: 5,
      samplesPerIdentity: 4,
      size: 24,
      seed: 3,
    });
    assert.equal(a.numImages, 20);
    assert.equal(events.at(-1)?.done, 20);
    const rowsA = readFileSync(a.csv, 'utf8');
    assert.equal(rowsA, readFileSync(b.csv, 'utf8'));
    const firstImage = rowsA.split('\n')[1]!.split(',')[0]!;
    assert.ok(!firstImage.startsWith('/'), 'paths are relative to the CSV');
    assert.ok(readFileSync(join(dir, 'a', firstImage)).equals(readFileSync(join(dir, 'b', firstImage))));
  });

  test('BAD CALL - too few identities, a size out of range', async () => {
    await assert.rejects(
      rt.data.generateSynthetic({ outDir: join(dir, 'x'), identities: 1, samplesPerIdentity: 2, size: 4 }),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.deepEqual(err.problems.map((p) => p.path).sort(), ['identities', 'size']);
        return true;
      },
    );
  });
});

describe('splits', () => {
  test('trainValDatasets: label-disjoint train and validation, validation split into gallery and query', async () => {
    const ds = await rt.data.generateSynthetic({
      outDir: join(dir, 'split'),
      identities: 10,
      samplesPerIdentity: 3,
      size: 16,
    });
    const parts = await rt.data.trainValDatasets(ds, {
      outDir: join(dir, 'split', 'parts'),
      numFolds: 5,
      valFold: 1,
      numRefs: 1,
    });
    assert.equal(parts.train.labels, 8);
    assert.equal(parts.gallery.labels, 2);
    assert.equal(parts.gallery.rows, 2);
    assert.equal(parts.query.rows, 4);
    const train = new Set(labelsOf(parts.train.csv));
    for (const label of labelsOf(parts.gallery.csv)) assert.ok(!train.has(label), `${label} is in both`);
    assert.deepEqual(new Set(labelsOf(parts.query.csv)), new Set(labelsOf(parts.gallery.csv)));
    assert.deepEqual(parts.warnings, []);
    // describe(): the counts of any CSV data set, with only the data set given
    const counted = await rt.data.describe({ csv: parts.train.csv });
    assert.deepEqual([counted.rows, counted.labels], [parts.train.rows, 8]);
    assert.equal((await rt.data.describe(ds)).labels, 10);
    await assert.rejects(rt.data.describe({ csv: join(dir, 'nope.csv') }), ValidationError);
  });

  test('the same seed gives the same split; labels with too few rows are warnings, int labels included', async () => {
    const csv = join(dir, 'ints.csv');
    const rows = ['image,label'];
    const files = readFileSync(join(dir, 'split', 'dataset.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1);
    files
      .slice(0, 7)
      .forEach((line, i) => rows.push(`${join(dir, 'split', line.split(',')[0]!)},${i < 6 ? i % 3 : 7}`));
    writeFileSync(csv, rows.join('\n') + '\n');
    const one = await rt.data.galleryQuerySplit({ csv }, { outDir: join(dir, 'gq1'), numRefs: 2, seed: 5 });
    const two = await rt.data.galleryQuerySplit({ csv }, { outDir: join(dir, 'gq2'), numRefs: 2, seed: 5 });
    assert.equal(readFileSync(one.gallery.csv, 'utf8'), readFileSync(two.gallery.csv, 'utf8'));
    assert.equal(one.warnings.length, 1);
    assert.match(one.warnings[0]!, /label "?7"? has only 1 row/);
  });

  test('BAD CALL - a CSV without the label column names the columns it has', async () => {
    const csv = join(dir, 'nolabel.csv');
    writeFileSync(csv, 'image,identity\na.png,x\n');
    await assert.rejects(rt.data.kFoldSplit({ csv }, { outDir: join(dir, 'o') }), (err: unknown) => {
      assert.ok(err instanceof ValidationError);
      assert.match(err.message, /has no column 'label' \(its columns: image, identity\); set labelColumn/);
      return true;
    });
    const split = await rt.data
      .kFoldSplit({ csv, labelColumn: 'identity' }, { outDir: join(dir, 'o'), numFolds: 2 })
      .catch((e: unknown) => e);
    assert.ok(split instanceof ValidationError, 'one label cannot make two folds, or the image is missing');
  });

  test('BAD CALL - unknown split options and data-set fields get the nearest names', async () => {
    await assert.rejects(
      rt.data.kFoldSplit({ csv: 'x.csv', labelColum: 'y' } as never, { outDir: dir, numFold: 3 } as never),
      /labelColum: unknown option \(did you mean 'labelColumn'\?\)/,
    );
    await assert.rejects(
      rt.data.kFoldSplit({ csv: 'x.csv' }, { outDir: dir, numFold: 3 } as never),
      /did you mean 'numFolds'/,
    );
  });
});

test('BAD CALL - a synthetic set into a file is a ValidationError before anything is written', async () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'not a folder');
  await assert.rejects(
    rt.data.generateSynthetic({ outDir: file, identities: 2, samplesPerIdentity: 1 }),
    (e: unknown) => e instanceof ValidationError && /a-file exists and is not a folder/.test(e.message),
  );
  assert.equal(readFileSync(file, 'utf8'), 'not a folder');
});
