// ESLint: typescript-eslint's strict, type-checked preset for the TypeScript sources; the plain
// recommended rules for the dependency-free .mjs scripts (which the type checker does not see).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'schema/', 'build/', 'docs/api/', 'out/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // numbers, booleans and null in messages read fine; objects ([object Object]) are still errors
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true },
      ],
    },
  },
  {
    // node:test's test()/describe() return promises the runner itself awaits, and a test's or a
    // benchmark's `!` on a value it has just made is clearer than a second check
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.d.mts'],
    extends: [...tseslint.configs.recommended],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', FinalizationRegistry: 'readonly' } },
  },
);
