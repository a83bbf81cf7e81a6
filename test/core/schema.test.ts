import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderConfigJsonSchema } from '../../src/config/json-schema.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { builtinRegistry } from './helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('config/agent.schema.json', () => {
  it('is up to date with the zod schemas (regenerate with `npm run schema`)', () => {
    const committed = readFileSync(`${root}config/agent.schema.json`, 'utf8');
    expect(committed).toBe(renderConfigJsonSchema(builtinRegistry()));
  });
});

describe('shipped configs', () => {
  const files = ['otel-agent.yaml', ...readdirSync(`${root}config/examples`).map((f) => `config/examples/${f}`)];

  it('include the three documented examples', () => {
    expect(files).toEqual(expect.arrayContaining(['config/examples/minimal.yaml', 'config/examples/xcp-ng-pool.yaml', 'config/examples/multi-pool.yaml']));
  });

  it.each(files)('%s parses and validates', async (file) => {
    const config = await loadConfigFile(`${root}${file}`, {
      registry: builtinRegistry(),
      env: { XEN_PASSWORD: 'x', LYON_PASSWORD: 'y' },
      readFile: () => 'secret-from-file\n',
    });
    expect(config.pipelines.length).toBeGreaterThan(0);
    expect(config.warnings).toEqual([]);
  });
});
