/**
 * How a Recognizer is built: the RecognizerConfig users write, checked against the generated
 * schema and the model catalog, and resolved (every default filled in) before it reaches the worker.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError, type Problem } from '../core/errors.js';
import { resolveOptions } from '../core/validate.js';
import { modelInfo, type ModelName } from './catalog.js';

/** How to build a Recognizer. */
export interface RecognizerConfig {
  /** The torchvision backbone (see SUPPORTED_MODELS). */
  modelName: ModelName;
  /**
   * Rows of the bias-free classifier that replaces the backbone's last fully-connected layer,
   * one per training class. When omitted (null in the resolved config) the model has no classifier
   * and returns embeddings in both modes.
   * @minimum 1
   * @maximum 1000000
   * @TJS-type integer
   */
  numClasses?: number;
  /**
   * Pretrained weights: null for random initialisation, 'DEFAULT', or a name such as
   * 'ResNet18_Weights.IMAGENET1K_V1' (see modelInfo(name).weights). Loaded from torchvision's cache (TORCH_HOME).
   * @default null
   */
  weights?: string | null;
  /**
   * A local torchvision-format state dict of the base model (with its 1000-class head),
   * loaded before the classifier is replaced. Exclusive with `weights`.
   */
  weightsPath?: string;
  /**
   * Give the classifier a bias.
   * @default false
   */
  clfBias?: boolean;
  /**
   * L2-normalise embeddings, and the classifier's rows in training mode (cosine-similarity logits).
   * @default true
   */
  normalize?: boolean;
  /**
   * Seed of the random initialisation (the classifier, and the backbone without pretrained weights):
   * the same config gives the same starting weights in any session.
   * @default 0
   * @minimum 0
   * @maximum 4294967295
   * @TJS-type integer
   */
  seed?: number;
}

/** A RecognizerConfig with every default filled in. */
export interface ResolvedRecognizerConfig {
  modelName: ModelName;
  numClasses: number | null;
  weights: string | null;
  weightsPath: string | null;
  clfBias: boolean;
  normalize: boolean;
  seed: number;
}

/**
 * Check a RecognizerConfig against the schema and the catalog, and fill in its defaults.
 * @throws ValidationError listing every problem (unknown model names and weights get the valid choices)
 */
export function resolveRecognizerConfig(config: RecognizerConfig): ResolvedRecognizerConfig {
  const filled = resolveOptions('RecognizerConfig', config);
  const info = modelInfo(config.modelName);
  const problems: Problem[] = [];
  if (typeof config.weights === 'string' && !info.weights.includes(config.weights)) {
    problems.push({
      path: 'weights',
      message: `unknown weights ${JSON.stringify(config.weights)} for ${config.modelName}; valid: ${info.weights.join(', ')} (or null for random initialisation)`,
    });
  }
  if (config.weightsPath !== undefined) {
    if (typeof config.weights === 'string') {
      problems.push({ path: 'weightsPath', message: 'pass either weights or weightsPath, not both' });
    }
    if (!existsSync(config.weightsPath)) {
      problems.push({ path: 'weightsPath', message: `file not found: ${resolve(config.weightsPath)}` });
    }
  }
  if (problems.length) throw new ValidationError('RecognizerConfig', problems);
  const withDefaults = filled as Required<Omit<RecognizerConfig, 'numClasses' | 'weightsPath'>> & RecognizerConfig;
  return {
    modelName: withDefaults.modelName,
    numClasses: withDefaults.numClasses ?? null,
    weights: withDefaults.weights,
    weightsPath: withDefaults.weightsPath === undefined ? null : resolve(withDefaults.weightsPath),
    clfBias: withDefaults.clfBias,
    normalize: withDefaults.normalize,
    seed: withDefaults.seed,
  };
}
