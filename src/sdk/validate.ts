/**
 * Run-time validation of the SDK's option objects, before anything reaches Python.
 * (Temporary hand-written checks; replaced by the generated JSON Schemas + ajv.)
 */
import { ValidationError, type Problem } from './errors.js';
import type { StartOptions } from './recognite.js';

const DEVICE = /^(auto|cpu|cuda|cuda:\d+)$/;

export function validateStartOptions(options: StartOptions): void {
  const problems: Problem[] = [];
  if (options.device !== undefined && (typeof options.device !== 'string' || !DEVICE.test(options.device))) {
    problems.push({
      path: 'device',
      message: `must be 'auto', 'cpu', 'cuda' or 'cuda:N', got ${JSON.stringify(options.device)}`,
    });
  }
  if (problems.length) throw new ValidationError('StartOptions', problems);
}
