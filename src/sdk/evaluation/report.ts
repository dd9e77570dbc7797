/** What evaluate() returns: the EvaluationReport, a typed contract the worker's results are checked against. */
import type { Tensor } from '../core/tensor.js';

/** An acceptance threshold for open-set use, at a target false-accept rate. */
export interface ThresholdAtFar {
  /** The false-accept rate asked for. */
  far: number;
  threshold: number | null;
  /** False-accept rate the threshold gives on this data. */
  measuredFar: number | null;
  /** True-accept rate at that threshold. */
  tar: number | null;
}

/** What evaluate() measured: recognite's metrics and more (null where undefined). */
export interface EvaluationReport {
  metric: string;
  k: number;
  numQueries: number;
  numGallery: number;
  /** Queries whose label has no gallery item. */
  queriesWithoutPositives: number;
  /** Top-1: the best-scoring gallery item has the query's label. */
  accuracy: number;
  /** One of the k best has the query's label. */
  topKAccuracy: number;
  /** Rank-1 … rank-k accuracy. */
  cmc: number[];
  /** k-nearest-neighbour vote (ties to the nearest). */
  knnAccuracy: number;
  /** Mean average precision, a query without positives counting as 0 (recognite's convention). */
  mAP: number;
  /** Mean AP over queries that have a positive (the re-identification convention). */
  mAPWithPositives: number | null;
  /**
   * Mean inverse negative penalty (Ye et al. 2021) over queries that have a positive: per query, its
   * number of positives / the 1-based rank of its last one (1 when no negative outranks a positive);
   * fast-reid's and torchreid's mINP. Null when no query has a positive.
   */
  mINP: number | null;
  apPerLabel: Array<{ label: string | number; ap: number | null }>;
  /** Means over queries of the point of maximum F1 on each query's precision-recall curve. */
  meanMaxF1: { f1: number; precision: number; recall: number; threshold: number };
  /** pytorch-metric-learning's precision@1, R-precision and MAP@R. */
  precisionAt1: number;
  rPrecision: number;
  mapAtR: number;
  meanHardPositiveScore: number | null;
  meanHardNegativeScore: number | null;
  /** Suggested acceptance thresholds, from each query's best positive and best negative score. */
  thresholds: {
    positives: number;
    negatives: number;
    maxF1: { threshold: number; f1: number; precision: number; recall: number } | null;
    falseAcceptTargets: ThresholdAtFar[];
  };
  /** The re-ranking that ran (every parameter), or null. */
  rerank: { k1: number; k2: number; lambda: number } | null;
  /** The query expansion that ran, or null. */
  queryExpansion: { k: number } | null;
  /** With topMatches: the k best gallery rows (int64) and scores of every query, Nq × k. */
  topMatches?: { indices: Tensor<'int64'>; scores: Tensor<'float32'> };
  /** With returnEmbeddings. */
  embeddings?: { gallery: Tensor<'float32'>; query: Tensor<'float32'> };
  /** With perQuery: one entry per query (NaN where undefined). */
  perQuery?: {
    ap: Tensor<'float32'>;
    /** 0-based rank of the first gallery item with the query's label (−1 when there is none). */
    firstHitRank: Tensor<'int64'>;
    /** The label the k-nearest-neighbour vote gives each query (ties to the nearest). */
    knnPrediction: Array<string | number>;
    maxF1: Tensor<'float32'>;
    hardPositiveScore: Tensor<'float32'>;
    hardNegativeScore: Tensor<'float32'>;
    /** Inverse negative penalty: positives / 1-based rank of the last one (NaN without positives). */
    inp: Tensor<'float32'>;
  };
  /**
   * With averageReferences: the label of each averaged reference, in the order of the columns of
   * `scores` and of the rows `topMatches.indices` point to.
   */
  referenceLabels?: Array<string | number>;
  /** With returnScores: Nq × Ng (Ng: gallery rows, or averaged references). */
  scores?: Tensor<'float32'>;
  /** With curves: each query's precision-recall curve. */
  curves?: Array<{ precision: number[]; recall: number[]; thresholds: number[] }>;
}
