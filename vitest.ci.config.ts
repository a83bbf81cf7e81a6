// CI-only suites: tests against real peers (the official XenAPI Python package, a real OpenTelemetry Collector)
// that need tools `.ci/run` installs (XENAPI_PYTHON, OTELCOL_BIN). `npm test` (vitest.config.ts) excludes them so
// it needs neither Go nor Python. Run with `npx vitest run --config vitest.ci.config.ts`; see docs/testing.md.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/ci-only/**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Real peers start processes and wait for whole collection cycles.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
