/** Option parsers and options shared by the CLI's commands (commander passes every value as a string). */
import { InvalidArgumentError, Option } from 'commander';

/** An integer option value. */
export function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is not an integer.`);
  return n;
}

/** A number option value (the SDK's schemas check its range). */
export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`'${value}' is not a number.`);
  return n;
}

/** `--json`: the result as JSON on stdout and nothing else. */
export const json = (): Option => new Option('--json', 'print machine-readable JSON only (no progress)');
