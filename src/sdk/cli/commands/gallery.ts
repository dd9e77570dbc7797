/**
 * `recognite gallery build|add|calibrate|identify`: a saved gallery of references, enrolled with a
 * trained model, that answers queries with the top matches and a verdict (a label, or unknown below
 * the calibrated threshold).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { Recognite } from '../../core/recognite.js';
import type { Gallery } from '../../gallery/gallery.js';
import type { IdentifyResult } from '../../gallery/results.js';
import type { Recognizer } from '../../model/recognizer.js';
import { onCtrlC, type Interrupt } from '../interrupt.js';
import { addModelOptions, embedOptions, json, loadModel, SchemaOptions, UsageError } from '../options.js';
import { printRecord, printTable } from '../output.js';
import { createProgress, type Progress } from '../progress.js';
import { listImages } from './embed.js';

const embedding = embedOptions();
const galleryConfig = new SchemaOptions('GalleryConfig', [
  'metric',
  'backend',
  'index',
  'nprobe',
  'efSearch',
  'averageReferences',
]);
// identify and calibrate embed their images with their own options (IdentifyConfig and CalibrateConfig extend EmbedConfig)
const EMBED_KEYS = ['size', 'batchSize', 'numWorkers', 'tta', 'precision'];
const identifyConfig = new SchemaOptions('IdentifyConfig', ['k', 'threshold', 'vote', ...EMBED_KEYS]);
const calibrateConfig = new SchemaOptions('CalibrateConfig', ['strategy', 'targetFar', ...EMBED_KEYS]);

interface GalleryOptions {
  checkpoint: string;
  model?: string;
  gallery: string;
  json?: boolean;
  [option: string]: unknown;
}

/** build, add and calibrate: --data is required. */
interface WithData extends GalleryOptions {
  data: string;
}

interface IdentifyOptions extends GalleryOptions {
  data?: string;
  images?: string;
}

/** A subcommand with the options every gallery command takes. */
function subcommand(parent: Command, name: string, description: string, example: string): Command {
  const command = addModelOptions(parent.command(name).description(description)).requiredOption(
    '--gallery <dir>',
    'the gallery folder',
  );
  return command.addOption(json()).addHelpText('after', `\nExample:\n  $ recognite gallery ${example}`);
}

export function registerGalleryCommands(program: Command): void {
  const gallery = program
    .command('gallery')
    .description('a saved gallery of references: build, add, calibrate the threshold, identify images')
    .addHelpText(
      'after',
      '\nExample:\n  $ recognite gallery identify --gallery people --checkpoint checkpoints/last.pt --images new/',
    );

  const build = subcommand(
    gallery,
    'build',
    'enrol the images of a data set into a new gallery folder',
    'build --checkpoint checkpoints/last.pt --data refs.csv --gallery people',
  ).requiredOption('--data <csv>', 'the references: a CSV with image and label columns');
  galleryConfig.addTo(build);
  embedding.addTo(build).action(async (opts: WithData) =>
    withModel(opts, [galleryConfig, embedding], async (rt, model, interrupt, progress) => {
      await using g = await rt.createGallery({ model, ...galleryConfig.pick(opts) });
      await g.add(
        { csv: opts.data },
        { ...embedding.pick(opts), signal: interrupt.signal, onProgress: imagesProgress(progress) },
      );
      if (g.backend === 'faiss' && !g.trained) await g.train();
      await g.save(opts.gallery);
      printRecord({ json: opts.json === true }, describe(g, opts.gallery));
    }),
  );

  const add = subcommand(
    gallery,
    'add',
    'enrol more references into a saved gallery',
    'add --checkpoint checkpoints/last.pt --gallery people --data more.csv',
  ).requiredOption('--data <csv>', 'the references to add');
  embedding.addTo(add).action(async (opts: WithData) =>
    withGallery(opts, [embedding], async (g, interrupt, progress) => {
      await g.add(
        { csv: opts.data },
        { ...embedding.pick(opts), signal: interrupt.signal, onProgress: imagesProgress(progress) },
      );
      await g.save(opts.gallery);
      printRecord({ json: opts.json === true }, describe(g, opts.gallery));
    }),
  );

  const calibrate = subcommand(
    gallery,
    'calibrate',
    'choose the threshold below which a query is unknown, on validation images',
    'calibrate --checkpoint checkpoints/last.pt --gallery people --data val.csv --target-far 0.01',
  ).requiredOption('--data <csv>', 'validation images: identities enrolled and not enrolled');
  calibrateConfig.addTo(calibrate).action(async (opts: WithData) =>
    withGallery(opts, [calibrateConfig], async (g, interrupt) => {
      const report = await g.calibrate({ csv: opts.data }, { ...calibrateConfig.pick(opts), signal: interrupt.signal });
      await g.save(opts.gallery);
      printRecord({ json: opts.json === true }, { ...report, maxF1: report.maxF1?.threshold ?? null });
    }),
  );

  const identify = subcommand(
    gallery,
    'identify',
    'the top matches and the verdict (a label, or unknown) of each query image',
    'identify --checkpoint checkpoints/last.pt --gallery people --images new/ --k 3',
  )
    .option('--images <dir>', 'a folder of query images (sub-folders included)')
    .option('--data <csv>', 'a data set of query images, instead of --images');
  identifyConfig.addTo(identify).action(async (opts: IdentifyOptions) => {
    identifyConfig.checked(opts);
    const { images, data } = opts;
    const queries = images !== undefined ? listImages(images) : data !== undefined ? { csv: data } : undefined;
    if (queries === undefined || (images !== undefined && data !== undefined)) {
      throw new UsageError('give the queries: --images DIR or --data queries.csv');
    }
    const paths = Array.isArray(queries) ? queries : undefined;
    await withGallery(opts, [], async (g, interrupt, progress) => {
      const result = await g.identify(queries, {
        ...identifyConfig.pick(opts),
        signal: interrupt.signal,
        onProgress: (e) => {
          progress.update({ phase: 'identifying', done: e.done, total: e.total, unit: 'queries/s' });
        },
      });
      progress.stop();
      printAnswers(opts.json === true, result, paths);
    });
  });
}

