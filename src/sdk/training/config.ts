/**
 * How to train: FitConfig as users write it, and its resolution (every default filled in, paths
 * made absolute, the model-dependent size taken from the catalog) before it reaches the worker.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { ValidationError, type Problem } from '../core/errors.js';
import type { JobOptions } from '../core/jobs.js';
import { resolveOptions } from '../core/validate.js';
import { toDatasetRef, type DatasetRef } from '../data/dataset-ref.js';
import type { ModelInfo } from '../model/catalog.js';
import { resolveLoading, type Precision } from '../model/embedding.js';
import type { FitEvent } from './results.js';

/**
 * Training on several processes (DDP through torchrun, launched by the worker): each process
 * trains on its own shard of every epoch with batchSize images a step, so a step's global batch
 * is processes × nodes × batchSize images; the learning rate is not rescaled (docs/TRAINING.md,
 * "Past one machine").
 */
export interface DistributedConfig {
  /**
   * Processes on this machine (torchrun's --nproc-per-node). When omitted: one per GPU on a GPU
   * worker, 1 on the CPU (the worker decides). At most the GPUs (or, on the CPU, the cores).
   * @minimum 1
   * @maximum 1024
   * @TJS-type integer
   */
  processes?: number;
  /** The collective backend. When omitted: 'nccl' on GPUs, 'gloo' on the CPU; 'nccl' needs GPUs. */
  backend?: 'nccl' | 'gloo';
  /**
   * Convert BatchNorm layers to SyncBatchNorm: statistics over the global batch instead of each
   * process's own (slower; useful when batchSize per process is small).
   * @default false
   */
  syncBatchNorm?: boolean;
  /**
   * Machines taking part (torchrun's --nnodes); more than 1 needs rendezvous, and the same command
   * on every machine, each with its own nodeRank.
   * @default 1
   * @minimum 1
   * @maximum 1024
   * @TJS-type integer
   */
  nodes?: number;
  /**
   * This machine's rank among the nodes, 0 … nodes - 1 (torchrun's --node-rank); node 0 writes the
   * checkpoints and reports validation metrics.
   * @default 0
   * @minimum 0
   * @maximum 1023
   * @TJS-type integer
   */
  nodeRank?: number;
  /**
   * 'host:port' of the c10d rendezvous (torchrun's --rdzv-endpoint), the same on every node: a port
   * of node 0 the others can reach. When omitted on a single node: a free local port (--standalone).
   * @pattern ^[^\s:]+:[0-9]{1,5}$
   */
  rendezvous?: string;
  /**
   * How long to wait for the other nodes to join (and for the rendezvous to answer) before failing.
   * @default 300
   * @minimum 1
   * @maximum 86400
   * @TJS-type integer
   */
  timeoutSeconds?: number;
  /**
   * torchrun's --max-restarts: how many times the whole group is restarted after a process or node
   * fails; a restart continues from checkpointDir/last.pt when there is one.
   * @default 0
   * @minimum 0
   * @maximum 100
   * @TJS-type integer
   */
  maxRestarts?: number;
  /**
   * Folder for each process's output (rank<r>.log), the rows it trained on per epoch
   * (samples-rank<r>.jsonl) and torchrun's output (torchrun.log). When omitted: a temporary folder,
   * removed after the run.
   */
  logDir?: string;
}

/** A DistributedConfig with its defaults filled in; null: decided by the worker from its device. */
export interface ResolvedDistributedConfig extends Required<
  Omit<DistributedConfig, 'processes' | 'backend' | 'rendezvous' | 'logDir'>
> {
  processes: number | null;
  backend: 'nccl' | 'gloo' | null;
  rendezvous: string | null;
  logDir: string | null;
}

/** How to train: the plain, validated part of FitOptions. */
export interface FitConfig {
  /** The training set; its number of labels must equal the model's numClasses. */
  train: DatasetRef;
  /** A gallery and a query set of labels unseen in training: top-1 accuracy is measured after each epoch. */
  validation?: { gallery: DatasetRef; query: DatasetRef };
  /**
   * Passes over the training set.
   * @minimum 1
   * @maximum 100000
   * @TJS-type integer
   */
  epochs: number;
  /**
   * Images per training step (at least 2: BatchNorm needs two images to normalise over).
   * @default 32
   * @minimum 2
   * @maximum 65536
   * @TJS-type integer
   */
  batchSize?: number;
  /**
   * SGD learning rate.
   * @default 0.01
   * @exclusiveMinimum 0
   * @maximum 100
   */
  lr?: number;
  /**
   * SGD momentum.
   * @default 0.9
   * @minimum 0
   * @maximum 1
   */
  momentum?: number;
  /**
   * SGD weight decay (L2 penalty).
   * @default 0.0005
   * @minimum 0
   * @maximum 1
   */
  weightDecay?: number;
  /**
   * Side of the square training crops (shortest side resized to it, then a random crop).
   * When omitted: the model's defaultInputSize (modelInfo(name).defaultInputSize).
   * @minimum 1
   * @maximum 4096
   * @TJS-type integer
   */
  size?: number;
  /**
   * Random horizontal flips during training. Off by default: a flip turns some identities into
   * others (characters, text, asymmetric marks); turn it on for mirror-symmetric ones such as
   * people or vehicles (docs/BENCHMARKS.md, "Training defaults on two data sets").
   * @default false
   */
  hflip?: boolean;
  /**
   * Multiplies the cosine logits before the softmax (NormFace). With margin 0, 1 reproduces
   * recognite's objective exactly, whose unscaled logits barely train; 16 is the measured default
   * (docs/BENCHMARKS.md).
   * @default 16
   * @exclusiveMinimum 0
   * @maximum 1000
   */
  logitScale?: number;
  /**
   * Additive cosine margin on the target class (CosFace); 0 turns it off. Off by default: with
   * flips off it gained nothing on either measured data set (docs/BENCHMARKS.md).
   * @default 0
   * @minimum 0
   * @maximum 2
   */
  margin?: number;
  /**
   * Data order, augmentation (in every loader process) and dropout derive from it: the same seed
   * gives the same run on the same machine and device (on the CPU, with any numWorkers).
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  seed?: number;
  /**
   * Image-loading processes. When omitted: one per spare core, at most 4 (defaultNumWorkers()).
   * @minimum 0
   * @maximum 64
   * @TJS-type integer
   */
  numWorkers?: number;
  /**
   * Arithmetic of training (and validation) passes: 'bf16' and 'fp16' run the forward passes under
   * torch.autocast, with the weights and optimizer kept in float32; 'fp16' also scales the loss
   * (torch.amp.GradScaler) so small gradients survive. A loss that turns NaN or infinite stops fit.
   * @default "fp32"
   */
  precision?: Precision;
  /** Folder for an atomic checkpoint (last.pt) after every epoch. */
  checkpointDir?: string;
  /** A checkpoint (last.pt) to continue from. */
  resumeFrom?: string;
  /**
   * Train on several processes (and machines) with torch.distributed; omitted: in the worker's own
   * process. Checkpoints, progress events and the result are those of a single-process fit.
   */
  distributed?: DistributedConfig;
}

