import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dashboard/dist/**', 'bench/results/**', 'models/**', 'data/**', 'test/formats/vendor/**'] },
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
    // Import direction: core is pure and never reaches outward; adapters/pipelines never reach into the daemon.
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['**/adapters/**', '**/pipelines/**', '**/daemon/**', '**/dashboard/**'] }],
    },
  },
  {
    files: ['adapters/**/*.ts', 'pipelines/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/daemon/**', '**/dashboard/**'] }] },
  },
);
