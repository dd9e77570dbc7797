/**
 * onnxruntime-node and sharp are optional peer dependencies: a project that only trains with the
 * worker does not install ~200 MB of native binaries (nor run onnxruntime-node's install script,
 * which downloads CUDA providers). They are loaded on first use, and their absence is an error that
 * says what to install, with the versions this release is tested with (package.json's peerDependencies).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as OnnxRuntime from 'onnxruntime-node';
import type Sharp from 'sharp';
import { RecogniteError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/package-root.js';

/** A package `recognite-ts/deploy` needs is not installed; the message is the command that installs it. */
export class MissingDependencyError extends RecogniteError {
  override name = 'MissingDependencyError';
}

function tested(name: string): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    peerDependencies?: Record<string, string>;
  };
  return `${name}@${pkg.peerDependencies?.[name] ?? 'latest'}`;
}

function missing(name: string, use: string, err: unknown): MissingDependencyError {
  const why = (err as Error).message.split('\n')[0] ?? '';
  const skip =
    name === 'onnxruntime-node'
      ? ' (ONNXRUNTIME_NODE_INSTALL=skip in front of it where api.nuget.org is unreachable: the CPU provider is in the package)'
      : '';
  return new MissingDependencyError(
    `${use} needs ${name}, which cannot be loaded (${why}): npm install ${tested(name)}${skip}`,
  );
}

let ort: Promise<typeof OnnxRuntime> | undefined;
let sharp: Promise<typeof Sharp> | undefined;

/** onnxruntime-node, loaded once. */
export function onnxRuntime(): Promise<typeof OnnxRuntime> {
  ort ??= import('onnxruntime-node').catch((err: unknown) => {
    ort = undefined; // installed later in the same process: try again
    throw missing('onnxruntime-node', 'OnnxRecognizer', err);
  });
  return ort;
}

/** sharp's default export, loaded once. */
export function sharpLibrary(): Promise<typeof Sharp> {
  sharp ??= import('sharp').then(
    (m) => m.default,
    (err: unknown) => {
      sharp = undefined;
      throw missing('sharp', 'embedding image files without the worker', err);
    },
  );
  return sharp;
}
