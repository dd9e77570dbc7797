/** `recognite embed`: embeddings of a data set or a folder of images, written as .npy with a CSV of its rows. */
import { readdirSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { Recognite } from '../../core/recognite.js';
import type { Tensor } from '../../core/tensor.js';
import { saveNpy } from '../../evaluation/npy.js';
import { onCtrlC } from '../interrupt.js';
import { addModelOptions, embedOptions, json, loadModel, UsageError } from '../options.js';
import { printRecord } from '../output.js';
import { createProgress } from '../progress.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.gif', '.webp', '.tif', '.tiff', '.ppm']);
const embedding = embedOptions();

/** The image files under `dir` (sub-folders included), sorted: the rows of the embeddings. */
export function listImages(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    throw new UsageError(`cannot read the folder ${dir}: ${(err as Error).message}`);
  }
  const files = entries
    .filter((e) => e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  if (files.length === 0) {
    throw new UsageError(`no image files in ${dir} (looked for ${[...IMAGE_EXTENSIONS].join(' ')})`);
  }
  return files;
}

/** A CSV cell: quoted when it holds a comma, a quote or a line break. */
const cell = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

interface EmbedCommandOptions {
  checkpoint: string;
  model?: string;
  data?: string;
  images?: string;
  out: string;
  json?: boolean;
  [option: string]: unknown;
}

export function registerEmbedCommand(program: Command): void {
  const command = addModelOptions(
    program
      .command('embed')
      .description(
        'embed images with a trained model into an N × D .npy file (rows in the order of the data set, or of the sorted image files)',
      ),
  )
    .addOption(new Option('--data <csv>', 'a data set (CSV with image and label columns)').conflicts('images'))
    .option('--images <dir>', 'a folder of images (sub-folders included), instead of --data')
    .requiredOption(
      '--out <file.npy>',
      'where to write the embeddings (float32 .npy); with --images, the file of each row goes to the same name with .csv',
    );
  embedding.addTo(command);
  command
    .addOption(json())
    .addHelpText(
      'after',
      '\nExamples:\n  $ recognite embed --checkpoint checkpoints/last.pt --data data/dataset.csv --out embeddings.npy' +
        '\n  $ recognite embed --checkpoint checkpoints/last.pt --images photos/ --out photos.npy --tta flip',
    )
    .action(async (opts: EmbedCommandOptions) => embed(opts));
}

async function embed(opts: EmbedCommandOptions): Promise<void> {
  const { data, images, out } = opts;
  if ((data === undefined) === (images === undefined)) {
    throw new UsageError('give what to embed: --data data.csv or --images DIR');
  }
  if (extname(out) !== '.npy') throw new UsageError(`--out must name a .npy file, got ${out}`);
  const picked = embedding.checked(opts);
  const paths = images === undefined ? undefined : listImages(images);
  using interrupt = onCtrlC();
  const progress = createProgress({ json: opts.json === true });
  await using rt = await Recognite.start();
  await using model = await loadModel(rt, opts);
  progress.begin();
  const onProgress = (e: { done: number; total: number }): void => {
    progress.update({ phase: 'embedding', done: e.done, total: e.total });
  };
  const options = { ...picked, signal: interrupt.signal, onProgress };
  let embeddings: Tensor<'float32'>;
  let rowsOf: string;
  try {
    if (paths) {
      embeddings = await model.embed(paths, options);
      // the rows of a folder are ours to order: say which file each one is
      rowsOf = resolve(out.replace(/\.npy$/, '.csv'));
      writeFileSync(rowsOf, ['image', ...paths.map((p) => cell(resolve(p)))].join('\n') + '\n');
    } else {
      const csv = data ?? '';
      embeddings = (await model.embedDataset({ csv }, options)).embeddings;
      rowsOf = resolve(csv); // rows follow the data set's own CSV
    }
  } finally {
    progress.stop();
  }
  saveNpy(out, embeddings);
  const [rows, dim] = embeddings.shape;
  printRecord({ json: opts.json === true }, { out: resolve(out), rows, dim, rowsOf });
}
