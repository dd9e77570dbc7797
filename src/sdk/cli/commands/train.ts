/**
 * `recognite train`: split a data set by identity (as recognite does) unless given the parts, build
 * the model, and fit it with a checkpoint after every epoch and validation on unseen identities.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { AbortError } from '../../core/errors.js';
import { Recognite } from '../../core/recognite.js';
import type { DatasetRef } from '../../data/dataset-ref.js';
import { modelInfo, type ModelName } from '../../model/catalog.js';
import { resolveRecognizerConfig, type RecognizerConfig } from '../../model/config.js';
import { resolveFitConfig } from '../../training/config.js';
import type { EpochRecord, FitEvent } from '../../training/results.js';
import { onCtrlC } from '../interrupt.js';
import { forSdk, integer, json, SchemaOptions, UsageError } from '../options.js';
import { printRecord } from '../output.js';
import { createProgress } from '../progress.js';

const fitOptions = new SchemaOptions(
  'FitConfig',
  [
    'epochs',
    'batchSize',
    'lr',
    'momentum',
    'weightDecay',
    'size',
    'hflip',
    'logitScale',
    'margin',
    'seed',
    'numWorkers',
    'precision',
    'checkpointDir',
    'resumeFrom',
  ],
  { epochs: '--epochs <n>', resumeFrom: '--resume <checkpoint>', checkpointDir: '--checkpoint-dir <dir>' },
);
const modelOptions = new SchemaOptions('RecognizerConfig', ['weights', 'weightsPath']);
const DEFAULT_CHECKPOINT_DIR = 'checkpoints';

interface TrainOptions {
  model: string;
  data?: string;
  train?: string;
  gallery?: string;
  query?: string;
  folds?: number;
  valFold?: number;
  splitSeed?: number;
  numRefs?: number;
  refSeed?: number;
  checkpointDir?: string;
  json?: boolean;
  [option: string]: unknown;
}

/** One line per epoch: what a person reads in a log. */
export function epochLine(e: EpochRecord & { epochs: number }): string {
  const metric = (name: string, v: number | undefined): string => (v === undefined ? '' : `, ${name} ${v.toFixed(3)}`);
  return `epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(4)}${metric('top-1', e.top1)}${metric('top-5', e.top5)}${metric('mAP', e.mAP)} (${e.seconds.toFixed(1)} s)`;
}

export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description(
      'train a recognition model: split by identity, fit with validation on unseen identities, checkpoint every epoch',
    )
    .addOption(
      forSdk(
        new Option('--model <name>', 'the torchvision backbone (recognite models lists them)'),
        'modelName',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option('--data <csv>', 'the data set: split by identity into train, gallery and query').conflicts('train'),
    )
    .option('--train <csv>', 'the training set, already split (instead of --data)')
    .option('--gallery <csv>', 'with --train: validation gallery (identities unseen in training)')
    .option('--query <csv>', 'with --train: validation queries')
    .option('--folds <n>', 'with --data: label-disjoint folds (default 5)', integer)
    .option('--val-fold <n>', 'with --data: the fold held out for validation (default 0)', integer)
    .option('--split-seed <n>', 'with --data: seed of the split (default 0)', integer)
    .option('--num-refs <n>', 'with --data: gallery images per validation identity (default 1)', integer)
    .option('--ref-seed <n>', 'with --data: seed of the gallery/query split (default 0)', integer)
    .option('--processes <n>', 'train on n processes with torch.distributed (torchrun, DDP)', integer)
    .addOption(new Option('--backend <name>', 'with --processes: the collective backend').choices(['nccl', 'gloo']))
    .option('--nodes <n>', 'with --processes: machines taking part (default 1)', integer)
    .option('--node-rank <n>', "with --nodes: this machine's rank, 0 … nodes - 1", integer)
    .option('--rendezvous <host:port>', 'with --nodes: the c10d rendezvous endpoint, the same on every node');
  fitOptions.addTo(command);
  modelOptions.addTo(command);
  command
    .addOption(json())
    .addHelpText(
      'after',
      `\nThe checkpoint folder defaults to ./${DEFAULT_CHECKPOINT_DIR}; --seed also seeds the model's initial weights.` +
        '\n\nExamples:\n  $ recognite train --data data/dataset.csv --model resnet18 --epochs 10' +
        '\n  $ recognite train --train parts/train.csv --gallery parts/gallery.csv --query parts/query.csv --model resnet50 --weights DEFAULT --epochs 5 --lr 0.01' +
        '\n  $ recognite train --data data/dataset.csv --model resnet18 --epochs 20 --resume checkpoints/last.pt',
    )
    .action(async (opts: TrainOptions) => train(opts));
}

