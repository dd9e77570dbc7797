// The committed JSON Schemas must be exactly what the TypeScript types generate today.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv } from 'ajv';
import { generateSchemas } from '../scripts/gen-schema.js';
import { MODEL_NAMES_PATH, modelNamesSource } from '../scripts/gen-model-names.js';
import { OPTION_SCHEMAS } from '../src/sdk/core/schema-sources.js';
import { loadSchema, type JsonSchema } from '../src/sdk/core/validate.js';
import { REPO_ROOT } from './helpers.js';

test('schema/ is fresh (run `npm run schema` after changing a config type)', () => {
  for (const [file, text] of Object.entries(generateSchemas())) {
    const committed = readFileSync(join(REPO_ROOT, 'schema', file), 'utf8');
    assert.equal(committed, text, `schema/${file} is stale: run npm run schema`);
  }
});

test('model-names.ts is fresh (run `npm run catalog` after the catalog changes)', async () => {
  const committed = readFileSync(MODEL_NAMES_PATH, 'utf8');
  assert.equal(committed, await modelNamesSource(), 'src/sdk/model/model-names.ts is stale: run npm run catalog');
});

test('every option default in the schemas is a value of its option (prose belongs in the description)', () => {
  const ajv = new Ajv({ strict: false });
  const found: string[] = [];
  const walk = (node: JsonSchema, path: string): void => {
    for (const [key, prop] of Object.entries(node.properties ?? {})) {
      if (prop.default !== undefined) {
        const { default: value, ...rest } = prop;
        assert.ok(ajv.validate(rest, value), `${path}.${key}: default ${JSON.stringify(value)} is not a valid value`);
        found.push(`${path}.${key}`);
      }
      walk(prop, `${path}.${key}`);
    }
  };
  for (const name of Object.keys(OPTION_SCHEMAS)) walk(loadSchema(name), name);
  assert.ok(found.length > 20, `expected many defaults, found ${found.length}`);
});
