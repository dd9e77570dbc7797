// The published typings (npm run build, stripInternal) hold the public API only.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../helpers.js';

test('internal methods are not in the published typings', () => {
  const out = mkdtempSync(join(tmpdir(), 'recognite-dts-'));
  try {
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], { cwd: REPO_ROOT });
    const recognite = readFileSync(join(out, 'core', 'recognite.d.ts'), 'utf8');
    const recognizer = readFileSync(join(out, 'model', 'recognizer.d.ts'), 'utf8');
    assert.match(recognite, /createRecognizer\(/);
    assert.doesNotMatch(recognite, /\binvoke\(/, 'Recognite.invoke is internal');
    assert.doesNotMatch(recognizer, /static create\(/, 'Recognizer.create is internal (use rt.createRecognizer)');
    assert.match(readFileSync(join(out, 'index.d.ts'), 'utf8'), /Recognite/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
