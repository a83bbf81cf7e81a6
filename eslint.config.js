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
            {
              regex: `/src/(${coreDirs.join('|')})/|/src/main\\.ts$`,
              message: 'Plugins import only src/plugin-api and leaf libraries under src/lib.',
            },
            // `../other_plugin/…` from a plugin's own folder; `../../…` (src/, test/) is checked above.
            { regex: '^\\.\\./(?!\\.\\./)[^/]+/', message: 'A plugin never imports another plugin.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/**/*.ts'],
    ignores: ['src/lib/**/*.test.ts', 'src/lib/**/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // From src/lib/<lib>/…: `../../<dir>/` leaves src/lib, `../../../` leaves src/.
              regex: `^(\\.\\./){2}(plugin-api|${coreDirs.join('|')})/|^(\\.\\./){3}|/plugins/`,
              message: 'src/lib is a leaf library: it imports nothing from the project outside src/lib.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/{host,pipeline,config,exporters,telemetry,simulator,plugin-api,cli}/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)plugins/', message: 'Only src/main.ts meets the plugins.' }] },
      ],
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
