import { describe, expect, it } from 'vitest';
import { decodeExportRequest, flattenRequest, rowKey } from '../../../test/helpers/otlp-receiver.ts';
import type { ResourceMetricsData } from '../../plugin-api/index.ts';
import { encodeResource, encodeResourceBounded, encodeScopeField } from './proto-encoder.ts';
import { encodeResourceBoundedUpstream } from './sdk-encoder.ts';
import { syntheticBatch } from './synthetic.ts';
import { gaugeDef, smallResources } from './test-support.ts';

const scope = { name: 'xen-otel-agent/test', version: '9.9.9' };
const scopeField = encodeScopeField(scope);

const mixed: ResourceMetricsData = {
  key: 'host:mixed',
  resource: { 'host.id': 'h-1', 'xen.host.cpus': 32, 'xen.host.enabled': true, 'xen.host.weight': 0.5, 'xen.négatif': -3, 'service.name': 'ünïcode' },
  metrics: [
    {
      definition: gaugeDef('g.double'),
      series: [
        { attributes: { cpu: '0' }, timesMs: [1_763_750_000_000, 1_763_750_005_000, 1_763_750_010_000], values: [0.25, Number.NaN, -1e300] },
        { attributes: {}, timesMs: Float64Array.from([999]), values: Float64Array.from([Infinity]) },
      ],
    },
    {
      definition: gaugeDef('g.int', { valueType: 'int', unit: 'By' }),
      series: [{ attributes: { big: 2 ** 40, ok: false }, timesMs: [4_102_444_800_000.5], values: [2 ** 52 + 1, -(2 ** 40)].slice(0, 1) }],
    },
    { definition: gaugeDef('g.empty'), series: [{ attributes: {}, timesMs: [], values: [] }] },
    {
      definition: { ...gaugeDef('s.counter'), kind: 'sum', valueType: 'int', monotonic: false },
      series: [{ attributes: { dir: 'rx' }, timesMs: [1_000, 2_000], values: [-7, 9], startTimeMs: 1 }],
    },
  ],
};

function rowsOf(bytes: Uint8Array) {
  return flattenRequest(decodeExportRequest(bytes));
}

describe('native OTLP encoder', () => {
  it('decodes (real protos) to the same rows as the upstream ProtobufMetricsSerializer', () => {
    const native = encodeResource(mixed, scopeField)!;
    const upstream = encodeResourceBoundedUpstream(mixed, scope, 1 << 30);
    expect(upstream).toHaveLength(1);
    // NaN != NaN in toEqual on objects is fine (Object.is semantics).
    expect(rowsOf(native.bytes)).toEqual(rowsOf(upstream[0]!.bytes));
    expect(native.points).toBe(7);
    expect(native.bytes.length).toBeLessThan(upstream[0]!.bytes.length); // no zero start times on gauges
  });

  it('writes exact nanosecond timestamps, attributes of every type and metric fields', () => {
    const rows = rowsOf(encodeResource(mixed, scopeField)!.bytes);
    expect(rows[0]).toMatchObject({
      resource: { 'host.id': 'h-1', 'xen.host.cpus': 32, 'xen.host.enabled': true, 'xen.host.weight': 0.5, 'xen.négatif': -3, 'service.name': 'ünïcode' },
      scope: 'xen-otel-agent/test',
      metric: 'g.double',
      attributes: { cpu: '0' },
      timeUnixNano: '1763750000000000000',
      value: 0.25,
    });
    expect(rows.map((r) => r.timeUnixNano)).toEqual([
      '1763750000000000000',
      '1763750005000000000',
      '1763750010000000000',
      '999000000',
      '4102444800000500000',
      '1000000000',
      '2000000000',
    ]);
    expect(rows[1]!.value).toBeNaN();
    expect(rows[3]!.value).toBe(Infinity);
    expect(rows[4]).toMatchObject({ metric: 'g.int', unit: 'By', attributes: { big: 2 ** 40, ok: false }, value: 2 ** 52 + 1 });
    expect(rows[5]).toMatchObject({ kind: 'sum', startTimeUnixNano: '1000000', value: -7 });
  });

  it('returns null for a resource without points', () => {
    expect(encodeResource({ key: 'k', resource: {}, metrics: [] }, scopeField)).toBeNull();
    expect(encodeResourceBounded({ key: 'k', resource: {}, metrics: [] }, scopeField, 100)).toEqual([]);
  });

  it('splits a resource bigger than the bound by metric, series and points; every fragment fits; no point lost', () => {
    const [big] = smallResources(1, 30, 40); // 1,200 points in one series list
    const whole = encodeResource(big!, scopeField)!;
    for (const bound of [whole.bytes.length - 1, 20_000, 4_000, 600]) {
      const parts = encodeResourceBounded(big!, scopeField, bound);
      expect(parts.length).toBeGreaterThan(1);
      for (const p of parts) {
        expect(p.bytes.length).toBeLessThanOrEqual(bound);
        expect(p.key).toBe(big!.key);
      }
      expect(parts.reduce((n, p) => n + p.points, 0)).toBe(1200);
      const rows = parts.flatMap((p) => rowsOf(p.bytes));
      expect(rows.map(rowKey).sort()).toEqual(rowsOf(whole.bytes).map(rowKey).sort());
      expect(rows.every((r) => r.resource['xen.vm.uuid'] === 'uuid-0')).toBe(true);
    }
  });

  it('the upstream path splits under the same bound', () => {
    const [big] = smallResources(1, 30, 40);
    const parts = encodeResourceBoundedUpstream(big!, scope, 5_000);
    for (const p of parts) expect(p.bytes.length).toBeLessThanOrEqual(5_000);
    expect(parts.reduce((n, p) => n + p.points, 0)).toBe(1200);
  });

  it('matches the upstream serializer on a pool-shaped synthetic batch (12 rows per series)', () => {
    const batch = syntheticBatch({ hosts: 2, vmsPerHost: 3, rows: 12 });
    for (const rm of batch.resources) {
      const native = encodeResource(rm, encodeScopeField(batch.scope))!;
      const upstream = encodeResourceBoundedUpstream(rm, batch.scope, 1 << 30)[0]!;
      expect(rowsOf(native.bytes)).toEqual(rowsOf(upstream.bytes));
    }
  });
});
