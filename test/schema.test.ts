// The committed JSON Schemas must be exactly what the TypeScript types generate today.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSchemas } from '../scripts/gen-schema.js';
import { REPO_ROOT } from './helpers.js';

test('schema/ is fresh (run `npm run schema` after changing a config type)', () => {
  for (const [file, text] of Object.entries(generateSchemas())) {
    const committed = readFileSync(join(REPO_ROOT, 'schema', file), 'utf8');
    assert.equal(committed, text, `schema/${file} is stale: run npm run schema`);
  }
});
