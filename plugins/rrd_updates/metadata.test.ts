import { describe, expect, it } from 'vitest';
import { catalogueProblems, defineCatalogue, defineMetrics } from '../../src/plugin-api/index.ts';
import { catalogue, DataSourceMatcher, matchDataSource, metrics, SELF_METRICS, type OwnerKind } from './metadata.ts';

describe('data source → metric', () => {
  it.each([
    ['host', 'cpu3', 'xen.host.cpu.utilization', { 'cpu.logical_number': 3 }, 1, 'owner'],
    ['host', 'cpu_avg', 'xen.host.cpu.average_utilization', {}, 1, 'owner'],
    ['host', 'cpu0-C1', 'xen.host.cpu.cstate.residency', { 'cpu.logical_number': 0, 'xen.cpu.cstate': 'C1' }, 1, 'owner'],
    ['host', 'cpu12-P3', 'xen.host.cpu.pstate.residency', { 'cpu.logical_number': 12, 'xen.cpu.pstate': 'P3' }, 1, 'owner'],
    ['host', 'CPU5-avg-freq', 'xen.host.cpu.frequency', { 'cpu.logical_number': 5 }, 1e6, 'owner'],
    ['host', 'memory_total_kib', 'xen.host.memory.total', {}, 1024, 'owner'],
    ['host', 'memory_reclaimed', 'xen.host.memory.reclaimed', {}, 1, 'owner'],
    ['host', 'pif_eth0_rx', 'xen.host.network.io', { 'network.interface.name': 'eth0', 'network.io.direction': 'receive' }, 1, 'owner'],
    ['host', 'pif_bond0_tx_errors', 'xen.host.network.errors', { 'network.interface.name': 'bond0', 'network.io.direction': 'transmit' }, 1, 'owner'],
    ['host', 'pif_aggr_rx', 'xen.host.network.aggregate.io', { 'network.io.direction': 'receive' }, 1, 'owner'],
    ['host', 'read_caa66549', 'xen.sr.io', { 'disk.io.direction': 'read' }, 1, 'sr8'],
    ['host', 'io_throughput_write_caa66549', 'xen.sr.io.throughput', { 'disk.io.direction': 'write' }, 1048576, 'sr8'],
    ['host', 'read_latency_caa66549', 'xen.sr.io.latency', { 'disk.io.direction': 'read' }, 1e-6, 'sr8'],
    ['host', 'latency_caa66549', 'xen.sr.io.latency.max', {}, 1e-6, 'sr8'],
    ['host', 'avgqu_sz_caa66549', 'xen.sr.queue.size', {}, 1, 'sr8'],
    ['host', 'sr_70039e15-abfe-85f7-a703-798b05110ee8_cache_hits', 'xen.sr.intellicache.hits', {}, 1, 'sr'],
    ['host', 'xapi_allocation_kib', 'xen.host.xapi.memory.allocation_rate', {}, 1024, 'owner'],
    ['host', 'pool_session_count', 'xen.pool.sessions', {}, 1, 'owner'],
    ['host', 'DCMI-power-reading', 'xen.host.power', {}, 1, 'owner'],
    ['host', 'xenopsd-xc_rss', 'xen.host.process.memory', { 'process.executable.name': 'xenopsd-xc', 'xen.process.memory.kind': 'rss' }, 1024, 'owner'],
    ['host', 'statefile/abc/latency', 'xen.host.ha.statefile.latency', { 'xen.ha.statefile.id': 'abc' }, 1, 'owner'],
    ['host', 'group_internal_calls', 'xen.host.xapi.caller.calls', { 'xen.xapi.caller_group': 'internal' }, 1, 'owner'],
    ['vm', 'cpu1', 'xen.vm.cpu.utilization', { 'cpu.logical_number': 1 }, 1, 'owner'],
    ['vm', 'memory', 'xen.vm.memory.allocated', {}, 1, 'owner'],
    ['vm', 'memory_internal_free', 'xen.vm.memory.internal_free', {}, 1024, 'owner'],
    ['vm', 'runstate_blocked', 'xen.vm.cpu.runstate', { 'xen.vm.runstate': 'blocked' }, 1, 'owner'],
    ['vm', 'vif_0_tx', 'xen.vm.network.io', { 'xen.vif.device': '0', 'network.io.direction': 'transmit' }, 1, 'owner'],
    ['vm', 'vbd_xvda_read', 'xen.vm.disk.io', { 'xen.vbd.device': 'xvda', 'disk.io.direction': 'read' }, 1, 'owner'],
    ['vm', 'vbd_xvdb_io_throughput_read', 'xen.vm.disk.io.throughput', { 'xen.vbd.device': 'xvdb', 'disk.io.direction': 'read' }, 1048576, 'owner'],
    ['vm', 'vbd_hda_write_latency', 'xen.vm.disk.io.latency', { 'xen.vbd.device': 'hda', 'disk.io.direction': 'write' }, 1e-6, 'owner'],
    ['vm', 'vbd_xvda_avgqu_sz', 'xen.vm.disk.queue.size', { 'xen.vbd.device': 'xvda' }, 1, 'owner'],
    ['host', 'something_new', 'xen.host.rrd.unmapped', { 'xen.rrd.data_source': 'something_new' }, 1, 'owner'],
    ['host', 'constructor', 'xen.host.rrd.unmapped', { 'xen.rrd.data_source': 'constructor' }, 1, 'owner'],
    ['vm', 'cpu0-C1', 'xen.vm.rrd.unmapped', { 'xen.rrd.data_source': 'cpu0-C1' }, 1, 'owner'],
    ['sr', 'physical_utilisation', 'xen.sr.rrd.unmapped', { 'xen.rrd.data_source': 'physical_utilisation' }, 1, 'owner'],
  ] as const)('%s %s → %s', (owner, ds, metric, attributes, scale, target) => {
    const m = matchDataSource(owner as OwnerKind, ds);
    expect(m.metric.name).toBe(metric);
    expect(m.attributes).toEqual(attributes);
    expect(m.scale).toBe(scale);
    expect(m.target.kind).toBe(target);
    expect(m.unmapped).toBe(metric.endsWith('.unmapped'));
    for (const key of Object.keys(m.attributes)) expect(m.metric.attributes).toContain(key);
  });

  it('the matcher memoises by owner and name', () => {
    const matcher = new DataSourceMatcher();
    expect(matcher.match('vm', 'cpu0')).toBe(matcher.match('vm', 'cpu0'));
    expect(matcher.match('host', 'cpu0')).not.toBe(matcher.match('vm', 'cpu0'));
    expect(matcher.size).toBe(2);
  });
});

