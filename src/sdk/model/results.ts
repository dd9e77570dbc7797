/** What the worker's model calls return (checked against their generated schemas in the test suite). */
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
