// Generate schema/*.json from the SDK's TypeScript types with typescript-json-schema, so the run-time
// checks (src/sdk/core/validate.ts), the defaults, the types and their docs come from one source:
// option schemas (validated, defaults filled in before a call leaves TS) and result schemas (every
// worker answer is checked against them in the test suite). `npm run schema` writes the files;
// `generateSchemas()` is also used by the freshness test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as TJS from 'typescript-json-schema';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';
import { OPTION_SCHEMAS, RESULT_SCHEMAS } from '../src/sdk/core/schema-sources.js';

type Json = Record<string, unknown>;

/** A Tensor crosses the bridge as a shared-memory descriptor: that is what a raw result holds. */
function tensorRefSchema(dtype: string | undefined): Json {
  return {
    type: 'object',
    properties: {
      kind: { type: 'string', const: 'tensor' },
      segment: { type: 'string' },
      offset: { type: 'integer', minimum: 0 },
      dtype: dtype ? { type: 'string', const: dtype } : { type: 'string' },
      shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
      transient: { type: 'boolean' },
    },
    required: ['kind', 'segment', 'offset', 'dtype', 'shape'],
    additionalProperties: false,
  };
}

/**
 * Inline every `$ref` (our result types are not recursive), replacing Tensor definitions by the
 * descriptor schema: definition names carry the declaring module's path, which must not land in a
 * committed file.
 */
function inlineRefs(schema: Json): Json {
  const defs = (schema.definitions ?? {}) as Record<string, Json>;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const { $ref, ...rest } = node as Json;
    if (typeof $ref === 'string') {
      const name = decodeURIComponent($ref.replace('#/definitions/', ''));
      // Names may be qualified by the declaring module (`import("…/tensor").Tensor<"float32">`).
      const tensor = /(?:^|\.)Tensor(?:Impl)?(?:<(.*)>)?$/.exec(name);
      const dtype = tensor && /^"(\w+)"$/.exec(tensor[1] ?? '')?.[1];
      const target = tensor ? tensorRefSchema(dtype ?? undefined) : (walk(defs[name]) as Json | undefined);
      if (!target) throw new Error(`unresolved $ref ${name}`);
      return { ...target, ...(walk(rest) as Json) };
    }
    return Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, walk(v)]));
  };
  const top = { ...schema };
  delete top.definitions;
  return walk(top) as Json;
}

function program(files: string[]): TJS.Program {
  return TJS.getProgramFromFiles(
    [...new Set(files)].map((f) => join(PACKAGE_ROOT, f)),
    { strict: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022' },
    PACKAGE_ROOT,
  );
}

/** The schemas as the committed files hold them (stable JSON text). */
export function generateSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  const options = program(Object.values(OPTION_SCHEMAS));
  const optionSettings: TJS.PartialArgs = { required: true, noExtraProps: true, strictNullChecks: true, ref: false };
  for (const name of Object.keys(OPTION_SCHEMAS)) {
    const schema = TJS.generateSchema(options, name, optionSettings);
    if (!schema) throw new Error(`typescript-json-schema could not build a schema for ${name}`);
    out[`${name}.json`] = JSON.stringify(schema, null, 2) + '\n';
  }
  // Results keep $refs so that Tensor fields can be told apart and swapped for the descriptors the worker sends.
  const results = program(Object.values(RESULT_SCHEMAS));
  const resultSettings: TJS.PartialArgs = { required: true, noExtraProps: true, strictNullChecks: true, ref: true };
  for (const name of Object.keys(RESULT_SCHEMAS)) {
    const schema = TJS.generateSchema(results, name, resultSettings);
    if (!schema) throw new Error(`typescript-json-schema could not build a schema for ${name}`);
    out[`${name}.json`] = JSON.stringify(inlineRefs(schema as Json), null, 2) + '\n';
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = join(PACKAGE_ROOT, 'schema');
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(generateSchemas())) {
    writeFileSync(join(dir, file), text);
    console.log(`wrote schema/${file}`);
  }
}
