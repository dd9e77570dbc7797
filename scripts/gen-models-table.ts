// Write the table of supported models into README.md (between `<!-- models -->` and `<!-- /models -->`)
// from the generated catalog (src/sdk/model/catalog.json), so the README cannot drift from it.
// `npm run catalog` runs it after regenerating the catalog; test/unit/models-table.test.ts keeps it fresh.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { allModelInfo, type ModelInfo } from '../src/sdk/model/catalog.js';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';

export const README_PATH = join(PACKAGE_ROOT, 'README.md');
const START = '<!-- models -->';
const END = '<!-- /models -->';

/** "11.7 M" parameters. */
function millions(n: number): string {
  return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} M`;
}

function row(m: ModelInfo): string {
  const input = m.fixedInputSize ? `${m.minInputSize} only` : `≥ ${m.minInputSize}`;
  const weights = m.weights
    .filter((w) => w !== 'DEFAULT')
    .map((w) => w.split('.').at(-1))
    .join(', ');
  return `| \`${m.name}\` | ${m.embeddingDim} | ${millions(m.parameters)} | ${input} | ${m.defaultInputSize} | ${weights || '-'} |`;
}

/** The section's body: one row per backbone, in the catalog's (recognite's) order. */
export function modelsTable(models: ModelInfo[] = allModelInfo()): string {
  return [
    '| model | embedding | parameters | input (px) | default size | pretrained weights |',
    '| --- | --- | --- | --- | --- | --- |',
    ...models.map(row),
  ].join('\n');
}

/** `readme` with the models section rewritten; only the table is formatted (prettier skips *.md here). */
export async function readmeWithModels(readme: string): Promise<string> {
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from === -1 || to < from) throw new Error(`README.md: the ${START} … ${END} markers are missing or out of order`);
  const table = await prettier.format(modelsTable(), { parser: 'markdown' });
  return `${readme.slice(0, from + START.length)}\n\n${table.trim()}\n\n${readme.slice(to)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(README_PATH, await readmeWithModels(readFileSync(README_PATH, 'utf8')));
}
