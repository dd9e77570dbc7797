/**
 * recognite-ts: the only public entry point. Everything else under src/sdk is internal.
 * Each line below points at the feature folder that holds the behaviour:
 * core/ (worker session, transport, shared memory, tensors, errors, validation, jobs),
 * model/ (recognizer, config, catalog, embedding), data/ (CSV data sets, splits, synthetic),
 * training/ (fit), evaluation/ (evaluate, report, .npy files), gallery/ (enrol, identify, verify, calibrate, FAISS).
 */
export { Recognite, DEFAULT_CALL_TIMEOUT_MS } from './core/recognite.js';
export type { Device, StartOptions, WorkerInfo } from './core/recognite.js';
export { Tensor, DTYPES } from './core/tensor.js';
export { TensorView } from './core/tensor-view.js';
export type { DType, DataTypeMap, TensorData } from './core/tensor.js';
export {
  RecogniteError,
  ValidationError,
  PythonEnvironmentError,
  SharedMemoryError,
  WorkerError,
  WorkerCrashedError,
  WorkerTimeoutError,
  ClosedError,
  AbortError,
  BusyError,
  AlreadyStartedError,
  TransportError,
} from './core/errors.js';
export type { Problem, ErrorCode } from './core/errors.js';
export type { JobOptions } from './core/jobs.js';

export { Recognizer } from './model/recognizer.js';
export type { LoadRecognizerOptions } from './model/recognizer.js';
export type { CheckpointDescription } from './model/results.js';
export type { RecognizerConfig, ResolvedRecognizerConfig } from './model/config.js';
export { SUPPORTED_MODELS, isSupportedModel, modelInfo, allModelInfo } from './model/catalog.js';
export type { ModelName, ModelInfo } from './model/catalog.js';
export { defaultNumWorkers } from './model/embedding.js';
export type {
  EmbedConfig,
  EmbedOptions,
  EmbedProgress,
  EmbeddingSet,
  Precision,
  ResolvedEmbedConfig,
} from './model/embedding.js';

export { DataApi } from './data/data-api.js';
export type { DatasetRef } from './data/dataset-ref.js';
export type { SplitPart } from './data/dataset-ref.js';
export type { SyntheticOptions, SyntheticDataset, SplitOptions, SyntheticProgress } from './data/options.js';
export type { FolderOptions, FolderDataset } from './data/options.js';

export type { FitConfig, FitOptions, ResolvedFitConfig } from './training/config.js';
export type { FitEvent, FitBatchEvent, FitEpochEvent, EpochRecord, FitResult } from './training/results.js';

export type {
  EvaluateConfig,
  EvaluateOptions,
  EvaluateProgress,
  QueryExpansionConfig,
  RerankConfig,
  ResolvedEvaluateConfig,
} from './evaluation/config.js';
export type {
  EvaluationReport,
  EvaluationReportWithHtml,
  RetrievalEntry,
  RetrievalMatch,
  SaveHtmlOptions,
  ThresholdAtFar,
} from './evaluation/report.js';
export { saveNpy, loadNpy } from './evaluation/npy.js';

export { Gallery } from './gallery/gallery.js';
export type {
  CreateGalleryOptions,
  LoadGalleryOptions,
  GalleryConfig,
  GalleryMetric,
  IdentifyConfig,
  IdentifyOptions,
  CalibrateConfig,
  CalibrateOptions,
  TrainIndexConfig,
  MeasureRecallConfig,
  GalleryProgress,
} from './gallery/config.js';
export type { GalleryInput, QueryInput } from './gallery/inputs.js';
export type {
  CalibrationReport,
  GalleryModel,
  IdentifyResult,
  Label,
  Match,
  QueryAnswer,
  RecallReport,
  VerifyResult,
} from './gallery/results.js';

export type {
  ExportOnnxConfig,
  ExportOnnxOptions,
  OnnxExportProgress,
  OnnxExportResult,
  ResolvedExportOnnxConfig,
} from './deploy/config.js';
export type { OnnxSidecar, OnnxPreprocess } from './deploy/sidecar.js';