/** Training options: a FitConfig plus progress and cancellation. */
export interface FitOptions extends FitConfig, JobOptions<FitEvent> {}

/** A FitConfig with every default filled in: what the worker receives, and what FitResult.config reports. */
export interface ResolvedFitConfig extends Required<
  Omit<FitConfig, 'validation' | 'checkpointDir' | 'resumeFrom' | 'distributed'>
> {
  train: Required<DatasetRef>;
  distributed: ResolvedDistributedConfig | null;
  validation: { gallery: Required<DatasetRef>; query: Required<DatasetRef> } | null;
  checkpointDir: string | null;
  resumeFrom: string | null;
}

/**
 * Check a FitConfig (schema, then what needs the model: a classifier, the input size, the files)
 * and fill in every default.
 * @throws ValidationError listing every problem
 */
export function resolveFitConfig(config: FitConfig, info: ModelInfo, numClasses: number | null): ResolvedFitConfig {
  const given = config as Partial<FitConfig>; // JavaScript callers can leave out anything
  const picked = {
    ...config,
    train: given.train && toDatasetRef(given.train, 'train'),
    validation: given.validation && {
      gallery: toDatasetRef(given.validation.gallery, 'validation.gallery'),
      query: toDatasetRef(given.validation.query, 'validation.query'),
    },
  } as FitConfig;
  if (picked.validation === undefined) delete picked.validation;
  const filled = resolveLoading(resolveOptions('FitConfig', picked, 'FitOptions'), info, 'FitOptions');
  const problems: Problem[] = [];
  if (numClasses === null) {
    problems.push({
      path: 'numClasses',
      message: 'this model has no classifier: create it with numClasses to train it',
    });
  }
  if (filled.resumeFrom !== undefined && !existsSync(filled.resumeFrom)) {
    problems.push({ path: 'resumeFrom', message: `checkpoint not found: ${resolve(filled.resumeFrom)}` });
  }
  const dist = filled.distributed;
  if (dist !== undefined) problems.push(...distributedProblems(dist));
  if (problems.length) throw new ValidationError('FitOptions', problems);
  return {
    ...(filled as Required<FitConfig>),
    train: picked.train as Required<DatasetRef>,
    validation: (picked.validation as ResolvedFitConfig['validation'] | undefined) ?? null,
    checkpointDir: filled.checkpointDir === undefined ? null : resolve(filled.checkpointDir),
    resumeFrom: filled.resumeFrom === undefined ? null : resolve(filled.resumeFrom),
    distributed: dist === undefined ? null : resolveDistributed(dist),
  };
}

/** What the schema cannot say about a DistributedConfig. */
function distributedProblems(dist: DistributedConfig): Problem[] {
  const problems: Problem[] = [];
  const nodes = dist.nodes ?? 1;
  const nodeRank = dist.nodeRank ?? 0;
  if (nodeRank >= nodes) {
    problems.push({ path: 'distributed.nodeRank', message: `must be below nodes (${nodes}), got ${nodeRank}` });
  }
  if (nodes > 1 && dist.rendezvous === undefined) {
    problems.push({
      path: 'distributed.rendezvous',
      message: "several nodes need a rendezvous 'host:port' that every node can reach",
    });
  }
  if (dist.rendezvous !== undefined) {
    const port = Number(dist.rendezvous.slice(dist.rendezvous.lastIndexOf(':') + 1));
    if (port < 1 || port > 65535) {
      problems.push({ path: 'distributed.rendezvous', message: `the port must be 1 to 65535, got ${port}` });
    }
  }
  // a CPU worker cannot use more processes than cores; GPUs are counted by the worker
  const cores = availableParallelism();
  if (dist.processes !== undefined && dist.processes > cores && dist.backend !== 'nccl') {
    problems.push({
      path: 'distributed.processes',
      message: `more processes (${dist.processes}) than this machine's ${cores} cores`,
    });
  }
  return problems;
}

function resolveDistributed(dist: DistributedConfig): ResolvedDistributedConfig {
  return {
    ...(dist as Required<DistributedConfig>),
    processes: dist.processes ?? null,
    backend: dist.backend ?? null,
    rendezvous: dist.rendezvous ?? null,
    logDir: dist.logDir === undefined ? null : resolve(dist.logDir),
  };
}
