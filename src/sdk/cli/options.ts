/**
 * Options shared by the CLI's commands. The options that map to an SDK option are made from that
 * option's generated JSON Schema (its description, default, choices and type), and what the user
 * gave is passed on under the SDK's own name: the SDK validates it, so the CLI cannot disagree.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ValidationError } from '../core/errors.js';
import type { Recognite } from '../core/recognite.js';
import { loadSchema, validate, type JsonSchema, type SchemaName } from '../core/validate.js';
import type { ModelName } from '../model/catalog.js';
import type { Recognizer } from '../model/recognizer.js';

/** Bad usage the option parser cannot see, such as two options that go together (exit code 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An integer option value (commander passes every value as a string). */
export function integer(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is not an integer.`);
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

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The first paragraph of a schema description, on one line. */
function summary(schema: JsonSchema & { description?: string }): string {
  return ((schema.description ?? '').split(/\n\s*\n/)[0] ?? '').replace(/\s*\n\s*/g, ' ');
}

/** The SDK option an option sets, where its flag says otherwise (`--resume` sets `resumeFrom`). */
const SDK_KEY = new WeakMap<Option, string>();

/** Mark `option` as setting the SDK option `key` (for messages in the CLI's words). */
export function forSdk(option: Option, key: string): Option {
  SDK_KEY.set(option, key);
  return option;
}

/** A ValidationError in the CLI's words: each problem under the flag of `command` that set it, where one did. */
export function inFlags(err: ValidationError, command: Command | undefined): string {
  const lines = err.problems.map((p) => {
    const [top = '', ...rest] = p.path.split('.');
    const option = command?.options.find((o) => (SDK_KEY.get(o) ?? o.attributeName()) === top);
    return option?.long ? `  - ${[option.long, ...rest].join('.')}: ${p.message}` : undefined;
  });
  return lines.every((l) => l !== undefined) ? `invalid options:\n${lines.join('\n')}` : err.message;
}

/**
 * Command-line options made from properties of one of the SDK's option schemas.
 * `flags` renames an option (e.g. `{ resumeFrom: '--resume <checkpoint>' }`); by default a property
 * `batchSize` is `--batch-size <value>`, a boolean `--hflip` (or `--no-normalize` when it defaults to true).
 */
export class SchemaOptions {
  private readonly options: Array<{ key: string; option: Option }>;

  constructor(
    private readonly schemaName: SchemaName,
    keys: string[],
    flags: Record<string, string> = {},
  ) {
    const root = loadSchema(schemaName);
    const properties = root.properties ?? {};
    const required = new Set(root.required ?? []);
    this.options = keys.map((key) => {
      const schema = properties[key];
      if (!schema) throw new Error(`${schemaName} has no option ${key}`); // a programming error, caught by the tests
      const boolean = schema.type === 'boolean';
      const flag =
        flags[key] ?? (boolean ? `--${schema.default === true ? 'no-' : ''}${kebab(key)}` : `--${kebab(key)} <value>`);
      const shown = schema.default !== undefined && schema.default !== null && !boolean;
      const option = new Option(flag, `${summary(schema)}${shown ? ` (default ${String(schema.default)})` : ''}`);
      // what the SDK requires, the parser requires: refused before the worker starts
      if (required.has(key)) option.makeOptionMandatory();
      if (schema.enum) option.choices(schema.enum.map(String));
      else if (schema.type === 'integer') option.argParser(integer);
      else if (schema.type === 'number') option.argParser(number);
      return { key, option: forSdk(option, key) };
    });
  }

  /** Add the options to a command. */
  addTo(command: Command): Command {
    for (const { option } of this.options) command.addOption(option);
    return command;
  }

  /**
   * What the user gave, under the SDK's names, checked against the SDK's schema now: a bad value is
   * refused before the worker starts (for schemas whose required options the CLI does not all take,
   * use pick() and let the SDK check).
   */
  checked(given: Record<string, unknown>): Record<string, unknown> {
    const picked = this.pick(given);
    validate(this.schemaName, picked, 'options');
    return picked;
  }

  /** What the user gave, under the SDK's names (options not given are left out: the SDK fills in its defaults). */
  pick(given: Record<string, unknown>): Record<string, unknown> {
    const picked: Record<string, unknown> = {};
    for (const { key, option } of this.options) {
      const value = given[option.attributeName()];
      // a --no-x flag is `true` unless given: only pass it on when it was
      if (value !== undefined && !(option.negate && value === true)) picked[key] = value;
    }
    return picked;
  }
}

/** The embedding options every command that reads images takes. */
export const embedOptions = (): SchemaOptions =>
  new SchemaOptions('EmbedConfig', ['size', 'batchSize', 'numWorkers', 'tta', 'precision']);

/** `--checkpoint` (and `--model` for a plain state dict): the model of embed, eval and gallery. */
export function addModelOptions(command: Command): Command {
  return command
    .requiredOption(
      '--checkpoint <file>',
      "a model file: the last.pt of a train run's checkpoint folder, or a state dict",
    )
    .option('--model <name>', 'the backbone of a plain state dict (a train checkpoint records its own)');
}

/** The model named by --checkpoint (and --model), loaded in the worker in evaluation mode. */
export function loadModel(rt: Recognite, opts: { checkpoint: string; model?: string }): Promise<Recognizer> {
  return rt.loadRecognizer(opts.checkpoint, opts.model === undefined ? {} : { modelName: opts.model as ModelName });
}
