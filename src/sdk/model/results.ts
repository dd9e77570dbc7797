/** What the worker's model calls return (checked against their generated schemas in the test suite). */
import type { EpochRecord } from '../training/results.js';
import type { Tensor } from '../core/tensor.js';

/** A model as the worker describes it after create and mode switches. */
export interface RecognizerDescription {
  id: number;
  embeddingDim: number;
  numClasses: number | null;
  training: boolean;
}

/** Logits or embeddings of a forward pass. */
export interface ForwardResult {
  output: Tensor<'float32'>;
}

/** The classifier's weight and bias, or nulls without a classifier. */
export interface ClassifierResult {
  weight: Tensor<'float32'> | null;
  bias: Tensor<'float32'> | null;
}

/** Embeddings of image files, with the data set's labels when the input was a data set (else null). */
export interface EmbedResult {
  embeddings: Tensor<'float32'>;
  labels: Array<string | number> | null;
}

/** What a checkpoint file holds (the worker reads it with torch.load(weights_only=True)). */
export interface CheckpointDescription {
  /** 'fit': a checkpoint fit() wrote (model, optimizer, epoch, config); 'stateDict': a plain state dict. */
  kind: 'fit' | 'stateDict';
  /** The backbone; null for a plain state dict, which does not record it. */
  modelName: string | null;
  /** Rows of the classifier (null without one). */
  numClasses: number | null;
  clfBias: boolean;
  /** null for a plain state dict. */
  normalize: boolean | null;
  /** Epochs completed (fit checkpoints). */
  epoch: number | null;
  /** The training labels, in the order of the classifier's rows (fit checkpoints). */
  classes: Array<string | number> | null;
  history: EpochRecord[];
}
