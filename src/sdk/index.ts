/** recognite-ts: the only public entry point. Everything else under src/sdk is internal. */
export { Recognite, DEFAULT_CALL_TIMEOUT_MS } from './recognite.js';
export type { Device, StartOptions, WorkerInfo } from './recognite.js';
export { Tensor, DTYPES } from './tensor.js';
export type { DType, DataTypeMap, TensorData } from './tensor.js';
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
} from './errors.js';
export type { Problem } from './errors.js';
export { Recognizer } from './recognizer.js';
export type { RecognizerConfig, ResolvedRecognizerConfig } from './recognizer.js';
export { SUPPORTED_MODELS, isSupportedModel, modelInfo, allModelInfo } from './models.js';
export type { ModelName, ModelInfo } from './models.js';
export type { EmbedConfig, EmbedOptions, EmbedProgress } from './recognizer.js';
export type { FitConfig, FitOptions, FitEvent, FitBatchEvent, EpochRecord, FitResult } from './recognizer.js';
export { DataApi } from './data.js';
export type {
  DatasetRef,
  SplitPart,
  SyntheticOptions,
  SyntheticDataset,
  SplitOptions,
  SyntheticProgress,
} from './data.js';
export type { JobOptions } from './jobs.js';
export type {
  EmbeddingSet,
  EvaluateConfig,
  EvaluateOptions,
  EvaluateProgress,
  EvaluationReport,
  ThresholdAtFar,
} from './recognizer.js';
export { saveNpy, loadNpy } from './npy.js';
