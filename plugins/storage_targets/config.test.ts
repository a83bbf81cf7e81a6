import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { factory } from './index.ts';

describe('storage_targets config', () => {
  it('applies defaults', () => {
    // act
    const config = factory.configSchema.parse({ pools: ['prod'] });
    // assert
    expect(config).toEqual({ pools: ['prod'], metrics: {} });
    expect(factory.poolsOf?.(config)).toEqual(['prod']);
  });

  it('accepts metric overrides', () => {
    const config = factory.configSchema.parse({ pools: ['a', 'b'], metrics: { 'xen.pbd.target.info': { enabled: false } } });
    expect(config.metrics).toEqual({ 'xen.pbd.target.info': { enabled: false } });
  });

  it.each([
    ['no pools', {}, ['pools: pools must be a list of pool names']],
    ['empty pools', { pools: [] }, ['pools: at least one pool is required']],
    ['empty pool name', { pools: [''] }, ['pools.0: a pool name must not be empty']],
    ['duplicate pool', { pools: ['a', 'a'] }, ["pools.1: pool 'a' is listed twice"]],
    [
      'unknown metric',
      { pools: ['a'], metrics: { 'xen.sr.size': { enabled: true } } },
      [
        "metrics.xen.sr.size: unknown metric 'xen.sr.size'; known: xen.pbd.target.info",
      ],
    ],
    ['bad enabled', { pools: ['a'], metrics: { 'xen.pbd.target.info': { enabled: 'yes' } } }, ['metrics.xen.pbd.target.info.enabled: enabled must be true or false']],
    ['unknown key', { pools: ['a'], interval: '10s' }, ['(root): Unrecognized key: "interval"']],
  ])('rejects %s', (_name, input, expected) => {
    // act
    const result = factory.configSchema.safeParse(input);
    // assert
    expect(result.success).toBe(false);
    const messages = result.error!.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    expect(messages).toEqual(expected);
  });

  it('loads testdata/config.yaml (defaults and overrides)', () => {
    const sections = parse(readFileSync(new URL('./testdata/config.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(factory.configSchema.parse(sections.defaults)).toEqual({ pools: ['prod'], metrics: {} });
    expect(factory.configSchema.parse(sections.overrides)).toEqual({ pools: ['prod', 'dr'], metrics: { 'xen.pbd.target.info': { enabled: false } } });
  });

  it('declares the factory contract', () => {
    expect(factory.type).toBe('storage_targets');
    expect(factory.apiVersion).toBe('^1.0.0');
    expect(factory.stability).toBe('alpha');
  });
});
