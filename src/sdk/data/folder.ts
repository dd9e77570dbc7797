/**
 * A data set from a folder in the common "ImageFolder" layout (one sub-folder per identity, the
 * sub-folder's name the label): the images found, sorted, written as a CSV the worker reads.
 * Pure Node: no worker call.
 */
import { mkdirSync, readdirSync, realpathSync, renameSync, statSync, writeFileSync, type Dirent } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ValidationError } from '../core/errors.js';
import { resolveOptions } from '../core/validate.js';
import type { FolderDataset, FolderOptions } from './options.js';

/** Image files the worker decodes (torchvision's decode_image). */
export const DECODABLE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'gif', 'webp'] as const;
/** Image files recognised as images but not decodable by the worker: reported in `skipped`. */
export const UNDECODABLE_EXTENSIONS = ['bmp', 'tif', 'tiff', 'ppm'] as const;

const WHAT = 'fromFolder';

function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

const isDecodable = (name: string): boolean => (DECODABLE_EXTENSIONS as readonly string[]).includes(extensionOf(name));
const isUndecodable = (name: string): boolean =>
  (UNDECODABLE_EXTENSIONS as readonly string[]).includes(extensionOf(name));

/** Byte order, not the locale's: the same tree gives the same CSV everywhere. */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** What a directory entry is, following symbolic links (a broken link is neither). */
function kindOf(dir: string, entry: Dirent): 'file' | 'dir' | 'other' {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'dir';
  if (!entry.isSymbolicLink()) return 'other';
  try {
    const stats = statSync(join(dir, entry.name));
    return stats.isFile() ? 'file' : stats.isDirectory() ? 'dir' : 'other';
  } catch {
    return 'other';
  }
}

function visibleEntries(dir: string): Dirent[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => byName(a.name, b.name));
}

/** Image files under `dir` at any depth (hidden ones skipped; each real folder visited once). */
function walk(dir: string, seen: Set<string>, images: string[], skipped: string[]): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return; // a symbolic link back up the tree
  seen.add(real);
  for (const entry of visibleEntries(dir)) {
    const kind = kindOf(dir, entry);
    const path = join(dir, entry.name);
    if (kind === 'dir') walk(path, seen, images, skipped);
    else if (kind === 'file' && isDecodable(entry.name)) images.push(path);
    else if (kind === 'file' && isUndecodable(entry.name)) skipped.push(path);
  }
}

/**
 * When every label looks like a number, pandas reads the label column as numbers (as recognite does), so
 * folders such as `7` and `007` would become one identity: refused, naming them.
 */
function refuseNumericCollisions(root: string, labels: string[]): void {
  const numeric = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/;
  if (!labels.every((l) => numeric.test(l))) return;
  const byValue = new Map<number, string[]>();
  for (const label of labels) byValue.set(Number(label), [...(byValue.get(Number(label)) ?? []), label]);
  const clashes = [...byValue.values()].filter((names) => names.length > 1);
  if (clashes.length === 0) return;
  const shown = clashes
    .slice(0, 3)
    .map((names) => names.join(' and '))
    .join('; ');
  throw ValidationError.one(
    WHAT,
    'dir',
    `identity folders of ${root} name the same number (${shown}): the CSV's labels are read as numbers, so rename them apart`,
  );
}

/** A CSV field, quoted when it holds a comma, a quote, a line break or surrounding spaces. */
export function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A path as the CSV holds it: relative to the CSV's folder, with forward slashes. */
function csvPath(from: string, file: string): string {
  return relative(from, file).split(sep).join('/');
}

/**
 * Read an ImageFolder tree (`dir/<label>/**\/<image>`) and write it as a data-set CSV (`image,label`).
 * @throws ValidationError for a missing folder, a file instead of a folder, no identity folders, no
 *   images, or images directly in `dir`
 */
export function datasetFromFolder(dir: string, options: FolderOptions): FolderDataset {
  const resolved = resolveOptions('FolderOptions', options, WHAT);
  const root = resolve(dir);
  let stats;
  try {
    stats = statSync(root);
  } catch {
    throw ValidationError.one(WHAT, 'dir', `folder not found: ${root}`);
  }
  if (!stats.isDirectory()) {
    throw ValidationError.one(
      WHAT,
      'dir',
      `${root} is a file, not a folder: pass the folder that holds one sub-folder per identity`,
    );
  }
  const entries = visibleEntries(root);
  const loose = entries.filter((e) => kindOf(root, e) === 'file' && (isDecodable(e.name) || isUndecodable(e.name)));
  if (loose.length > 0) {
    const names =
      loose
        .slice(0, 3)
        .map((e) => e.name)
        .join(', ') + (loose.length > 3 ? `, … ${loose.length - 3} more` : '');
    throw ValidationError.one(
      WHAT,
      'dir',
      `${loose.length} image(s) lie directly in ${root} (${names}): the label is the sub-folder's name, so move each into a folder named after its identity (${root}${sep}<identity>${sep}…)`,
    );
  }
  const identities = entries.filter((e) => kindOf(root, e) === 'dir').map((e) => e.name);
  if (identities.length === 0) {
    throw ValidationError.one(
      WHAT,
      'dir',
      `${root} has no identity folders: lay the images out as ${root}${sep}<identity>${sep}<image>, one sub-folder per identity`,
    );
  }
  refuseNumericCollisions(root, identities);
  const seen = new Set<string>([realpathSync(root)]);
  const rows: Array<{ image: string; label: string }> = [];
  const skipped: string[] = [];
  for (const label of identities) {
    const images: string[] = [];
    walk(join(root, label), seen, images, skipped);
    images.sort(byName);
    for (const image of images) rows.push({ image, label });
  }
  if (rows.length === 0) {
    const hint =
      skipped.length > 0
        ? `; ${skipped.length} file(s) in formats the worker cannot decode (${[...new Set(skipped.map(extensionOf))].join(', ')}): convert them to PNG or JPEG`
        : '';
    throw ValidationError.one(
      WHAT,
      'dir',
      `no images in the ${identities.length} identity folder(s) of ${root} (looked for ${DECODABLE_EXTENSIONS.join(', ')})${hint}`,
    );
  }
  const csv = resolve(resolved.csv);
  const folder = dirname(csv);
  mkdirSync(folder, { recursive: true });
  const text = ['image,label', ...rows.map((r) => `${csvField(csvPath(folder, r.image))},${csvField(r.label)}`)];
  const partial = `${csv}.${process.pid}.tmp`;
  writeFileSync(partial, text.join('\n') + '\n');
  renameSync(partial, csv); // atomic: a reader never sees half a CSV
  return {
    csv,
    rows: rows.length,
    labels: new Set(rows.map((r) => r.label)).size,
    imageDir: root,
    skipped: skipped.sort(byName).map((p) => csvPath(root, p)),
  };
}
