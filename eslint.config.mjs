import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/bundle/**', '**/node_modules/**', 'deploy/**', 'bench/out/**'] },
  ...tseslint.configs.recommended,
  {
    // CommonJS fixtures, scripts and package bins require() by design.
    files: ['**/*.cjs', 'packages/*/bin/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
);
