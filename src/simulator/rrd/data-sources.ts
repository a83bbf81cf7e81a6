// Data-source names, types and ranges (notes/xapi.md §3.1 host, §3.2 VM), in xcp-rrdd plugin registration order.
import type { DsDef, DsType } from './archive.ts';
import type { RrdHostSpec, RrdVmSpec } from './contract.ts';

const INF = Infinity;

function ds(name: string, type: DsType, min = -INF, max = INF): DsDef {
  return { name, type, min, max };
}

/** The 14 per-disk I/O metrics, in order; host SR columns are `<m>_<sr8>`, VM columns `vbd_<dev>_<m>`. */
export const IO_METRICS = [
  'read',
  'write',
  'read_latency',
  'write_latency',
  'io_throughput_read',
  'io_throughput_write',
  'io_throughput_total',
  'iops_read',
  'iops_write',
  'iops_total',
  'iowait',
  'inflight',
  'latency',
  'avgqu_sz',
] as const;
export const IO_METRIC_COUNT = IO_METRICS.length;

const IO_TYPES: Record<(typeof IO_METRICS)[number], DsType> = {
  read: 'DERIVE',
  write: 'DERIVE',
  read_latency: 'GAUGE',
  write_latency: 'GAUGE',
  io_throughput_read: 'ABSOLUTE',
  io_throughput_write: 'ABSOLUTE',
  io_throughput_total: 'ABSOLUTE',
  iops_read: 'ABSOLUTE',
  iops_write: 'ABSOLUTE',
  iops_total: 'ABSOLUTE',
  iowait: 'ABSOLUTE',
  inflight: 'GAUGE',
  latency: 'GAUGE',
  avgqu_sz: 'GAUGE',
};

/** How a host SR column aggregates the VBD values on that SR (rrdp-iostat: `++` sums, max for latency/queue). */
export const IO_AGGREGATE_MAX: readonly boolean[] = IO_METRICS.map((m) => m === 'latency' || m === 'avgqu_sz');

function ioDs(name: string, metric: (typeof IO_METRICS)[number]): DsDef {
  const ty = IO_TYPES[metric];
  return ds(name, ty, ty === 'GAUGE' && metric !== 'inflight' && metric !== 'avgqu_sz' ? -INF : 0);
}

export function sr8(srUuid: string): string {
  return srUuid.slice(0, 8);
}

/** Host data sources for a spec, in registration order. */
export function hostDataSources(h: RrdHostSpec): DsDef[] {
  const out: DsDef[] = [ds('memory_reclaimed_max', 'GAUGE'), ds('memory_reclaimed', 'GAUGE')];
  for (let c = 0; c < h.cpuCount; c++) {
    for (let s = 0; s < 3; s++) out.push(ds(`cpu${c}-C${s}`, 'DERIVE', 0, 1));
    for (let s = 0; s < 3; s++) out.push(ds(`cpu${c}-P${s}`, 'DERIVE', 0, 1));
    out.push(ds(`CPU${c}-avg-freq`, 'GAUGE'));
  }
  out.push(ds('memory_total_kib', 'GAUGE', 0), ds('memory_free_kib', 'GAUGE', 0), ds('cpu_avg', 'DERIVE', 0, 1));
  for (let c = 0; c < h.cpuCount; c++) out.push(ds(`cpu${c}`, 'DERIVE', 0, 1));
  out.push(ds('loadavg', 'GAUGE'), ds('hostload', 'GAUGE', 0), ds('running_vcpus', 'GAUGE'), ds('running_domains', 'GAUGE'));
  out.push(ds('pif_aggr_rx', 'DERIVE', 0), ds('pif_aggr_tx', 'DERIVE', 0));
  for (const dev of h.pifDevices) out.push(ds(`pif_${dev}_rx`, 'DERIVE', 0), ds(`pif_${dev}_tx`, 'DERIVE', 0));
  out.push(ds('Tapdisks_in_low_memory_mode', 'ABSOLUTE'));
  for (const name of hostSrSuffixes(h)) for (const m of IO_METRICS) out.push(ioDs(`${m}_${name}`, m));
  out.push(
    ds('xapi_memory_usage_kib', 'GAUGE'),
    ds('xapi_free_memory_kib', 'GAUGE'),
    ds('xapi_live_memory_kib', 'GAUGE'),
    ds('xapi_allocation_kib', 'DERIVE'),
    ds('xapi_open_fds', 'GAUGE'),
  );
  if (h.isMaster) out.push(ds('pool_session_count', 'GAUGE'), ds('pool_task_count', 'GAUGE'), ds('pool_session_creation_rate', 'DERIVE'));
  for (const sr of h.intellicacheSrUuids) {
    out.push(ds(`sr_${sr}_cache_size`, 'GAUGE'), ds(`sr_${sr}_cache_hits`, 'GAUGE'), ds(`sr_${sr}_cache_misses`, 'GAUGE'));
  }
  return out;
}

/** Distinct 8-character SR suffixes of a host, in attachment order (two SRs sharing a prefix share columns). */
export function hostSrSuffixes(h: RrdHostSpec): string[] {
  const seen = new Set<string>();
  for (const sr of h.attachedSrUuids) seen.add(sr8(sr));
  return [...seen];
}

export function vmDataSources(v: RrdVmSpec): DsDef[] {
  const out: DsDef[] = [];
  for (let c = 0; c < v.vcpus; c++) out.push(ds(`cpu${c}`, 'DERIVE', 0, 1));
  out.push(ds('cpu_usage', 'DERIVE', 0, 1), ds('memory', 'GAUGE', 0), ds('memory_target', 'GAUGE'));
  if (v.hasGuestAgent || v.isControlDomain) out.push(ds('memory_internal_free', 'GAUGE'));
  for (const dev of v.vifDevices) out.push(ds(`vif_${dev}_rx`, 'DERIVE', 0), ds(`vif_${dev}_tx`, 'DERIVE', 0));
  for (const dev of v.vbdDevices) for (const m of IO_METRICS) out.push(ioDs(`vbd_${dev}_${m}`, m));
  return out;
}

/** SR-owned RRD (only with the `srOwnedRrds` option; stock SMAPIv1 SRs register none). */
export function srDataSources(): DsDef[] {
  return [ds('size', 'GAUGE', 0), ds('physical_utilisation', 'GAUGE', 0)];
}
