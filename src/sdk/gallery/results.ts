/** What galleries answer: the worker's results (checked against their generated schemas in the test suite) and the public shapes. */
import type { Tensor } from '../core/tensor.js';

/** An identity's label, as the data set or the caller gave it. */
export type Label = string | number;

/** The model a gallery was made with. */
export interface GalleryModel {
  modelName: string;
  embeddingDim: number;
  /** A hash of the backbone's weights, set when the gallery is saved. */
  fingerprint?: string | null;
}

/** The threshold calibrate() chose and the open-set figures at it, on the validation queries. */
export interface CalibrationReport {
  threshold: number;
  strategy: 'far' | 'maxF1';
  targetFar: number;
  /** Share of impostor attempts accepted: queries whose best other-identity score clears the threshold. */
  far: number | null;
  /** True-accept rate: share of enrolled-identity queries whose best same-identity score clears it. */
  tar: number | null;
  /** Share of enrolled-identity queries identified correctly and accepted (the detection-and-identification rate). */
  identificationRate: number | null;
  /** Share of queries of identities not enrolled that are answered unknown. */
  unknownRejection: number | null;
  /** Share of all queries answered right: the correct label when enrolled, unknown when not. */
  openSetAccuracy: number | null;
  /** Validation queries whose identity is enrolled, and those whose identity is not. */
  known: number;
  unknown: number;
  /** The threshold of maximum F1 (accepting true matches over impostors), or null without enrolled identities. */
  maxF1: { threshold: number; f1: number; precision: number; recall: number } | null;
}

/** A gallery as the worker describes it. */
export interface GalleryDescription {
  id: number;
  /** References (rows) held. */
  size: number;
  labelCount: number;
  dim: number;
  metric: string;
  backend: string;
  index: string;
  /** Whether the index can be searched (false for an IVF or PQ index until train()). */
  trained: boolean;
  threshold: number | null;
  calibration: CalibrationReport | null;
  model: GalleryModel | null;
}

export interface GalleryRemoved extends GalleryDescription {
  removed: number;
}

export interface GalleryTrained extends GalleryDescription {
  /** References the index was trained on. */
  trainedOn: number;
}

export interface GalleryLabels {
  labels: Label[];
}

export interface VerifyScores {
  scores: Tensor<'float32'>;
}

/** identify() as the worker answers it: tensors through shared memory, labels once each. */
export interface IdentifyRaw {
  /** Queries × k scores, best first (NaN where the index found fewer than k). */
  scores: Tensor<'float32'>;
  /** Queries × k gallery rows (-1: none, or a label's averaged reference). */
  rows: Tensor<'int32'>;
  /** Queries × k indexes into `labels` (-1: none). */
  labelIndex: Tensor<'int32'>;
  labels: Label[];
  /** Per query: index into `labels` of the verdict, -1 for unknown. */
  verdict: Tensor<'int32'>;
  /** Per query: the verdict label's best score (or the best score when unknown). */
  verdictScore: Tensor<'float32'>;
  threshold: number | null;
}

/** How well an index finds what exact search finds. */
export interface RecallReport {
  /** Share of the exact k best found by the index, over the sampled queries. */
  recall: number;
  k: number;
  sample: number;
  exactMs: number;
  indexMs: number;
}

/** One match of a query. */
export interface Match {
  label: Label;
  score: number;
  /** The gallery row matched; -1 when matching a label's averaged reference. */
  row: number;
}

/** One query's answer. */
export interface QueryAnswer {
  /** The verdict: a label, or null for unknown (below the threshold). */
  label: Label | null;
  /** The verdict label's best score (the best score overall when unknown). */
  score: number;
  /** The k best matches, best first. */
  matches: Match[];
}

/** What identify() returns. */
export interface IdentifyResult {
  /** One answer per query, in order. */
  answers: QueryAnswer[];
  /** The threshold that decided unknowns, or null when none applied. */
  threshold: number | null;
  /** The same matches as tensors: queries × k scores and rows. */
  scores: Tensor<'float32'>;
  rows: Tensor<'int32'>;
}

/** What verify() returns: per pair, whether it is the same identity, and its score. */
export interface VerifyResult {
  same: boolean[];
  scores: number[];
  threshold: number;
}
