// A synthetic pool-sized batch (hosts + VMs with realistic resource and point attributes) for the export bench
// and the exporter tests. Values are pseudo-random doubles (worst case for gzip). Attribute objects are shared
// across resources, as real receivers cache them.

import type { Attributes, MetricData, MetricDefinition, ResourceMetricsData, SeriesData } from '../../plugin-api/index.ts';
import type { ExportBatch } from '../types.ts';
import { mulberry32 } from '../../lib/random/index.ts';

export interface SyntheticOptions {
  readonly hosts: number;
  readonly vmsPerHost: number;
  /** RRD rows per series (points per series), 5 s apart. */
  readonly rows: number;
  /** Time of the newest row, unix ms. */
  readonly endMs?: number;
  readonly seed?: number;
}

function def(name: string, unit: string, attributes: string[], kind: 'gauge' | 'sum' = 'gauge', valueType: 'double' | 'int' = 'double'): MetricDefinition {
  return {
    name,
    description: `synthetic ${name}`,
    unit,
    kind,
    valueType,
    ...(kind === 'sum' ? { monotonic: true } : {}),
    attributes,
    enabledByDefault: true,
  };
}

const HOST_METRICS = {
  cpu: def('xen.host.cpu.utilization', '1', ['cpu']),
  memTotal: def('xen.host.memory.total', 'By', [], 'gauge', 'int'),
  memFree: def('xen.host.memory.free', 'By', [], 'gauge', 'int'),
  load: def('xen.host.cpu.load_average', '1', []),
  pif: def('xen.host.network.io', 'By/s', ['network.interface.name', 'network.io.direction']),
  pifErr: def('xen.host.network.errors', '{error}/s', ['network.interface.name', 'network.io.direction']),
  srIo: def('xen.host.sr.io', 'By/s', ['xen.sr.uuid', 'disk.io.direction']),
  srIops: def('xen.host.sr.operations', '{operation}/s', ['xen.sr.uuid', 'disk.io.direction']),
  srLatency: def('xen.host.sr.latency', 's', ['xen.sr.uuid', 'disk.io.direction']),
  srQueue: def('xen.host.sr.queue_size', '{request}', ['xen.sr.uuid']),
  srCache: def('xen.host.sr.cache.hits', '{hit}', ['xen.sr.uuid'], 'sum', 'int'),
};

const VM_METRICS = {
  cpu: def('xen.vm.cpu.utilization', '1', ['cpu']),
  memTarget: def('xen.vm.memory.target', 'By', [], 'gauge', 'int'),
  memFree: def('xen.vm.memory.internal_free', 'By', [], 'gauge', 'int'),
  memActual: def('xen.vm.memory.actual', 'By', [], 'gauge', 'int'),
  vif: def('xen.vm.network.io', 'By/s', ['network.interface.name', 'network.io.direction']),
  vifErr: def('xen.vm.network.errors', '{error}/s', ['network.interface.name', 'network.io.direction']),
  vbd: def('xen.vm.disk.io', 'By/s', ['disk.device', 'disk.io.direction']),
  vbdOps: def('xen.vm.disk.operations', '{operation}/s', ['disk.device', 'disk.io.direction']),
  vbdLatency: def('xen.vm.disk.latency', 's', ['disk.device', 'disk.io.direction']),
  vbdInflight: def('xen.vm.disk.inflight', '{request}', ['disk.device']),
  vbdIowait: def('xen.vm.disk.iowait', '1', ['disk.device']),
  vbdAvgqu: def('xen.vm.disk.queue_size', '{request}', ['disk.device']),
};

function uuid(rand: () => number): string {
  const hex = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}


const attrCache = new Map<string, Attributes>();
function attrs(a: Record<string, string>): Attributes {
  const key = JSON.stringify(a);
  let cached = attrCache.get(key);
  if (!cached) {
    cached = Object.freeze({ ...a });
    attrCache.set(key, cached);
  }
  return cached;
}

