/**
 * `recognite-ts/deploy`: run an exported model and search a saved gallery in Node alone. Nothing
 * here starts the worker or loads Python (pythonia): import this entry, not the main one, in
 * services that only recognise.
 */
export { OnnxRecognizer, type OnnxRecognizerOptions } from './recognizer.js';
export {
  loadGallery,
  NodeGallery,
  type NodeGalleryOptions,
  type NodeIdentifyOptions,
  type NodeQueries,
} from './gallery.js';
export type { Metric } from './gallery-folder.js';
export type { OnnxPreprocess, OnnxSidecar } from './sidecar.js';
export { MissingDependencyError } from './optional-deps.js';
export { Tensor, type DType, type TensorData } from '../core/tensor.js';
export { ClosedError, RecogniteError, ValidationError, type Problem } from '../core/errors.js';
export { loadNpy, saveNpy } from '../evaluation/npy.js';
export type { IdentifyResult, Label, Match, QueryAnswer, VerifyResult } from '../gallery/results.js';
