// Config of the four storage receivers, one table: they share one schema (src/lib/receiver-config), so every
// validation branch is checked once per receiver with its exact message, plus each receiver's testdata/config.yaml.
// (Lives under test/: a plugin's tests may not import another plugin.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { factory as multipath } from '../../plugins/multipath/index.ts';
import { factory as pbdAttachment } from '../../plugins/pbd_attachment/index.ts';
import { factory as srUsage } from '../../plugins/sr_usage/index.ts';
import { factory as storageTargets } from '../../plugins/storage_targets/index.ts';
import type { PoolsAndMetricsConfig } from '../../src/lib/receiver-config/index.ts';
import type { ReceiverFactory } from '../../src/plugin-api/index.ts';

interface Row {
  readonly factory: ReceiverFactory<PoolsAndMetricsConfig>;
  /** Metric switched off in the override case. */
  readonly override: string;
  /** Metric switched off in testdata/config.yaml (default: `override`). */
  readonly fileOverride?: string;
  /** Metric given a non-boolean `enabled`. */
  readonly badEnabled: string;
  /** The known metric names, as the unknown-metric message lists them. */
  readonly known: string;
}

const rows: readonly Row[] = [
  {
    factory: multipath,
    override: 'xen.pbd.iscsi.sessions',
    badEnabled: 'xen.pbd.multipath.degraded',
    known:
      'xen.host.multipath.boot.degraded, xen.host.multipath.boot.paths.active, xen.host.multipath.boot.paths.max, xen.host.multipath.enabled, xen.multipath.parse_errors, xen.pbd.iscsi.sessions, xen.pbd.multipath.degraded, xen.pbd.multipath.paths.active, xen.pbd.multipath.paths.max, xen.pbd.multipathed',
  },
  { factory: pbdAttachment, override: 'xen.sr.hosts.detached', fileOverride: 'xen.pbd.attached', badEnabled: 'xen.pbd.attached', known: 'xen.pbd.attached, xen.sr.hosts.detached' },
  {
    factory: srUsage,
    override: 'xen.sr.virtual_allocation',
    badEnabled: 'xen.sr.usage',
    known: 'xen.sr.capacity, xen.sr.usage, xen.sr.utilization, xen.sr.virtual_allocation',
  },
  { factory: storageTargets, override: 'xen.pbd.target.info', badEnabled: 'xen.pbd.target.info', known: 'xen.pbd.target.info' },
];

describe.each(rows.map((row) => [row.factory.type, row] as const))('%s config', (type, { factory, override, fileOverride = override, badEnabled, known }) => {
  it('applies defaults', () => {
    // act
    const config = factory.configSchema.parse({ pools: ['prod'] });
    // assert
    expect(config).toEqual({ pools: ['prod'], metrics: {} });
    expect(factory.poolsOf?.(config)).toEqual(['prod']);
  });

  it('accepts metric overrides', () => {
    const config = factory.configSchema.parse({ pools: ['a', 'b'], metrics: { [override]: { enabled: false } } });
    expect(config.metrics).toEqual({ [override]: { enabled: false } });
  });

  it.each([
    ['no pools', {}, ['pools: pools must be a list of pool names']],
    ['empty pools', { pools: [] }, ['pools: at least one pool is required']],
    ['empty pool name', { pools: [''] }, ['pools.0: a pool name must not be empty']],
    ['duplicate pool', { pools: ['a', 'a'] }, ["pools.1: pool 'a' is listed twice"]],
    ['unknown metric', { pools: ['a'], metrics: { 'xen.sr.size': { enabled: true } } }, [`metrics.xen.sr.size: unknown metric 'xen.sr.size'; known: ${known}`]],
    ['bad enabled', { pools: ['a'], metrics: { [badEnabled]: { enabled: 'yes' } } }, [`metrics.${badEnabled}.enabled: enabled must be true or false`]],
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
    const sections = parse(readFileSync(new URL(`../../plugins/${type}/testdata/config.yaml`, import.meta.url), 'utf8')) as Record<string, unknown>;
    expect(factory.configSchema.parse(sections.defaults)).toEqual({ pools: ['prod'], metrics: {} });
    expect(factory.configSchema.parse(sections.overrides)).toEqual({ pools: ['prod', 'dr'], metrics: { [fileOverride]: { enabled: false } } });
  });

  it('declares the factory contract', () => {
    expect(factory.apiVersion).toBe('^1.0.0');
    expect(factory.stability).toBe('alpha');
  });
});

it('covers the four storage receivers by type', () => {
  expect(rows.map((r) => r.factory.type)).toEqual(['multipath', 'pbd_attachment', 'sr_usage', 'storage_targets']);
});
