// Lint rules that carry the architecture (STYLE.md §4): who may import whom is enforced here, not hoped for.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const coreDirs = ['host', 'pipeline', 'config', 'exporters', 'telemetry', 'simulator', 'cli'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'coverage/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['plugins/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: coreDirs.map((d) => `**/src/${d}/**`), message: 'Plugins import only src/plugin-api and src/lib.' },
            { group: ['**/src/main.ts', '../*/**', '!../../src/**'], message: 'A plugin never imports another plugin or the core.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/plugins/**', ...['plugin-api', ...coreDirs].map((d) => `**/src/${d}/**`)], message: 'src/lib is a leaf library.' }] },
      ],
    },
  },
  {
    files: ['src/{host,pipeline,config,exporters,telemetry,simulator,plugin-api}/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/plugins/**'], message: 'Only src/main.ts meets the plugins.' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', '**/*.test.ts', 'src/cli/**/*.ts', 'src/main.ts', 'bin/**/*.js'],
    rules: { 'no-console': 'off' },
  },
  {
    files: ['bin/**/*.js', 'eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
