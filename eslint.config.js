import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Benchmarks, tests and the harnesses they share: never imported by product code. */
const NOT_PRODUCT = ['**/bench/**', '**/test/**', '**/support/**'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dashboard/dist/**', 'bench/results/**', 'models/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Import direction: core is pure and never reaches outward; adapters/pipelines never reach into the daemon; no
    // product folder imports benchmarks or tests (bench/ and test/ may import the product, never the other way).
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/adapters/**', '**/pipelines/**', '**/daemon/**', '**/dashboard/**', ...NOT_PRODUCT] }],
    },
  },
  {
    // Identification takes its kernels and random numbers from core/math, not from the synthetic benchmark's generator.
    files: ['core/identify/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/adapters/**', '**/pipelines/**', '**/daemon/**', '**/dashboard/**', '**/benchmark/**', ...NOT_PRODUCT] }],
    },
  },
  {
    files: ['adapters/**/*.ts', 'pipelines/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/daemon/**', '**/dashboard/**', ...NOT_PRODUCT] }] },
  },
  {
    files: ['daemon/**/*.ts', 'daemon/**/*.mjs', 'config/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: NOT_PRODUCT }] },
  },
  {
    // Benchmarks import the product and the shared harnesses in support/, never the tests; support/ imports neither.
    files: ['bench/**/*.ts', 'bench/**/*.mjs'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/test/**'] }] },
  },
  {
    files: ['support/**/*.ts', 'support/**/*.mjs'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/test/**', '**/bench/**'] }] },
  },
);
