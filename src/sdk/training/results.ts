/** What training reports while it runs (progress events) and when it ends (FitResult). */
import type { JobEvent } from '../core/jobs.js';
import type { ResolvedFitConfig } from './config.js';

/** A progress event of one training batch. */
export interface FitBatchEvent extends JobEvent {
  type: 'batch';
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  loss: number;
  samplesPerSec: number;
  etaSeconds: number;
}

/** What one epoch gave: mean loss, duration, and top-1 on the validation set when one was given. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  seconds: number;
  /** Unseen-identity top-1 accuracy of the queries against the gallery. */
  top1?: number;
  top5?: number;
  /** Mean average precision (recognite's convention: a query without positives counts as 0). */
  mAP?: number;
  /** 1 / number of gallery labels: what guessing would score. */
  chanceTop1?: number;
}

/** The event at the end of each epoch. */
export interface FitEpochEvent extends EpochRecord, JobEvent {
  type: 'epoch';
  epochs: number;
}

/** A progress event of fit(). */
export type FitEvent = FitBatchEvent | FitEpochEvent;

/** What the worker's training job returns. */
export interface FitOutcome {
  history: EpochRecord[];
  seconds: number;
  /** The training labels, in the order of the classifier's rows. */
  classes: Array<string | number>;
}

/** What fit returns: the outcome, and the configuration that ran (every default filled in). */
export interface FitResult extends FitOutcome {
  config: ResolvedFitConfig;
}