describe('catalogue', () => {
  it('is consistent and every metric name is under xen.', () => {
    expect(catalogueProblems(catalogue)).toEqual([]);
    for (const name of Object.keys(metrics)) expect(name.startsWith('xen.')).toBe(true);
    for (const def of Object.values(metrics)) if (!def.name.startsWith('xen.rrd.')) expect(catalogue.sources).toHaveProperty([def.name]);
  });

  it('marks per-pCPU C/P-states and frequencies off by default, self-metrics on', () => {
    expect(metrics['xen.host.cpu.cstate.residency'].enabledByDefault).toBe(false);
    expect(metrics['xen.host.cpu.pstate.residency'].enabledByDefault).toBe(false);
    expect(metrics['xen.host.cpu.frequency'].enabledByDefault).toBe(false);
    expect(SELF_METRICS.every((m) => m.enabledByDefault)).toBe(true);
    expect(metrics['xen.rrd.scrape.parse_errors']).toMatchObject({ kind: 'sum', monotonic: true });
  });

  it('defineCatalogue rejects undeclared attributes and bad names', () => {
    const bad = defineMetrics({ 'Bad Name': { description: 'd', unit: '1', kind: 'gauge', valueType: 'double', attributes: ['nope'], enabledByDefault: true } });
    expect(() => defineCatalogue({ description: '', metrics: bad, attributes: {}, resourceAttributes: {}, resources: [] })).toThrow(
      expect.objectContaining({ code: 'CATALOGUE_ERR_INVALID' }),
    );
  });
});
