/**
 * Run-time validation of every option object the SDK takes, before anything reaches
 * Python. The JSON Schemas in schema/ are generated from the TypeScript types
 * (`npm run schema`), so types, docs and checks share one source; ajv checks them and
 * this module turns ajv's errors into a ValidationError listing every problem with
 * its path and, for a misspelt option, the nearest valid name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ValidationError, type Problem } from './errors.js';
import { PACKAGE_ROOT } from './package-root.js';
import { didYouMean } from './suggest.js';

import type { SchemaName } from './schema-sources.js';

export type { SchemaName };

export interface JsonSchema {
  default?: unknown;
  required?: string[];
  definitions?: Record<string, JsonSchema>;
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
  pattern?: string;
  type?: string;
  anyOf?: JsonSchema[];
}

const ajv = new Ajv({ allErrors: true, strict: false });
// A second instance fills in the schema's literal defaults (the `@default` of each option):
// the one place an option's default is applied, so TS types, docs and behaviour cannot drift.
const withDefaults = new Ajv({ allErrors: true, strict: false, useDefaults: true });

interface Compiled {
  check: ValidateFunction;
  fill: ValidateFunction;
  schema: JsonSchema;
}
const compiled = new Map<string, Compiled>();

const parsed = new Map<string, JsonSchema>();

/** The parsed schema/<name>.json, read once per process. */
export function loadSchema(name: string): JsonSchema {
  let schema = parsed.get(name);
  if (!schema) {
    schema = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'schema', `${name}.json`), 'utf8')) as JsonSchema;
    parsed.set(name, schema);
  }
  return schema;
}

function schemaFor(name: string): Compiled {
  let entry = compiled.get(name);
  if (!entry) {
    const schema = loadSchema(name);
    entry = { check: ajv.compile(schema), fill: withDefaults.compile(schema), schema };
    compiled.set(name, entry);
  }
  return entry;
}

/** An options argument as an object: {} when omitted; anything but a plain object is a ValidationError. */
export function optionsObject<T extends object>(value: T | null | undefined, what: string): T {
  if (value === undefined) return {} as T;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError(what, [{ path: '(root)', message: `must be an options object; got ${show(value)}` }]);
  }
  return value;
}

/** Throw a ValidationError listing every way `value` breaks schema `name`. */
export function validate(name: SchemaName, value: unknown, what: string = name): void {
  const { check, schema } = schemaFor(name);
  if (check(value)) return;
  throw new ValidationError(what, toProblems(check.errors ?? [], schema, value));
}

/**
 * Validate `value` against schema `name` and return a copy with every literal default filled in
 * (nested objects too). Options whose default depends on context (a model's input size) are
 * left for the caller's resolve function, which documents them in the option's description.
 */
export function resolveOptions<T extends object>(name: SchemaName, value: T, what: string = name): T {
  validate(name, value, what);
  const copy = structuredClone(value);
  schemaFor(name).fill(copy);
  return copy;
}

/**
 * Check a value the worker sent against the generated schema of its result type: the test suite
 * switches this on for every call (see Transport's result checks), so a TS type cannot say one
 * thing while Python sends another.
 * @returns the problems found (empty when it conforms)
 */
export function resultProblems(name: string, value: unknown): Problem[] {
  const { check, schema } = schemaFor(name);
  if (check(value)) return [];
  return toProblems(check.errors ?? [], schema, value);
}

/** 'a/0/b' style JSON pointers as 'a[0].b'. */
function toPath(pointer: string, extra?: string): string {
  const parts = pointer.split('/').slice(1);
  if (extra !== undefined) parts.push(extra);
  return parts.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function valueAt(root: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), root);
}

/** The object schema of a value: itself, or the object branch of an anyOf (rerank: boolean | { k1, k2, lambda }). */
function objectBranch(s: JsonSchema | undefined): JsonSchema | undefined {
  return s?.properties ? s : (s?.anyOf?.find((b) => b.properties) ?? s);
}

function schemaAt(root: JsonSchema, pointer: string): JsonSchema | undefined {
  return pointer
    .split('/')
    .slice(1)
    .reduce<JsonSchema | undefined>((s, key) => objectBranch(s)?.properties?.[key], root);
}

function describeBranch(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(', ');
  if (s.pattern) return `a string matching /${s.pattern}/`;
  return s.type ?? 'something else';
}

/** Long enums (model names) get the nearest valid values instead of the whole list. */
const LONG_ENUM = 8;

/** A value as a message shows it: JSON, except for what JSON cannot say (NaN, ±Infinity, undefined, functions). */
export function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === undefined || typeof value === 'function' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

function describeError(e: ErrorObject, got: unknown): string {
  const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
  if (!allowed) return `${e.message ?? 'is invalid'}; got ${show(got)}`;
  if (allowed.length > LONG_ENUM && typeof got === 'string') {
    const names = allowed.map(String);
    return `unknown value ${JSON.stringify(got)}${didYouMean(got, names)}; ${names.length} valid values, e.g. ${names.slice(0, 3).join(', ')}`;
  }
  return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}; got ${show(got)}`;
}

function toProblems(errors: ErrorObject[], schema: JsonSchema, value: unknown): Problem[] {
  const problems: Problem[] = [];
  // anyOf failures already explain their branches: drop the per-branch noise
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const nonFinite = new Set<string>(); // NaN or ±Infinity: one clear problem, not one per keyword it breaks
  for (const e of errors) {
    const got = show(valueAt(value, e.instancePath));
    const raw = valueAt(value, e.instancePath);
    if (typeof raw === 'number' && !Number.isFinite(raw)) {
      if (!nonFinite.has(e.instancePath)) {
        nonFinite.add(e.instancePath);
        problems.push({ path: toPath(e.instancePath) || '(root)', message: `must be a finite number; got ${got}` });
      }
      continue;
    }
    if (e.keyword === 'additionalProperties') {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys(objectBranch(schemaAt(schema, e.instancePath))?.properties ?? {});
      problems.push({
        path: toPath(e.instancePath, key),
        message: `unknown option${didYouMean(key, known)}; valid options: ${known.join(', ')}`,
      });
    } else if (e.keyword === 'required') {
      const key = (e.params as { missingProperty: string }).missingProperty;
      problems.push({ path: toPath(e.instancePath, key), message: 'is required' });
    } else if (e.keyword === 'anyOf') {
      const branches = (schemaAt(schema, e.instancePath)?.anyOf ?? []).map(describeBranch);
      problems.push({ path: toPath(e.instancePath), message: `must be one of ${branches.join(', or ')}; got ${got}` });
    } else if (!anyOfPaths.has(e.instancePath)) {
      problems.push({
        path: toPath(e.instancePath) || '(root)',
        message: describeError(e, valueAt(value, e.instancePath)),
      });
    }
  }
  return problems;
}
