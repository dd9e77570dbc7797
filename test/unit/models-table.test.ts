// The README's table of supported models is generated from the catalog: it must be what the generator writes now.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { README_PATH, readmeWithModels } from '../../scripts/gen-models-table.js';
import { SUPPORTED_MODELS } from '../../src/sdk/model/model-names.js';

test('the README lists every supported model, as the catalog describes it (npm run catalog rewrites it)', async () => {
  const readme = readFileSync(README_PATH, 'utf8');
  assert.equal(
    readme,
    await readmeWithModels(readme),
    'README.md is stale: run `node --import tsx scripts/gen-models-table.ts`',
  );
  for (const name of SUPPORTED_MODELS) assert.match(readme, new RegExp(`\\| \`${name}\` +\\|`), name);
});
