/**
 * Exporting a model to ONNX (`model.exportOnnx(path)`): the options, their resolution and checks
 * (made here, before the worker is asked), the progress events and the result. The export itself
 * runs in the worker (py_bridge/deploy/), which writes the .onnx file and its JSON sidecar (sidecar.ts).
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { ValidationError } from '../core/errors.js';
import type { JobEvent, JobOptions } from '../core/jobs.js';
import { PACKAGE_ROOT } from '../core/package-root.js';
import { resolveOptions } from '../core/validate.js';
import type { ModelInfo } from '../model/catalog.js';
import type { OnnxSidecar } from './sidecar.js';

/** How a model is exported to ONNX: the plain, validated part of ExportOnnxOptions. */
export interface ExportOnnxConfig {
  /**
   * Side of the square input the model is exported for: images are resized (shortest side) and
   * centre-cropped to it, as embed() does. When omitted: the model's defaultInputSize
   * (modelInfo(name).defaultInputSize).
   * @minimum 1
   * @maximum 4096
   * @TJS-type integer
   */
  size?: number;
  /**
   * Whether the batch axis is dynamic (any number of images per run); false fixes it at 1.
   * @default true
   */
  dynamicBatch?: boolean;
  /**
   * The ONNX opset (ai.onnx) to target, from 18 (the exporter's oldest) to 25 (checked with
   * onnxruntime 1.30, the version onnxruntime-node runs). When omitted: the exporter's default (20 with
   * torch 2.14); the sidecar records the one written.
   * @minimum 18
   * @maximum 25
   * @TJS-type integer
   */
  opset?: number;
}

/** An ExportOnnxConfig with every default filled in: what the worker receives (opset null: the exporter's default). */
export interface ResolvedExportOnnxConfig {
  size: number;
  dynamicBatch: boolean;
  opset: number | null;
}

/** Progress of an export: the stage it has reached. */
export interface OnnxExportProgress extends JobEvent {
  type: 'progress';
  /** 'copying' the model to the CPU, 'exporting' it (torch.onnx), 'checking' the file with onnxruntime against torch. */
  stage: 'copying' | 'exporting' | 'checking';
}

/** Options of `model.exportOnnx(path)`: an ExportOnnxConfig plus progress and cancellation. */
export interface ExportOnnxOptions extends ExportOnnxConfig, JobOptions<OnnxExportProgress> {}

/** What `model.exportOnnx(path)` wrote: the model, its sidecar (`<path>.json`) and what the sidecar says. */
export interface OnnxExportResult {
  /** Absolute path of the .onnx file. */
  path: string;
  /** Absolute path of the sidecar: `<path>.json`. */
  sidecarPath: string;
  sidecar: OnnxSidecar;
}

/**
 * Check an ExportOnnxConfig and fill in every default, against the model: a size below its minimum,
 * above its maximum, or other than the one a fixed-size model (ViT) takes is refused here.
 * @param pretrained whether the model has pretrained weights (a ViT's may fix another size, which only the worker knows)
 */
export function resolveExportOnnxConfig(
  config: ExportOnnxConfig,
  info: ModelInfo,
  pretrained: boolean,
): ResolvedExportOnnxConfig {
  const filled = resolveOptions<ExportOnnxConfig>('ExportOnnxConfig', config, 'ExportOnnxOptions');
  const size = filled.size ?? info.defaultInputSize;
  const fixed = info.fixedInputSize && !pretrained;
  if (fixed && size !== info.minInputSize) {
    throw ValidationError.one(
      'ExportOnnxOptions',
      'size',
      `${info.name} takes exactly ${info.minInputSize}×${info.minInputSize} images, got ${size}: pass size ${info.minInputSize} or leave it out`,
    );
  }
  if (size < info.minInputSize) {
    throw ValidationError.one(
      'ExportOnnxOptions',
      'size',
      `${info.name} needs at least ${info.minInputSize}, got ${size}`,
    );
  }
  if (info.maxInputSize !== null && size > info.maxInputSize && !(pretrained && info.fixedInputSize)) {
    throw ValidationError.one(
      'ExportOnnxOptions',
      'size',
      `${info.name} takes at most ${info.maxInputSize}, got ${size}`,
    );
  }
  return { size, dynamicBatch: filled.dynamicBatch ?? true, opset: filled.opset ?? null };
}

/**
 * The absolute path to export to, checked: a file ending in .onnx, in a folder that exists and can
 * be written (the sidecar goes beside it, as `<path>.json`).
 */
export function checkExportPath(path: unknown): string {
  if (typeof path !== 'string' || path === '') {
    throw ValidationError.one('exportOnnx path', 'path', 'must be the path of the .onnx file to write');
  }
  const target = resolve(path);
  if (extname(target).toLowerCase() !== '.onnx') {
    throw ValidationError.one('exportOnnx path', 'path', `must end in .onnx, got ${path}`);
  }
  const folder = dirname(target);
  let isFolder = false;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch {
    // missing: said below
  }
  if (!isFolder) {
    throw ValidationError.one('exportOnnx path', 'path', `folder ${folder} does not exist: create it first`);
  }
  try {
    accessSync(folder, constants.W_OK);
  } catch {
    throw ValidationError.one('exportOnnx path', 'path', `folder ${folder} is not writable`);
  }
  if (isDirectory(target)) {
    throw ValidationError.one('exportOnnx path', 'path', `${target} is a folder: give the path of a file`);
  }
  return target;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

let version: string | undefined;

/** This package's version (package.json), recorded in the sidecar. */
export function packageVersion(): string {
  version ??= (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
