// Generate schema/*.json from the SDK's TypeScript config types with typescript-json-schema,
// so the run-time checks (src/sdk/validate.ts), the types and their docs come from one source.
// `npm run schema` writes the files; `generateSchemas()` is also used by the freshness test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as TJS from 'typescript-json-schema';
import { PACKAGE_ROOT } from '../src/sdk/package-root.js';

/** Every config type the SDK validates at run time, and the module that declares it. */
export const SCHEMA_SOURCES = {
  StartOptions: 'src/sdk/recognite.ts',
  RecognizerConfig: 'src/sdk/recognizer.ts',
  FitConfig: 'src/sdk/recognizer.ts',
  EmbedConfig: 'src/sdk/recognizer.ts',
  EvaluateConfig: 'src/sdk/recognizer.ts',
  DatasetRef: 'src/sdk/data.ts',
  SyntheticOptions: 'src/sdk/data.ts',
  SplitOptions: 'src/sdk/data.ts',
} as const;

export type SchemaName = keyof typeof SCHEMA_SOURCES;

/** The schemas as the committed files hold them (stable JSON text). */
export function generateSchemas(): Record<string, string> {
  const files = [...new Set(Object.values(SCHEMA_SOURCES))].map((f) => join(PACKAGE_ROOT, f));
  const program = TJS.getProgramFromFiles(
    files,
    { strict: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022' } as never,
    PACKAGE_ROOT,
  );
  const settings: TJS.PartialArgs = { required: true, noExtraProps: true, strictNullChecks: true, ref: false };
  const out: Record<string, string> = {};
  for (const name of Object.keys(SCHEMA_SOURCES)) {
    const schema = TJS.generateSchema(program, name, settings);
    if (!schema) throw new Error(`typescript-json-schema could not build a schema for ${name}`);
    out[`${name}.json`] = JSON.stringify(schema, null, 2) + '\n';
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