async function train(opts: TrainOptions): Promise<void> {
  if (opts.data === undefined && opts.train === undefined) {
    throw new UsageError('give the data: --data data.csv (split by identity here) or --train train.csv');
  }
  if ((opts.gallery === undefined) !== (opts.query === undefined)) {
    throw new UsageError('--gallery and --query go together (the validation set)');
  }
  const checkpointDir = resolve(opts.checkpointDir ?? DEFAULT_CHECKPOINT_DIR);
  const checkpoint = join(checkpointDir, 'last.pt');
  // the model and fit options are checked before anything starts or is written (the split's CSVs)
  const fit: Record<string, unknown> = fitOptions.pick(opts);
  const distributed = {
    ...(opts.processes !== undefined && { processes: opts.processes as number }),
    ...(opts.backend !== undefined && { backend: opts.backend as 'nccl' | 'gloo' }),
    ...(opts.nodes !== undefined && { nodes: opts.nodes as number }),
    ...(opts.nodeRank !== undefined && { nodeRank: opts.nodeRank as number }),
    ...(opts.rendezvous !== undefined && { rendezvous: opts.rendezvous as string }),
  };
  if (Object.keys(distributed).length) fit.distributed = distributed;
  const modelConfig: RecognizerConfig = {
    modelName: opts.model as ModelName,
    ...modelOptions.pick(opts),
    ...(fit.seed !== undefined && { seed: fit.seed as number }),
  };
  resolveRecognizerConfig(modelConfig);
  resolveFitConfig(
    { ...(fit as { epochs: number }), train: { csv: opts.data ?? opts.train ?? '' } },
    modelInfo(modelConfig.modelName),
    1,
  );
  using interrupt = onCtrlC();
  const progress = createProgress({ json: opts.json === true });
  await using rt = await Recognite.start();
  let parts: { train: DatasetRef; validation?: { gallery: DatasetRef; query: DatasetRef } };
  let labels: number | undefined; // known from the split; a given training CSV is read for it
  if (opts.data !== undefined) {
    const split = await rt.data.trainValDatasets(
      { csv: opts.data },
      {
        outDir: join(checkpointDir, 'split'),
        ...(opts.folds !== undefined && { numFolds: opts.folds }),
        ...(opts.valFold !== undefined && { valFold: opts.valFold }),
        ...(opts.splitSeed !== undefined && { seed: opts.splitSeed }),
        ...(opts.numRefs !== undefined && { numRefs: opts.numRefs }),
        ...(opts.refSeed !== undefined && { refSeed: opts.refSeed }),
      },
    );
    for (const warning of split.warnings) progress.log(`warning: ${warning}`);
    parts = { train: split.train, validation: { gallery: split.gallery, query: split.query } };
    labels = split.train.labels;
  } else {
    const { train = '', gallery, query } = opts;
    parts = {
      train: { csv: train },
      ...(gallery !== undefined &&
        query !== undefined && { validation: { gallery: { csv: gallery }, query: { csv: query } } }),
    };
  }
  labels ??= (await rt.data.describe(parts.train)).labels;
  await using model = await rt.createRecognizer({ ...modelConfig, numClasses: labels });
  progress.begin();
  try {
    const result = await model.fit({
      ...(fit as { epochs: number }),
      ...parts,
      checkpointDir,
      signal: interrupt.signal,
      onProgress: (e: FitEvent) => {
        if (e.type === 'batch') {
          progress.update({
            phase: `epoch ${e.epoch}/${e.epochs}`,
            done: e.step,
            total: e.steps,
            detail: `loss ${e.loss.toFixed(4)}`,
            rate: e.samplesPerSec,
            etaSeconds: e.etaSeconds,
          });
        } else progress.log(epochLine(e));
      },
    });
    progress.stop();
    const last = result.history.at(-1);
    const summary = {
      checkpoint,
      epochs: result.history.length,
      classes: result.classes.length,
      loss: last?.loss,
      ...(last?.top1 !== undefined && { top1: last.top1, top5: last.top5, mAP: last.mAP }),
      seconds: result.seconds,
    };
    if (opts.json)
      console.log(
        JSON.stringify({ checkpoint, history: result.history, classes: result.classes, config: result.config }),
      );
    else printRecord({ json: false }, summary);
  } catch (err) {
    progress.stop();
    if (err instanceof AbortError && existsSync(checkpoint)) {
      console.error(
        `interrupted: the last epoch's checkpoint is kept: ${checkpoint} (continue with --resume ${checkpoint})`,
      );
    }
    throw err;
  }
}
