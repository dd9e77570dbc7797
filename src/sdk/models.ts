/**
 * The supported backbones and what TypeScript knows about each without asking Python.
 * `SUPPORTED_MODELS` is recognite's list, in its order; the catalog
 * (model-catalog.json) is generated from the real torchvision by
 * `npm run catalog` (py_bridge/gen_catalog.py), and a test fails when it drifts.
 */
import catalog from './model-catalog.json' with { type: 'json' };
import { ValidationError } from './errors.js';
import { didYouMean } from './suggest.js';

/** Every torchvision backbone a Recognizer can be built on (recognite's SUPPORTED_MODELS; SqueezeNet excluded). */
export const SUPPORTED_MODELS = [
  'alexnet',
  'convnext_base',
  'convnext_large',
  'convnext_small',
  'convnext_tiny',
  'densenet121',
  'densenet161',
  'densenet169',
  'densenet201',
  'efficientnet_b0',
  'efficientnet_b1',
  'efficientnet_b2',
  'efficientnet_b3',
  'efficientnet_b4',
  'efficientnet_b5',
  'efficientnet_b6',
  'efficientnet_b7',
  'efficientnet_v2_l',
  'efficientnet_v2_m',
  'efficientnet_v2_s',
  'googlenet',
  'inception_v3',
  'maxvit_t',
  'mnasnet0_5',
  'mnasnet0_75',
  'mnasnet1_0',
  'mnasnet1_3',
  'mobilenet_v2',
  'mobilenet_v3_large',
  'mobilenet_v3_small',
  'regnet_x_16gf',
  'regnet_x_1_6gf',
  'regnet_x_32gf',
  'regnet_x_3_2gf',
  'regnet_x_400mf',
  'regnet_x_800mf',
  'regnet_x_8gf',
  'regnet_y_128gf',
  'regnet_y_16gf',
  'regnet_y_1_6gf',
  'regnet_y_32gf',
  'regnet_y_3_2gf',
  'regnet_y_400mf',
  'regnet_y_800mf',
  'regnet_y_8gf',
  'resnet101',
  'resnet152',
  'resnet18',
  'resnet34',
  'resnet50',
  'resnext101_32x8d',
  'resnext101_64x4d',
  'resnext50_32x4d',
  'shufflenet_v2_x0_5',
  'shufflenet_v2_x1_0',
  'shufflenet_v2_x1_5',
  'shufflenet_v2_x2_0',
  'swin_b',
  'swin_s',
  'swin_t',
  'swin_v2_b',
  'swin_v2_s',
  'swin_v2_t',
  'vgg11',
  'vgg11_bn',
  'vgg13',
  'vgg13_bn',
  'vgg16',
  'vgg16_bn',
  'vgg19',
  'vgg19_bn',
  'vit_b_16',
  'vit_b_32',
  'vit_h_14',
  'vit_l_16',
  'vit_l_32',
  'wide_resnet101_2',
  'wide_resnet50_2',
] as const;

/** Name of a supported torchvision backbone. */
export type ModelName = (typeof SUPPORTED_MODELS)[number];

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
  (catalog as unknown as ModelInfo[]).map((m) => [m.name, { ...m, fixedInputSize: !!m.fixedInputSize }]),
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
      `unknown model ${JSON.stringify(name)}${didYouMean(String(name), SUPPORTED_MODELS)}; see SUPPORTED_MODELS`,
    );
  }
  return info;
}

/** Every catalog entry, in SUPPORTED_MODELS order. */
export function allModelInfo(): ModelInfo[] {
  return SUPPORTED_MODELS.map((n) => modelInfo(n));
}
