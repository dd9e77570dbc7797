/**
 * Every TypeScript type that has a generated JSON Schema (schema/<name>.json), and the module that
 * declares it: the options the SDK validates (and fills defaults from) before a call leaves
 * TypeScript, and the results the worker sends back (checked in the test suite).
 * scripts/gen-schema.ts writes the files; a test keeps them fresh.
 */
export const OPTION_SCHEMAS = {
  StartOptions: 'src/sdk/core/start-options.ts',
  RecognizerConfig: 'src/sdk/model/config.ts',
  EmbedConfig: 'src/sdk/model/embedding.ts',
  FitConfig: 'src/sdk/training/config.ts',
  EvaluateConfig: 'src/sdk/evaluation/config.ts',
  DatasetRef: 'src/sdk/data/dataset-ref.ts',
  SyntheticOptions: 'src/sdk/data/options.ts',
  SplitOptions: 'src/sdk/data/options.ts',
  FolderOptions: 'src/sdk/data/options.ts',
  GalleryConfig: 'src/sdk/gallery/config.ts',
  IdentifyConfig: 'src/sdk/gallery/config.ts',
  CalibrateConfig: 'src/sdk/gallery/config.ts',
  TrainIndexConfig: 'src/sdk/gallery/config.ts',
  MeasureRecallConfig: 'src/sdk/gallery/config.ts',
  ExportOnnxConfig: 'src/sdk/deploy/config.ts',
} as const;

export const RESULT_SCHEMAS = {
  WorkerInfo: 'src/sdk/core/start-options.ts',
  EmptyResult: 'src/sdk/core/worker-results.ts',
  EchoResult: 'src/sdk/core/worker-results.ts',
  JobStarted: 'src/sdk/core/worker-results.ts',
  JobPoll: 'src/sdk/core/worker-results.ts',
  RecognizerDescription: 'src/sdk/model/results.ts',
  ForwardResult: 'src/sdk/model/results.ts',
  ClassifierResult: 'src/sdk/model/results.ts',
  EmbedResult: 'src/sdk/model/results.ts',
  CheckpointDescription: 'src/sdk/model/results.ts',
  EmbedProgress: 'src/sdk/model/embedding.ts',
  FitEvent: 'src/sdk/training/results.ts',
  FitOutcome: 'src/sdk/training/results.ts',
  EvaluateProgress: 'src/sdk/evaluation/config.ts',
  EvaluationReport: 'src/sdk/evaluation/report.ts',
  ThumbnailResult: 'src/sdk/report/thumbnails.ts',
  SplitResult: 'src/sdk/data/options.ts',
  DatasetCounts: 'src/sdk/data/options.ts',
  SyntheticProgress: 'src/sdk/data/options.ts',
  SyntheticResult: 'src/sdk/data/options.ts',
  GalleryDescription: 'src/sdk/gallery/results.ts',
  GalleryRemoved: 'src/sdk/gallery/results.ts',
  GalleryTrained: 'src/sdk/gallery/results.ts',
  GalleryLabels: 'src/sdk/gallery/results.ts',
  VerifyScores: 'src/sdk/gallery/results.ts',
  IdentifyRaw: 'src/sdk/gallery/results.ts',
  CalibrationReport: 'src/sdk/gallery/results.ts',
  RecallReport: 'src/sdk/gallery/results.ts',
  GalleryProgress: 'src/sdk/gallery/config.ts',
  OnnxExportProgress: 'src/sdk/deploy/config.ts',
  OnnxExportResult: 'src/sdk/deploy/config.ts',
} as const;

export type SchemaName = keyof typeof OPTION_SCHEMAS;
export type ResultSchemaName = keyof typeof RESULT_SCHEMAS;