function imagesProgress(progress: Progress) {
  return (e: { done: number; total: number }): void => {
    progress.update({ phase: 'embedding', done: e.done, total: e.total });
  };
}

function describe(g: Gallery, dir: string) {
  return {
    gallery: resolve(dir),
    references: g.size,
    labels: g.labelCount,
    backend: g.backend,
    metric: g.metric,
    threshold: g.threshold,
  };
}

/** Check the options against the SDK's schemas (before anything starts), start, load the model, work. */
async function withModel(
  opts: GalleryOptions,
  checks: SchemaOptions[],
  work: (rt: Recognite, model: Recognizer, interrupt: Interrupt, progress: Progress) => Promise<void>,
): Promise<void> {
  for (const options of checks) options.checked(opts);
  using interrupt = onCtrlC();
  const progress = createProgress({ json: opts.json === true });
  try {
    await using rt = await Recognite.start();
    await using model = await loadModel(rt, opts);
    progress.begin();
    await work(rt, model, interrupt, progress);
  } finally {
    progress.stop();
  }
}

function withGallery(
  opts: GalleryOptions,
  checks: SchemaOptions[],
  work: (g: Gallery, interrupt: Interrupt, progress: Progress) => Promise<void>,
): Promise<void> {
  return withModel(opts, checks, async (rt, model, interrupt, progress) => {
    await using g = await rt.loadGallery(opts.gallery, { model });
    await work(g, interrupt, progress);
  });
}

/** One line per query: its verdict and its matches. */
function printAnswers(asJson: boolean, result: IdentifyResult, paths: string[] | undefined): void {
  const { answers, threshold } = result;
  const rows = answers.map((a, i) => [
    paths?.[i] ?? String(i),
    a.label === null ? 'unknown' : String(a.label),
    a.score.toFixed(3),
    a.matches.map((m) => `${String(m.label)} ${m.score.toFixed(3)}`).join(', '),
  ]);
  printTable(
    { json: asJson },
    { answers, threshold },
    ['query', 'verdict', 'score', 'top matches (label score)'],
    rows,
  );
  if (!asJson)
    console.log(
      threshold === null
        ? 'no threshold: every query gets its best label (calibrate to answer unknown)'
        : `unknown below ${threshold.toFixed(3)}`,
    );
}
