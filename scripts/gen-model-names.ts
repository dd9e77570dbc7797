// Write src/sdk/model/model-names.ts (SUPPORTED_MODELS `as const`, hence the ModelName type) from the
// generated catalog (src/sdk/model/catalog.json), so the list of models exists once: the catalog,
// generated from the real torchvision by py_bridge/model/gen_catalog.py. `npm run catalog` runs both;
// `modelNamesSource()` is also used by the freshness test.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as prettier from 'prettier';
import { PACKAGE_ROOT } from '../src/sdk/core/package-root.js';

export const MODEL_NAMES_PATH = join(PACKAGE_ROOT, 'src', 'sdk', 'model', 'model-names.ts');

/** The text model-names.ts must hold for the catalog as it is. */
export async function modelNamesSource(): Promise<string> {
  const catalog = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'src', 'sdk', 'model', 'catalog.json'), 'utf8')) as Array<{
    name: string;
  }>;
  const text = `// Generated from catalog.json by scripts/gen-model-names.ts (\`npm run catalog\`): do not edit.

/** Every torchvision backbone a Recognizer can be built on (recognite's SUPPORTED_MODELS, in its order). */
export const SUPPORTED_MODELS = ${JSON.stringify(catalog.map((m) => m.name))} as const;

/** Name of a supported torchvision backbone. */
export type ModelName = (typeof SUPPORTED_MODELS)[number];
`;
  const options = (await prettier.resolveConfig(MODEL_NAMES_PATH)) ?? {};
  return prettier.format(text, { ...options, filepath: MODEL_NAMES_PATH });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(MODEL_NAMES_PATH, await modelNamesSource());
  console.log('wrote src/sdk/model/model-names.ts');
}
