/**
 * The JSON sidecar `model.exportOnnx(path)` writes beside the ONNX file (`<path>.json`): everything a
 * process without Python needs to feed the model exactly as the worker does, and to check that a
 * gallery was made with the same weights. Written by the worker (py_bridge/deploy/), read by
 * OnnxRecognizer.
 */

/** How images become the model's input: the worker's evaluation transform (py_bridge/data/transforms.py eval_transform). */
export interface OnnxPreprocess {
  /** The shortest side is resized to `size` (bilinear, antialiased), then the centre `size` square is cropped. */
  resize: 'shortest-side';
  crop: 'center';
  interpolation: 'bilinear';
  antialias: boolean;
  /** Pixels are scaled to [0, 1], then normalised per channel (RGB): (x − mean) / std. */
  mean: [number, number, number];
  std: [number, number, number];
}

/** What an exported model is and how to run it. */
export interface OnnxSidecar {
  format: 'recognite-onnx';
  /** Version of this sidecar format. */
  version: 1;
  /** The torchvision backbone. */
  modelName: string;
  /** Size of the embeddings (the output's second axis). */
  embeddingDim: number;
  /** Side of the square input the model was exported for (images are resized and cropped to it). */
  inputSize: number;
  /** The ONNX graph's input: N × 3 × inputSize × inputSize float32, N any size when dynamicBatch. */
  input: { name: string; dynamicBatch: boolean };
  /** The ONNX graph's output: N × embeddingDim float32. */
  output: { name: string };
  /** Whether the exported graph L2-normalises its embeddings (it does when the model does): never apply it twice. */
  normalized: boolean;
  preprocess: OnnxPreprocess;
  opset: number;
  /** The recognite-ts and torch versions that exported it. */
  exportedBy: { recogniteTs: string; torch: string };
  /** Fingerprint of the embedding weights: the same value a gallery made with this model records. */
  weightsFingerprint: string;
  /** SHA-256 of the .onnx file: a sidecar beside another file is refused. */
  onnxSha256: string;
  /** The worker's own check after export: onnxruntime against torch on a probe batch. */
  check: { batch: number; maxAbsDiff: number; minCosine: number };
}
