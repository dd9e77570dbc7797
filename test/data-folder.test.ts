// rt.data.fromFolder: an ImageFolder tree (one sub-folder per identity) to a data-set CSV, in Node,
// and that CSV used as any data set by the worker (describe, trainValDatasets).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Recognite, ValidationError } from 'recognite-ts';

let rt: Recognite;
let dir: string;
let png: string; // a real image to copy around
let jpg: string;

before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
  dir = mkdtempSync(join(tmpdir(), 'recognite-folder-'));
  const pngs = await rt.data.generateSynthetic({
    outDir: join(dir, 'src-png'),
    identities: 2,
    samplesPerIdentity: 1,
    size: 16,
  });
  const jpgs = await rt.data.generateSynthetic({
    outDir: join(dir, 'src-jpg'),
    identities: 2,
    samplesPerIdentity: 1,
    size: 16,
    format: 'jpg',
  });
  png = join(pngs.imageDir, 'id0000', '0.png');
  jpg = join(jpgs.imageDir, 'id0000', '0.jpg');
});
after(async () => {
  await rt.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Write a tree: each key a path under `root`, each value the image to copy there (or text to write). */
function tree(root: string, files: Record<string, string>): string {
  for (const [path, source] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    if (source === png || source === jpg) copyFileSync(source, target);
    else writeFileSync(target, source);
  }
  return root;
}

function rowsOf(csv: string): string[] {
  return readFileSync(csv, 'utf8').trimEnd().split('\n');
}

async function refused(call: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.equal(err.problems[0]?.path, 'dir');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('fromFolder', () => {
  test('one sub-folder per identity: sorted rows, nested folders, any case of extension, hidden and other files skipped', async () => {
    const root = tree(join(dir, 'photos'), {
      'bob/2.png': png,
      'bob/1.JPG': jpg,
      'ann/b.png': png,
      'ann/a.jpeg': jpg,
      'ann/side/c.png': png, // nested: still ann
      'ann/.hidden.png': png,
      '.trash/x.png': png,
      'cat/notes.txt': 'not an image',
      'cat/old.bmp': 'a format the worker cannot decode',
      'README.md': 'a file at the root that is no image is fine',
    });
    const ds = await rt.data.fromFolder(root, { csv: join(dir, 'csvs', 'photos.csv') });
    assert.equal(ds.csv, join(dir, 'csvs', 'photos.csv'));
    assert.deepEqual([ds.rows, ds.labels], [5, 2]);
    assert.equal(ds.imageDir, root);
    assert.deepEqual(ds.skipped, ['cat/old.bmp']);
    assert.deepEqual(rowsOf(ds.csv), [
      'image,label',
      '../photos/ann/a.jpeg,ann',
      '../photos/ann/b.png,ann',
      '../photos/ann/side/c.png,ann',
      '../photos/bob/1.JPG,bob',
      '../photos/bob/2.png,bob',
    ]);
    // the worker reads it as any data set
    const counted = await rt.data.describe(ds);
    assert.deepEqual([counted.rows, counted.labels], [5, 2]);
  });

  test('labels and paths that need CSV quoting; a symbolic link back up the tree is visited once', async () => {
    const root = tree(join(dir, 'quoted'), {
      'Smith, "Jo"/one, two.png': png,
      'plain/x.png': png,
    });
    symlinkSync(root, join(root, 'plain', 'loop'));
    const ds = await rt.data.fromFolder(root, { csv: join(root, 'dataset.csv') });
    assert.deepEqual(rowsOf(ds.csv), [
      'image,label',
      '"Smith, ""Jo""/one, two.png","Smith, ""Jo"""',
      'plain/x.png,plain',
    ]);
    const counted = await rt.data.describe(ds);
    assert.deepEqual([counted.rows, counted.labels], [2, 2]);
    // the CSV now lies in the folder: it is no image, so a second call gives the same data set
    const again = await rt.data.fromFolder(root, { csv: join(root, 'dataset.csv') });
    assert.equal(again.rows, 2);
  });

  test('the CSV splits as any data set: trainValDatasets', async () => {
    const synthetic = await rt.data.generateSynthetic({
      outDir: join(dir, 'synthetic'),
      identities: 10,
      samplesPerIdentity: 3,
      size: 16,
    });
    const ds = await rt.data.fromFolder(synthetic.imageDir, { csv: join(dir, 'synthetic-folder.csv') });
    assert.deepEqual([ds.rows, ds.labels], [30, 10]);
    const { train, gallery, query } = await rt.data.trainValDatasets(ds, { outDir: join(dir, 'split') });
    assert.equal(train.labels + gallery.labels, 10);
    assert.equal(gallery.rows, gallery.labels);
    assert.equal(query.rows, 2 * query.labels);
  });

  test('numeric folder names stay distinct identities unless two name the same number', async () => {
    const ok = tree(join(dir, 'numbers'), { '001/a.png': png, '002/a.png': png, '010/a.png': png });
    const ds = await rt.data.fromFolder(ok, { csv: join(dir, 'numbers.csv') });
    assert.equal((await rt.data.describe(ds)).labels, 3);
    const clash = tree(join(dir, 'clash'), { '7/a.png': png, '007/a.png': png });
    await refused(rt.data.fromFolder(clash, { csv: join(dir, 'clash.csv') }), /same number \(007 and 7\)/);
  });

  test('BAD CALL - no folder, a file, no identity folders, no images, images at the root, no csv option', async () => {
    const csv = join(dir, 'bad.csv');
    await refused(rt.data.fromFolder(join(dir, 'nowhere'), { csv }), /folder not found/);
    await refused(rt.data.fromFolder(png, { csv }), /is a file, not a folder/);
    const empty = tree(join(dir, 'empty'), { 'notes.txt': 'nothing' });
    await refused(rt.data.fromFolder(empty, { csv }), /no identity folders/);
    const imageless = tree(join(dir, 'imageless'), { 'ann/notes.txt': 'x', 'bob/scan.tiff': 'x' });
    await refused(rt.data.fromFolder(imageless, { csv }), /no images in the 2 identity folder.*tiff.*convert them/);
    const flat = tree(join(dir, 'flat'), { 'a.png': png, 'b.png': png, 'ann/c.png': png });
    await refused(
      rt.data.fromFolder(flat, { csv }),
      /2 image\(s\) lie directly in .*a\.png, b\.png.*move each into a folder/,
    );
    await assert.rejects(
      // @ts-expect-error -- the csv option is required
      rt.data.fromFolder(flat, {}),
      (err: unknown) => err instanceof ValidationError && err.problems[0]?.path === 'csv',
    );
    assert.throws(() => readFileSync(csv), /ENOENT/, 'nothing written by a refused call');
  });
});