export function syntheticBatch(options: SyntheticOptions): ExportBatch {
  const rand = mulberry32(options.seed ?? 42);
  const rows = options.rows;
  const endMs = options.endMs ?? Math.floor(Date.UTC(2026, 10, 21, 12, 0, 0) / 5000) * 5000;
  const timesMs = Array.from({ length: rows }, (_, i) => endMs - (rows - 1 - i) * 5000);
  const poolUuid = uuid(rand);
  const resources: ResourceMetricsData[] = [];

  const series = (a: Attributes, scale: number, int = false): SeriesData => {
    const values = new Array<number>(rows);
    for (let i = 0; i < rows; i++) values[i] = int ? Math.floor(rand() * scale) : rand() * scale;
    return { attributes: a, timesMs, values };
  };
  const none = attrs({});
  const both = ['rx', 'tx'] as const;
  const rw = ['read', 'write'] as const;

  for (let h = 0; h < options.hosts; h++) {
    const hostUuid = uuid(rand);
    const hostName = `xcp-host-${String(h).padStart(3, '0')}`;
    const metrics: MetricData[] = [];
    metrics.push({ definition: HOST_METRICS.cpu, series: Array.from({ length: 32 }, (_, c) => series(attrs({ cpu: String(c) }), 1)) });
    metrics.push({ definition: HOST_METRICS.memTotal, series: [series(none, 2 ** 38, true)] });
    metrics.push({ definition: HOST_METRICS.memFree, series: [series(none, 2 ** 37, true)] });
    metrics.push({ definition: HOST_METRICS.load, series: [series(none, 16)] });
    const pifs = ['eth0', 'eth1', 'eth2', 'eth3'];
    metrics.push({ definition: HOST_METRICS.pif, series: pifs.flatMap((p) => both.map((d) => series(attrs({ 'network.interface.name': p, 'network.io.direction': d }), 1e9))) });
    metrics.push({ definition: HOST_METRICS.pifErr, series: pifs.flatMap((p) => both.map((d) => series(attrs({ 'network.interface.name': p, 'network.io.direction': d }), 2))) });
    const srs = Array.from({ length: 6 }, () => uuid(rand));
    for (const m of [HOST_METRICS.srIo, HOST_METRICS.srIops, HOST_METRICS.srLatency]) {
      metrics.push({ definition: m, series: srs.flatMap((sr) => rw.map((d) => series(attrs({ 'xen.sr.uuid': sr, 'disk.io.direction': d }), 1e6))) });
    }
    metrics.push({ definition: HOST_METRICS.srQueue, series: srs.map((sr) => series(attrs({ 'xen.sr.uuid': sr }), 64)) });
    metrics.push({
      definition: HOST_METRICS.srCache,
      series: srs.map((sr) => ({ ...series(attrs({ 'xen.sr.uuid': sr }), 1e9, true), startTimeMs: endMs - 86_400_000 })),
    });
    resources.push({
      key: `host:${hostUuid}`,
      resource: attrs({
        'service.name': 'xen-otel-agent',
        'xen.pool.uuid': poolUuid,
        'xen.pool.name': 'pool-prod-1',
        'host.id': hostUuid,
        'host.name': hostName,
        'xen.host.uuid': hostUuid,
        'xen.entity.type': 'host',
      }),
      metrics,
    });

    for (let v = 0; v < options.vmsPerHost; v++) {
      const vmUuid = uuid(rand);
      const vm: MetricData[] = [];
      vm.push({ definition: VM_METRICS.cpu, series: Array.from({ length: 8 }, (_, c) => series(attrs({ cpu: String(c) }), 1)) });
      vm.push({ definition: VM_METRICS.memTarget, series: [series(none, 2 ** 34, true)] });
      vm.push({ definition: VM_METRICS.memFree, series: [series(none, 2 ** 33, true)] });
      vm.push({ definition: VM_METRICS.memActual, series: [series(none, 2 ** 34, true)] });
      const vifs = ['0', '1'];
      vm.push({ definition: VM_METRICS.vif, series: vifs.flatMap((i) => both.map((d) => series(attrs({ 'network.interface.name': i, 'network.io.direction': d }), 1e8))) });
      vm.push({ definition: VM_METRICS.vifErr, series: vifs.flatMap((i) => both.map((d) => series(attrs({ 'network.interface.name': i, 'network.io.direction': d }), 1))) });
      const vbds = ['xvda', 'xvdb', 'xvdc'];
      for (const m of [VM_METRICS.vbd, VM_METRICS.vbdOps, VM_METRICS.vbdLatency]) {
        vm.push({ definition: m, series: vbds.flatMap((d) => rw.map((dir) => series(attrs({ 'disk.device': d, 'disk.io.direction': dir }), 1e7))) });
      }
      for (const m of [VM_METRICS.vbdInflight, VM_METRICS.vbdIowait, VM_METRICS.vbdAvgqu]) {
        vm.push({ definition: m, series: vbds.map((d) => series(attrs({ 'disk.device': d }), 8)) });
      }
      resources.push({
        key: `vm:${vmUuid}`,
        resource: attrs({
          'service.name': 'xen-otel-agent',
          'xen.pool.uuid': poolUuid,
          'xen.host.uuid': hostUuid,
          'host.name': hostName,
          'xen.vm.uuid': vmUuid,
          'xen.vm.name': `vm-${h}-${v}-app`,
          'xen.entity.type': 'vm',
        }),
        metrics: vm,
      });
    }
  }
  return { scope: { name: 'xen-otel-agent/rrd_updates', version: '0.1.0' }, resources };
}

export function batchPoints(batch: ExportBatch): number {
  let n = 0;
  for (const r of batch.resources) for (const m of r.metrics) for (const s of m.series) n += s.values.length;
  return n;
}
