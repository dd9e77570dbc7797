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

/** One query of EvaluationReport.retrieval and its best gallery matches. */
export interface RetrievalEntry {
  kind: 'worst' | 'best';
  /**
   * Row of the query in the query set.
   * @TJS-type integer
   */
  query: number;
  label: string | number;
  /** Its average precision (0 without positives). */
  ap: number | null;
  /** Whether its label has a gallery item. */
  hasPositives: boolean;
  /** Absolute path of its image, or null when the queries were embeddings. */
  image: string | null;
  /** Its best gallery matches, best first (5, or fewer with a smaller gallery). */
  matches: RetrievalMatch[];
}

/** A gallery match in EvaluationReport.retrieval. */
export interface RetrievalMatch {
  /**
   * Gallery row (reference index with averageReferences).
   * @TJS-type integer
   */
  row: number;
  label: string | number;
  score: number | null;
  /** Whether it has the query's label. */
  correct: boolean;
  /** Absolute path of its image, or null for embeddings and averaged references. */
  image: string | null;
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
  /**
   * Scores of all query × gallery pairs (references with averageReferences), of the same label
   * (positive) and of different labels (negative), in at most 50 shared equal bins over the
   * observed range: `edges` has one more entry than each list of counts (empty without scores).
   */
  pairHistogram: { edges: number[]; positive: number[]; negative: number[] };
  /**
   * The precision-recall curve: at recall 0, 0.01, …, 1, the mean over the queries that have a
   * positive of each one's interpolated precision (the best precision at any threshold reaching
   * that recall, as PASCAL VOC and COCO). `precision` entries are null when no query has a positive.
   */
  prCurve: {
    recall: number[];
    precision: Array<number | null>;
    /**
     * Queries averaged.
     * @TJS-type integer
     */
    queries: number;
  };
  /**
   * The worst queries (lowest AP, up to 12, worst first), then the best (up to 4), each with its 5
   * best gallery matches: what the HTML report's retrieval grid shows. Only queries with a positive
   * compete, unless none has one; ties go to the lower query index.
   */
  retrieval: RetrievalEntry[];
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

/** Options of EvaluationReport.saveHtml. */
export interface SaveHtmlOptions {
  /** The page's title (default: "Evaluation of <model name>"). */
  title?: string;
  /** The checkpoint the model came from, shown under "what it describes" (default: the one it was loaded from, if any). */
  checkpoint?: string;
}

/**
 * What evaluate() returns: the report's data, and (not enumerable, so JSON.stringify and the result
 * schema see data only) `saveHtml(path)`, which writes it as one self-contained HTML page
 * (docs/REPORT.md).
 */
export type EvaluationReportWithHtml = EvaluationReport & {
  /**
   * Write the report as one self-contained HTML file (inline SVG charts, data-URI thumbnails, no
   * script, nothing fetched), atomically. Thumbnails are decoded by the worker, so call it before
   * closing the Recognite.
   * @throws ValidationError for a bad path or a missing folder
   */
  saveHtml(path: string, options?: SaveHtmlOptions): Promise<void>;
};
