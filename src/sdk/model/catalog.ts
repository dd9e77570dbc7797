/**
 * The supported backbones and what TypeScript knows about each without asking Python.
 * The catalog (catalog.json) is generated from the real torchvision by `npm run catalog`
 * (py_bridge/model/gen_catalog.py, over recognite's list of models), and `SUPPORTED_MODELS`
 * (model-names.ts) is generated from it; freshness tests fail when either drifts.
 */
import catalog from './catalog.json' with { type: 'json' };
import { ValidationError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import { SUPPORTED_MODELS, type ModelName } from './model-names.js';

export { SUPPORTED_MODELS, type ModelName } from './model-names.js';

/** What the catalog records for each model, measured on the real torchvision. */
export interface ModelInfo {
  name: ModelName;
  /** Size of the embeddings (in_features of the replaced classifier). */
  embeddingDim: number;
  /** Attribute path of the replaced classifier in the torchvision model, e.g. 'fc' or 'classifier.6'. */
  classifierPath: string;
  /** Parameter count of the torchvision model with its 1000-class head. */
  parameters: number;
  /** Smallest square input side a batch can be forwarded at, in training and evaluation mode. */
  minInputSize: number;
  /** Largest square input side it accepts, or null when only memory limits it (MaxViT: 224). */
  maxInputSize: number | null;
  /** True when the model accepts exactly one input size (minInputSize), like ViT. */
  fixedInputSize: boolean;
  /** Input side of the model's default pretrained transforms. */
  defaultInputSize: number;
  /** Pretrained weights torchvision has for it ('ResNet18_Weights.IMAGENET1K_V1', …, and 'DEFAULT'). */
  weights: string[];
}

const SUPPORTED = new Set<string>(SUPPORTED_MODELS);
const INFO = new Map<string, ModelInfo>(
  (catalog as unknown as ModelInfo[]).map((m) => [
    m.name,
    { ...m, fixedInputSize: Boolean(m.fixedInputSize as boolean | undefined) },
  ]),
);

/** Whether `name` is a supported model name (a type guard). */
export function isSupportedModel(name: unknown): name is ModelName {
  return typeof name === 'string' && SUPPORTED.has(name);
}

/**
 * The catalog entry of a model.
 * @throws ValidationError for an unknown name, suggesting the nearest valid ones
 */
export function modelInfo(name: ModelName): ModelInfo {
  const info = INFO.get(name);
  if (!info) {
    throw ValidationError.one(
      'model name',
      'modelName',
      `unknown model ${JSON.stringify(name)}${didYouMean(name, SUPPORTED_MODELS)}; see SUPPORTED_MODELS`,
    );
  }
  return info;
}

/** Every catalog entry, in SUPPORTED_MODELS order. */
export function allModelInfo(): ModelInfo[] {
  return SUPPORTED_MODELS.map((n) => modelInfo(n));
}
