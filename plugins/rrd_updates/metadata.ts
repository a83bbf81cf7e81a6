// The rrd_updates receiver's metric catalogue: the single place its metric names, units, attributes and the
// data-source → metric rules live (notes/xapi.md §3.1/§3.2, naming per notes/peers.md §5). docs/metrics.md is
// generated from it. RRD values are already per-second rates or levels (notes §1.5), so every RRD metric is a
// gauge; conversions only change units (KiB → By, MiB/s → By/s, µs → s, MHz → Hz).

import {
  defineCatalogue,
  defineMetrics,
  type Attributes,
  type MetricDefinition,
} from '../../src/plugin-api/index.ts';
import { HOST_RESOURCE_DOC, SR_RESOURCE_DOC, VM_RESOURCE_DOC, resourceAttributeDocs } from '../../src/lib/xen-resources/index.ts';

const g = (description: string, unit: string, attributes: readonly string[] = [], enabledByDefault = true) =>
  ({ description, unit, kind: 'gauge', valueType: 'double', attributes, enabledByDefault }) as const;

const SR_POINT = ['xen.host.uuid', 'xen.sr.uuid_prefix'] as const;
const SR_DIR = ['disk.io.direction', ...SR_POINT] as const;
const VBD = ['xen.vbd.device'] as const;
const VBD_DIR = ['xen.vbd.device', 'disk.io.direction'] as const;

export const metrics = defineMetrics({
  // ---- host: CPU -----------------------------------------------------------------------------------------
  'xen.host.cpu.utilization': g('Fraction of time the physical CPU was busy (1 − idle), averaged over the RRD step.', '1', ['cpu.logical_number']),
  'xen.host.cpu.average_utilization': g('Busy fraction averaged over all physical CPUs of the host.', '1'),
  'xen.host.cpu.load': g('Running and runnable vCPUs per physical CPU (xcp-rrdd `hostload`).', '1'),
  'xen.host.control_domain.load_average': g('Load average of the control domain (dom0), as `/proc/loadavg`.', '1'),
  'xen.host.vcpus.running': g('vCPUs running on the host.', '{vcpu}'),
  'xen.host.domains.running': g('Domains running on the host.', '{domain}'),
  'xen.host.cpu.cstate.residency': g('Fraction of time the physical CPU spent in the C-state. One series per pCPU and state: off by default (cardinality).', '1', ['cpu.logical_number', 'xen.cpu.cstate'], false),
  'xen.host.cpu.pstate.residency': g('Fraction of time the physical CPU spent in the P-state. One series per pCPU and state: off by default (cardinality).', '1', ['cpu.logical_number', 'xen.cpu.pstate'], false),
  'xen.host.cpu.frequency': g('Average frequency of the physical CPU. One series per pCPU: off by default (cardinality).', 'Hz', ['cpu.logical_number'], false),
  // ---- host: memory ----------------------------------------------------------------------------------------
  'xen.host.memory.total': g('Physical memory of the host, as seen by Xen.', 'By'),
  'xen.host.memory.free': g('Free physical memory of the host, as seen by Xen.', 'By'),
  'xen.host.memory.reclaimed': g('Host memory reclaimed from VMs by squeezed (ballooning).', 'By'),
  'xen.host.memory.reclaimable': g('Host memory squeezed could reclaim from VMs.', 'By'),
  // ---- host: network, storage daemons, power -------------------------------------------------------------
  'xen.host.network.io': g('Bytes per second through a physical interface (PIF or bond).', 'By/s', ['network.interface.name', 'network.io.direction']),
  'xen.host.network.errors': g('Errors per second on a physical interface (non-default xcp-rrdd data source).', '{error}/s', ['network.interface.name', 'network.io.direction']),
  'xen.host.network.aggregate.io': g('Bytes per second summed over all physical interfaces (`pif_aggr_*`); do not add to xen.host.network.io.', 'By/s', ['network.io.direction']),
  'xen.host.tapdisks.low_memory_mode': g('Tapdisks in low-memory mode. xcp-rrdd records it as ABSOLUTE, so the value is the count divided by the ~5 s update interval.', '{tapdisk}'),
  'xen.host.power': g('Power drawn by the host (IPMI DCMI power reading).', 'W'),
  // ---- host: xapi and pool (master) ------------------------------------------------------------------------
  'xen.host.xapi.memory.usage': g('Memory used by the xapi process (OCaml heap).', 'By'),
  'xen.host.xapi.memory.free': g('Free memory in the xapi OCaml heap.', 'By'),
  'xen.host.xapi.memory.live': g('Live memory in the xapi OCaml heap.', 'By'),
  'xen.host.xapi.memory.allocation_rate': g('Memory allocated by xapi per second.', 'By/s'),
  'xen.host.xapi.open_fds': g('File descriptors open in xapi.', '{file_descriptor}'),
  'xen.host.xapi.caller.tokens': g('Rate-limiting tokens of a xapi caller group.', '{token}', ['xen.xapi.caller_group']),
  'xen.host.xapi.caller.calls': g('Calls per second of a xapi caller group.', '{call}/s', ['xen.xapi.caller_group']),
  'xen.pool.sessions': g('XAPI sessions in the pool. Reported by the pool master only, on its host resource.', '{session}'),
  'xen.pool.tasks': g('XAPI tasks in the pool. Reported by the pool master only, on its host resource.', '{task}'),
  'xen.pool.session.creation_rate': g('XAPI sessions created per second. Reported by the pool master only.', '{session}/s'),
  'xen.pool.vgpu.migration_rate': g('vGPU migrations per second. Reported by the pool master only.', '{migration}/s'),
  'xen.host.process.threads': g('Threads of a toolstack process (xenopsd memory statistics).', '{thread}', ['process.executable.name']),
  'xen.host.process.fd_table_size': g('File-descriptor table size of a toolstack process.', '{file_descriptor}', ['process.executable.name']),
  'xen.host.process.memory': g('Memory of a toolstack process by kind (VmSize, VmRSS, OCaml heap …), reported in KiB.', 'By', ['process.executable.name', 'xen.process.memory.kind']),
  'xen.host.process.ocaml.allocation_rate': g('OCaml allocation rate of a toolstack process.', 'By/s', ['process.executable.name']),
  'xen.host.ha.statefile.latency': g('HA state-file access latency (non-default data source).', 's', ['xen.ha.statefile.id']),
  'xen.host.ha.network.latency': g('HA heartbeat network latency (non-default data source).', 's'),
  'xen.host.ha.xapi_healthcheck.latency': g('HA xapi health-check latency (non-default data source).', 's'),
  // ---- SR I/O (host-owned `*_<sr8>` columns) ---------------------------------------------------------------
  'xen.sr.io': g('Bytes per second read from / written to the SR by one host.', 'By/s', SR_DIR),
  'xen.sr.io.throughput': g('I/O throughput of the SR from one host (blktap statistics, MiB/s converted).', 'By/s', SR_DIR),
  'xen.sr.io.throughput.total': g('Read + write throughput of the SR from one host (redundant with xen.sr.io.throughput).', 'By/s', SR_POINT, false),
  'xen.sr.operations': g('I/O requests per second to the SR from one host.', '{operation}/s', SR_DIR),
  'xen.sr.operations.total': g('Read + write requests per second (redundant with xen.sr.operations).', '{operation}/s', SR_POINT, false),
  'xen.sr.io.latency': g('Request latency on the SR from one host: the sum of the per-VDI averages (as xcp-rrdd reports it).', 's', SR_DIR),
  'xen.sr.io.latency.max': g('Highest average request latency among the VDIs of the SR on one host.', 's', SR_POINT),
  'xen.sr.io.wait': g('Time spent waiting for I/O per second on the SR from one host.', 's/s', SR_POINT),
  'xen.sr.requests.inflight': g('Requests in flight to the SR from one host.', '{request}', SR_POINT),
  'xen.sr.queue.size': g('Average request queue size (highest among the VDIs) on the SR from one host.', '{request}', SR_POINT),
  'xen.sr.intellicache.size': g('Size of the IntelliCache local cache of the SR on one host.', 'By', ['xen.host.uuid']),
  'xen.sr.intellicache.hits': g('IntelliCache hits per second on one host.', '{hit}/s', ['xen.host.uuid']),
  'xen.sr.intellicache.misses': g('IntelliCache misses per second on one host.', '{miss}/s', ['xen.host.uuid']),
  // ---- VM --------------------------------------------------------------------------------------------------
  'xen.vm.cpu.utilization': g('Fraction of time the vCPU was running.', '1', ['cpu.logical_number']),
  'xen.vm.cpu.average_utilization': g('Domain CPU time divided by its online vCPUs.', '1'),
  'xen.vm.cpu.runstate': g('Fraction of time the VM spent in the runstate (non-default data source).', '1', ['xen.vm.runstate']),
  'xen.vm.cpu.runnable': g('Fraction of time any / how many vCPUs were runnable but not running (non-default).', '1', ['xen.vm.runnable.kind']),
  'xen.vm.numa.nonaffine_vcpus': g('Fraction of vCPUs running outside their NUMA affinity (non-default).', '1'),
  'xen.vm.memory.allocated': g('Memory currently allocated to the domain.', 'By'),
  'xen.vm.memory.target': g('Balloon target of the domain.', 'By'),
  'xen.vm.memory.internal_free': g('Free memory inside the guest, from the guest agent (dom0: MemAvailable).', 'By'),
  'xen.vm.memory.numa_node': g('Memory of the domain on a NUMA node (non-default).', 'By', ['xen.numa.node']),
  'xen.vm.numa.nodes': g('NUMA nodes the domain has memory on (non-default).', '{node}'),
  'xen.vm.network.io': g('Bytes per second through a VIF, from the guest\'s point of view.', 'By/s', ['xen.vif.device', 'network.io.direction']),
  'xen.vm.network.errors': g('Errors per second on a VIF (non-default data source).', '{error}/s', ['xen.vif.device', 'network.io.direction']),
  'xen.vm.disk.io': g('Bytes per second read from / written to a virtual block device.', 'By/s', VBD_DIR),
  'xen.vm.disk.io.throughput': g('Throughput of a virtual block device (blktap statistics, MiB/s converted).', 'By/s', VBD_DIR),
  'xen.vm.disk.io.throughput.total': g('Read + write throughput of a VBD (redundant with xen.vm.disk.io.throughput).', 'By/s', VBD, false),
  'xen.vm.disk.operations': g('I/O requests per second on a virtual block device.', '{operation}/s', VBD_DIR),
  'xen.vm.disk.operations.total': g('Read + write requests per second on a VBD (redundant).', '{operation}/s', VBD, false),
  'xen.vm.disk.io.latency': g('Average request latency of a virtual block device.', 's', VBD_DIR),
  'xen.vm.disk.io.latency.overall': g('Average request latency of a virtual block device, reads and writes together.', 's', VBD),
  'xen.vm.disk.io.wait': g('Time spent waiting for I/O per second on a virtual block device.', 's/s', VBD),
  'xen.vm.disk.requests.inflight': g('Requests in flight on a virtual block device.', '{request}', VBD),
  'xen.vm.disk.queue.size': g('Average request queue size of a virtual block device.', '{request}', VBD),
  // ---- unknown data sources (one generic rule, never dropped) ----------------------------------------------
  'xen.host.rrd.unmapped': g('A host data source this agent has no mapping for; the raw value with the data-source name as an attribute.', '1', ['xen.rrd.data_source']),
  'xen.vm.rrd.unmapped': g('A VM data source this agent has no mapping for; the raw value with the data-source name as an attribute.', '1', ['xen.rrd.data_source']),
  'xen.sr.rrd.unmapped': g('An SR-owned data source (SMAPIv3 plugins); the raw value with the data-source name as an attribute.', '1', ['xen.rrd.data_source']),
  // ---- receiver self-metrics (per scraped host, recorded by the scraper) -----------------------------------
  'xen.rrd.scrape.up': { description: '1 if the last /rrd_updates request to the host succeeded and parsed, else 0.', unit: '1', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.duration': g('Duration of the last /rrd_updates request, parse and map for the host.', 's'),
  'xen.rrd.scrape.bytes': { description: 'Size of the last /rrd_updates response body.', unit: 'By', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.columns': { description: 'Legend columns in the last response.', unit: '{column}', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.rows': { description: 'Rows in the last response.', unit: '{row}', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.unmapped_columns': { description: 'Columns of the last response exported through the generic unmapped rule.', unit: '{column}', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.unresolved_sr_columns': { description: 'Host SR I/O columns of the last response whose 8-character SR prefix matched no SR, or several, with a PBD on the host.', unit: '{column}', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.parse_errors': { description: 'Responses from the host that could not be parsed, since the agent started.', unit: '{error}', kind: 'sum', valueType: 'int', monotonic: true, attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.cursor.lag': g('How far the receiver\'s cursor (the newest row delivered to every exporter) trailed the host\'s newest RRD row when the host was polled, in host time.', 's'),
  'xen.rrd.scrape.step': { description: 'Step of the rows in the last response. Larger than the configured resolution when xapi fell back to a coarser archive because the cursor lagged past the finer one.', unit: 's', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.step_fallbacks': { description: 'Responses from the host whose step was coarser than the configured resolution (rows exported with their real step), since the agent started.', unit: '{response}', kind: 'sum', valueType: 'int', monotonic: true, attributes: [], enabledByDefault: true },
  'xen.rrd.scrape.backfill.skipped': { description: 'Host time skipped because the cursor lagged more than max_backfill (rows older than that are not requested), since the agent started.', unit: 's', kind: 'sum', valueType: 'int', monotonic: true, attributes: [], enabledByDefault: true },
});

export type RrdMetricName = keyof typeof metrics;

/** Self-metrics the scraper records per host (same resource as the host's RRD metrics). */
export const SELF_METRICS = [
  metrics['xen.rrd.scrape.up'],
  metrics['xen.rrd.scrape.duration'],
  metrics['xen.rrd.scrape.bytes'],
  metrics['xen.rrd.scrape.columns'],
  metrics['xen.rrd.scrape.rows'],
  metrics['xen.rrd.scrape.unmapped_columns'],
  metrics['xen.rrd.scrape.unresolved_sr_columns'],
  metrics['xen.rrd.scrape.parse_errors'],
  metrics['xen.rrd.scrape.cursor.lag'],
  metrics['xen.rrd.scrape.step'],
  metrics['xen.rrd.scrape.step_fallbacks'],
  metrics['xen.rrd.scrape.backfill.skipped'],
] as const;

const DIRECTION = ['read', 'write'] as const;
const NET_DIRECTION = ['receive', 'transmit'] as const;

export const catalogue = defineCatalogue({
  description:
    'Reads `/rrd_updates` from every host of each configured pool (XML or any of the three JSON dialects) and exports ' +
    'host, VM and SR performance data. Values are RRD averages over the step (5 s by default): rates are already per ' +
    'second and levels are averaged, so every RRD metric is a gauge, converted to base units. Each RRD row becomes a ' +
    'data point with its own timestamp; NaN (and ±Infinity) means no point.',
  metrics,
  attributes: {
    'cpu.logical_number': { description: 'Physical CPU index on host metrics, vCPU index on VM metrics.', type: 'int' },
    'xen.cpu.cstate': { description: 'CPU idle state as named by xenpm (`C0`, `C1`, …).', type: 'string' },
    'xen.cpu.pstate': { description: 'CPU performance state as named by xenpm (`P0`, `P1`, …).', type: 'string' },
    'network.interface.name': { description: 'Linux device of the PIF in dom0 (`eth0`, `bond0`).', type: 'string' },
    'network.io.direction': { description: 'Direction of traffic.', type: 'string', values: NET_DIRECTION },
    'disk.io.direction': { description: 'Direction of I/O.', type: 'string', values: DIRECTION },
    'xen.host.uuid': { description: 'On SR metrics: the host whose tapdisks reported the value (sum over hosts for SR totals).', type: 'string' },
    'xen.sr.uuid_prefix': { description: 'Only when the 8-character SR prefix of a host SR I/O column matched no SR or several SRs with a PBD on the host: the raw prefix (the point then stays on the host resource).', type: 'string' },
    'xen.vbd.device': { description: 'Backend device name of the VBD (`xvda`, `hda`).', type: 'string' },
    'xen.vif.device': { description: 'VIF device number (`0`, `1`).', type: 'string' },
    'xen.vm.runstate': { description: 'Xen runstate group.', type: 'string', values: ['fullrun', 'full_contention', 'concurrency_hazard', 'blocked', 'partial_run', 'partial_contention'] },
    'xen.vm.runnable.kind': { description: '`any`: any vCPU runnable; `vcpus`: fraction of vCPUs runnable.', type: 'string', values: ['any', 'vcpus'] },
    'xen.numa.node': { description: 'NUMA node index.', type: 'int' },
    'xen.xapi.caller_group': { description: 'xapi caller group (rate limiting).', type: 'string' },
    'process.executable.name': { description: 'Executable of the toolstack process (e.g. `xenopsd-xc`).', type: 'string' },
    'xen.process.memory.kind': { description: 'Memory statistic of the process.', type: 'string', values: ['vmsize', 'vmlck', 'vmpin', 'vmdata', 'vmstk', 'vmpte', 'rss', 'ocaml_total', 'ocaml_maybe_live', 'ocaml_free', 'mem_extra'] },
    'xen.ha.statefile.id': { description: 'HA state-file identifier from the data-source name.', type: 'string' },
    'xen.rrd.data_source': { description: 'Raw data-source name as it appears in the legend.', type: 'string' },
  },
  resourceAttributes: resourceAttributeDocs([HOST_RESOURCE_DOC, VM_RESOURCE_DOC, SR_RESOURCE_DOC]),
  resources: [
    { ...HOST_RESOURCE_DOC, description: 'A XenServer / XCP-ng host (its own RRD, plus the self-metrics of its scrape).' },
    { ...VM_RESOURCE_DOC, description: 'A VM or control domain, reported by the host it runs on.' },
    { ...SR_RESOURCE_DOC, description: 'A storage repository; I/O values come from each host that has it attached.' },
  ],
  sources: {
    'xen.host.cpu.utilization': 'host `cpu<N>`',
    'xen.host.cpu.average_utilization': 'host `cpu_avg`',
    'xen.host.cpu.load': 'host `hostload`',
    'xen.host.control_domain.load_average': 'host `loadavg`',
    'xen.host.vcpus.running': 'host `running_vcpus`',
    'xen.host.domains.running': 'host `running_domains`',
    'xen.host.cpu.cstate.residency': 'host `cpu<N>-C<M>`',
    'xen.host.cpu.pstate.residency': 'host `cpu<N>-P<M>`',
    'xen.host.cpu.frequency': 'host `CPU<N>-avg-freq` (MHz × 10⁶)',
    'xen.host.memory.total': 'host `memory_total_kib` (KiB × 1024)',
    'xen.host.memory.free': 'host `memory_free_kib` (KiB × 1024)',
    'xen.host.memory.reclaimed': 'host `memory_reclaimed` (bytes)',
    'xen.host.memory.reclaimable': 'host `memory_reclaimed_max` (bytes)',
    'xen.host.network.io': 'host `pif_<dev>_rx|tx`',
    'xen.host.network.errors': 'host `pif_<dev>_rx_errors|tx_errors`',
    'xen.host.network.aggregate.io': 'host `pif_aggr_rx|tx`',
    'xen.host.tapdisks.low_memory_mode': 'host `Tapdisks_in_low_memory_mode`',
    'xen.host.power': 'host `DCMI-power-reading`',
    'xen.host.xapi.memory.usage': 'host `xapi_memory_usage_kib` (KiB × 1024)',
    'xen.host.xapi.memory.free': 'host `xapi_free_memory_kib` (KiB × 1024)',
    'xen.host.xapi.memory.live': 'host `xapi_live_memory_kib` (KiB × 1024)',
    'xen.host.xapi.memory.allocation_rate': 'host `xapi_allocation_kib` (KiB/s × 1024)',
    'xen.host.xapi.open_fds': 'host `xapi_open_fds`',
    'xen.host.xapi.caller.tokens': 'host `group_<g>_tokens`',
    'xen.host.xapi.caller.calls': 'host `group_<g>_calls`',
    'xen.pool.sessions': 'host `pool_session_count` (master)',
    'xen.pool.tasks': 'host `pool_task_count` (master)',
    'xen.pool.session.creation_rate': 'host `pool_session_creation_rate` (master)',
    'xen.pool.vgpu.migration_rate': 'host `pool_vgpu_migration_rate` (master)',
    'xen.host.process.threads': 'host `<exe>_threads`',
    'xen.host.process.fd_table_size': 'host `<exe>_fdsize`',
    'xen.host.process.memory': 'host `<exe>_<vmsize|vmlck|vmpin|vmdata|vmstk|vmpte|rss|ocaml_total|ocaml_maybe_live|ocaml_free|mem_extra>` (KiB × 1024)',
    'xen.host.process.ocaml.allocation_rate': 'host `<exe>_ocaml_allocation_rate` (KiB/s × 1024)',
    'xen.host.ha.statefile.latency': 'host `statefile/<id>/latency`',
    'xen.host.ha.network.latency': 'host `network/latency`',
    'xen.host.ha.xapi_healthcheck.latency': 'host `xapi_healthcheck/latency`',
    'xen.sr.io': 'host `read_<sr8>`, `write_<sr8>`',
    'xen.sr.io.throughput': 'host `io_throughput_read|write_<sr8>` (MiB/s × 2²⁰)',
    'xen.sr.io.throughput.total': 'host `io_throughput_total_<sr8>` (MiB/s × 2²⁰)',
    'xen.sr.operations': 'host `iops_read|write_<sr8>`',
    'xen.sr.operations.total': 'host `iops_total_<sr8>`',
    'xen.sr.io.latency': 'host `read_latency_<sr8>`, `write_latency_<sr8>` (µs × 10⁻⁶)',
    'xen.sr.io.latency.max': 'host `latency_<sr8>` (µs × 10⁻⁶)',
    'xen.sr.io.wait': 'host `iowait_<sr8>`',
    'xen.sr.requests.inflight': 'host `inflight_<sr8>`',
    'xen.sr.queue.size': 'host `avgqu_sz_<sr8>`',
    'xen.sr.intellicache.size': 'host `sr_<uuid>_cache_size`',
    'xen.sr.intellicache.hits': 'host `sr_<uuid>_cache_hits`',
    'xen.sr.intellicache.misses': 'host `sr_<uuid>_cache_misses`',
    'xen.vm.cpu.utilization': 'VM `cpu<N>`',
    'xen.vm.cpu.average_utilization': 'VM `cpu_usage`',
    'xen.vm.cpu.runstate': 'VM `runstate_<state>`',
    'xen.vm.cpu.runnable': 'VM `runnable_any`, `runnable_vcpus`',
    'xen.vm.numa.nonaffine_vcpus': 'VM `numa_node_nonaffine_vcpus`',
    'xen.vm.memory.allocated': 'VM `memory` (already bytes)',
    'xen.vm.memory.target': 'VM `memory_target` (bytes)',
    'xen.vm.memory.internal_free': 'VM `memory_internal_free` (KiB × 1024)',
    'xen.vm.memory.numa_node': 'VM `memory_numa_node_<n>`',
    'xen.vm.numa.nodes': 'VM `numa_nodes`',
    'xen.vm.network.io': 'VM `vif_<n>_rx|tx`',
    'xen.vm.network.errors': 'VM `vif_<n>_rx_errors|tx_errors`',
    'xen.vm.disk.io': 'VM `vbd_<dev>_read|write`',
    'xen.vm.disk.io.throughput': 'VM `vbd_<dev>_io_throughput_read|write` (MiB/s × 2²⁰)',
    'xen.vm.disk.io.throughput.total': 'VM `vbd_<dev>_io_throughput_total` (MiB/s × 2²⁰)',
    'xen.vm.disk.operations': 'VM `vbd_<dev>_iops_read|write`',
    'xen.vm.disk.operations.total': 'VM `vbd_<dev>_iops_total`',
    'xen.vm.disk.io.latency': 'VM `vbd_<dev>_read_latency|write_latency` (µs × 10⁻⁶)',
    'xen.vm.disk.io.latency.overall': 'VM `vbd_<dev>_latency` (µs × 10⁻⁶)',
    'xen.vm.disk.io.wait': 'VM `vbd_<dev>_iowait`',
    'xen.vm.disk.requests.inflight': 'VM `vbd_<dev>_inflight`',
    'xen.vm.disk.queue.size': 'VM `vbd_<dev>_avgqu_sz`',
    'xen.host.rrd.unmapped': 'any other host data source',
    'xen.vm.rrd.unmapped': 'any other VM data source',
    'xen.sr.rrd.unmapped': 'any `sr:`-owned data source',
  },
  notes: [
    'Unknown data sources are never dropped: they are exported as `xen.<owner>.rrd.unmapped` (unit `1`, raw value, ' +
      '`xen.rrd.data_source` = raw name) and counted in `xen.rrd.scrape.unmapped_columns`. Legend entries of an owner ' +
      'kind other than host/vm/sr go to `xen.host.rrd.unmapped` with the full legend string.',
    'Host SR I/O columns (`*_<sr8>`) are moved to the SR resource whose uuid starts with `<sr8>` among the SRs with a ' +
      'PBD on the reporting host, with `xen.host.uuid` on the point. No or several matches: the point stays on the host ' +
      'resource with `xen.sr.uuid_prefix`, counted in `xen.rrd.scrape.unresolved_sr_columns`.',
    'Only `AVERAGE` columns are mapped (the receiver requests `cf=AVERAGE`); other consolidation functions are counted ' +
      'and skipped.',
  ],
});

// ---------------------------------------------------------------------------------------------------------
// Data source → metric matching.

export type OwnerKind = 'host' | 'vm' | 'sr';

/** Where the points of a column go, besides the legend owner. */
export type DsTarget =
  | { readonly kind: 'owner' }
  /** Host-owned SR I/O column: resolve the SR by the 8-char uuid prefix among SRs with a PBD on the host. */
  | { readonly kind: 'sr8'; readonly prefix: string }
  /** IntelliCache column: the full SR uuid. */
  | { readonly kind: 'sr'; readonly uuid: string };

export interface DsMapping {
  readonly metric: MetricDefinition;
  /** Point attributes derived from the data-source name. */
  readonly attributes: Attributes;
  /** Multiplier to base units (1 when none). */
  readonly scale: number;
  readonly target: DsTarget;
  readonly unmapped: boolean;
  /** Identifies metric + attributes (precomputed so the mapper groups columns without building strings). */
  readonly key: string;
}

/** Stable key of an attribute set (sorted `k=v` pairs). */
export function attributesKey(attributes: Attributes): string {
  return Object.keys(attributes)
    .sort()
    .map((k) => `${k}=${String(attributes[k])}`)
    .join('\u0000');
}

const OWNER: DsTarget = Object.freeze({ kind: 'owner' });
const KIB = 1024;
const MIB = 1024 * 1024;
const MICRO = 1e-6;

type Build = (m: RegExpExecArray) => DsMapping;

function map(metric: MetricDefinition, attributes: Attributes = {}, scale = 1, target: DsTarget = OWNER): DsMapping {
  const key = `${metric.name}\u0000${attributesKey(attributes)}`;
  return Object.freeze({ metric, attributes: Object.freeze(attributes), scale, target, unmapped: false, key });
}

const M = metrics;
const dir = (rw: string): string => (rw === 'read' ? 'read' : 'write');
const netDir = (rxtx: string): string => (rxtx === 'rx' ? 'receive' : 'transmit');
const sr8 = (prefix: string): DsTarget => ({ kind: 'sr8', prefix });

const HOST_EXACT: Readonly<Record<string, DsMapping>> = {
  cpu_avg: map(M['xen.host.cpu.average_utilization']),
  hostload: map(M['xen.host.cpu.load']),
  loadavg: map(M['xen.host.control_domain.load_average']),
  running_vcpus: map(M['xen.host.vcpus.running']),
  running_domains: map(M['xen.host.domains.running']),
  memory_total_kib: map(M['xen.host.memory.total'], {}, KIB),
  memory_free_kib: map(M['xen.host.memory.free'], {}, KIB),
  memory_reclaimed: map(M['xen.host.memory.reclaimed']),
  memory_reclaimed_max: map(M['xen.host.memory.reclaimable']),
  pif_aggr_rx: map(M['xen.host.network.aggregate.io'], { 'network.io.direction': 'receive' }),
  pif_aggr_tx: map(M['xen.host.network.aggregate.io'], { 'network.io.direction': 'transmit' }),
  Tapdisks_in_low_memory_mode: map(M['xen.host.tapdisks.low_memory_mode']),
  'DCMI-power-reading': map(M['xen.host.power']),
  xapi_memory_usage_kib: map(M['xen.host.xapi.memory.usage'], {}, KIB),
  xapi_free_memory_kib: map(M['xen.host.xapi.memory.free'], {}, KIB),
  xapi_live_memory_kib: map(M['xen.host.xapi.memory.live'], {}, KIB),
  xapi_allocation_kib: map(M['xen.host.xapi.memory.allocation_rate'], {}, KIB),
  xapi_open_fds: map(M['xen.host.xapi.open_fds']),
  pool_session_count: map(M['xen.pool.sessions']),
  pool_task_count: map(M['xen.pool.tasks']),
  pool_session_creation_rate: map(M['xen.pool.session.creation_rate']),
  pool_vgpu_migration_rate: map(M['xen.pool.vgpu.migration_rate']),
  'network/latency': map(M['xen.host.ha.network.latency']),
  'xapi_healthcheck/latency': map(M['xen.host.ha.xapi_healthcheck.latency']),
};

const SR8 = '([0-9a-f]{8})';
const UUID = '([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})';
const PROCESS_MEMORY = 'vmsize|vmlck|vmpin|vmdata|vmstk|vmpte|rss|ocaml_total|ocaml_maybe_live|ocaml_free|mem_extra';

// Anchored patterns, so their order only matters where two could match the same name (none do today).
const HOST_RULES: ReadonlyArray<readonly [RegExp, Build]> = [
  [/^cpu(\d+)$/, (m) => map(M['xen.host.cpu.utilization'], { 'cpu.logical_number': Number(m[1]) })],
  [/^cpu(\d+)-C(\d+)$/, (m) => map(M['xen.host.cpu.cstate.residency'], { 'cpu.logical_number': Number(m[1]), 'xen.cpu.cstate': `C${m[2]}` })],
  [/^cpu(\d+)-P(\d+)$/, (m) => map(M['xen.host.cpu.pstate.residency'], { 'cpu.logical_number': Number(m[1]), 'xen.cpu.pstate': `P${m[2]}` })],
  [/^CPU(\d+)-avg-freq$/, (m) => map(M['xen.host.cpu.frequency'], { 'cpu.logical_number': Number(m[1]) }, 1e6)],
  [/^pif_(.+)_(rx|tx)_errors$/, (m) => map(M['xen.host.network.errors'], { 'network.interface.name': m[1]!, 'network.io.direction': netDir(m[2]!) })],
  [/^pif_(.+)_(rx|tx)$/, (m) => map(M['xen.host.network.io'], { 'network.interface.name': m[1]!, 'network.io.direction': netDir(m[2]!) })],
  [new RegExp(`^(read|write)_${SR8}$`), (m) => map(M['xen.sr.io'], { 'disk.io.direction': dir(m[1]!) }, 1, sr8(m[2]!))],
  [new RegExp(`^(read|write)_latency_${SR8}$`), (m) => map(M['xen.sr.io.latency'], { 'disk.io.direction': dir(m[1]!) }, MICRO, sr8(m[2]!))],
  [new RegExp(`^io_throughput_(read|write)_${SR8}$`), (m) => map(M['xen.sr.io.throughput'], { 'disk.io.direction': dir(m[1]!) }, MIB, sr8(m[2]!))],
  [new RegExp(`^io_throughput_total_${SR8}$`), (m) => map(M['xen.sr.io.throughput.total'], {}, MIB, sr8(m[1]!))],
  [new RegExp(`^iops_(read|write)_${SR8}$`), (m) => map(M['xen.sr.operations'], { 'disk.io.direction': dir(m[1]!) }, 1, sr8(m[2]!))],
  [new RegExp(`^iops_total_${SR8}$`), (m) => map(M['xen.sr.operations.total'], {}, 1, sr8(m[1]!))],
  [new RegExp(`^iowait_${SR8}$`), (m) => map(M['xen.sr.io.wait'], {}, 1, sr8(m[1]!))],
  [new RegExp(`^inflight_${SR8}$`), (m) => map(M['xen.sr.requests.inflight'], {}, 1, sr8(m[1]!))],
  [new RegExp(`^latency_${SR8}$`), (m) => map(M['xen.sr.io.latency.max'], {}, MICRO, sr8(m[1]!))],
  [new RegExp(`^avgqu_sz_${SR8}$`), (m) => map(M['xen.sr.queue.size'], {}, 1, sr8(m[1]!))],
  [new RegExp(`^sr_${UUID}_cache_size$`), (m) => map(M['xen.sr.intellicache.size'], {}, 1, { kind: 'sr', uuid: m[1]! })],
  [new RegExp(`^sr_${UUID}_cache_hits$`), (m) => map(M['xen.sr.intellicache.hits'], {}, 1, { kind: 'sr', uuid: m[1]! })],
  [new RegExp(`^sr_${UUID}_cache_misses$`), (m) => map(M['xen.sr.intellicache.misses'], {}, 1, { kind: 'sr', uuid: m[1]! })],
  [/^group_(.+)_tokens$/, (m) => map(M['xen.host.xapi.caller.tokens'], { 'xen.xapi.caller_group': m[1]! })],
  [/^group_(.+)_calls$/, (m) => map(M['xen.host.xapi.caller.calls'], { 'xen.xapi.caller_group': m[1]! })],
  [/^statefile\/(.+)\/latency$/, (m) => map(M['xen.host.ha.statefile.latency'], { 'xen.ha.statefile.id': m[1]! })],
  [/^(.+)_threads$/, (m) => map(M['xen.host.process.threads'], { 'process.executable.name': m[1]! })],
  [/^(.+)_fdsize$/, (m) => map(M['xen.host.process.fd_table_size'], { 'process.executable.name': m[1]! })],
  [new RegExp(`^(.+)_(${PROCESS_MEMORY})$`), (m) => map(M['xen.host.process.memory'], { 'process.executable.name': m[1]!, 'xen.process.memory.kind': m[2]! }, KIB)],
  [/^(.+)_ocaml_allocation_rate$/, (m) => map(M['xen.host.process.ocaml.allocation_rate'], { 'process.executable.name': m[1]! }, KIB)],
];

const VM_EXACT: Readonly<Record<string, DsMapping>> = {
  cpu_usage: map(M['xen.vm.cpu.average_utilization']),
  memory: map(M['xen.vm.memory.allocated']),
  memory_target: map(M['xen.vm.memory.target']),
  memory_internal_free: map(M['xen.vm.memory.internal_free'], {}, KIB),
  numa_nodes: map(M['xen.vm.numa.nodes']),
  runnable_any: map(M['xen.vm.cpu.runnable'], { 'xen.vm.runnable.kind': 'any' }),
  runnable_vcpus: map(M['xen.vm.cpu.runnable'], { 'xen.vm.runnable.kind': 'vcpus' }),
  numa_node_nonaffine_vcpus: map(M['xen.vm.numa.nonaffine_vcpus']),
};

const VBD_DEV = '([^_]+)';
const VM_RULES: ReadonlyArray<readonly [RegExp, Build]> = [
  [/^cpu(\d+)$/, (m) => map(M['xen.vm.cpu.utilization'], { 'cpu.logical_number': Number(m[1]) })],
  [/^runstate_(fullrun|full_contention|concurrency_hazard|blocked|partial_run|partial_contention)$/, (m) => map(M['xen.vm.cpu.runstate'], { 'xen.vm.runstate': m[1]! })],
  [/^memory_numa_node_(\d+)$/, (m) => map(M['xen.vm.memory.numa_node'], { 'xen.numa.node': Number(m[1]) })],
  [/^vif_(\d+)_(rx|tx)$/, (m) => map(M['xen.vm.network.io'], { 'xen.vif.device': m[1]!, 'network.io.direction': netDir(m[2]!) })],
  [/^vif_(\d+)_(rx|tx)_errors$/, (m) => map(M['xen.vm.network.errors'], { 'xen.vif.device': m[1]!, 'network.io.direction': netDir(m[2]!) })],
  [new RegExp(`^vbd_${VBD_DEV}_(read|write)$`), (m) => map(M['xen.vm.disk.io'], { 'xen.vbd.device': m[1]!, 'disk.io.direction': dir(m[2]!) })],
  [new RegExp(`^vbd_${VBD_DEV}_(read|write)_latency$`), (m) => map(M['xen.vm.disk.io.latency'], { 'xen.vbd.device': m[1]!, 'disk.io.direction': dir(m[2]!) }, MICRO)],
  [new RegExp(`^vbd_${VBD_DEV}_io_throughput_(read|write)$`), (m) => map(M['xen.vm.disk.io.throughput'], { 'xen.vbd.device': m[1]!, 'disk.io.direction': dir(m[2]!) }, MIB)],
  [new RegExp(`^vbd_${VBD_DEV}_io_throughput_total$`), (m) => map(M['xen.vm.disk.io.throughput.total'], { 'xen.vbd.device': m[1]! }, MIB)],
  [new RegExp(`^vbd_${VBD_DEV}_iops_(read|write)$`), (m) => map(M['xen.vm.disk.operations'], { 'xen.vbd.device': m[1]!, 'disk.io.direction': dir(m[2]!) })],
  [new RegExp(`^vbd_${VBD_DEV}_iops_total$`), (m) => map(M['xen.vm.disk.operations.total'], { 'xen.vbd.device': m[1]! })],
  [new RegExp(`^vbd_${VBD_DEV}_iowait$`), (m) => map(M['xen.vm.disk.io.wait'], { 'xen.vbd.device': m[1]! })],
  [new RegExp(`^vbd_${VBD_DEV}_inflight$`), (m) => map(M['xen.vm.disk.requests.inflight'], { 'xen.vbd.device': m[1]! })],
  [new RegExp(`^vbd_${VBD_DEV}_latency$`), (m) => map(M['xen.vm.disk.io.latency.overall'], { 'xen.vbd.device': m[1]! }, MICRO)],
  [new RegExp(`^vbd_${VBD_DEV}_avgqu_sz$`), (m) => map(M['xen.vm.disk.queue.size'], { 'xen.vbd.device': m[1]! })],
];

const UNMAPPED_METRIC: Readonly<Record<OwnerKind, MetricDefinition>> = {
  host: M['xen.host.rrd.unmapped'],
  vm: M['xen.vm.rrd.unmapped'],
  sr: M['xen.sr.rrd.unmapped'],
};

/** The mapping rule for one data source of one owner kind (uncached; see DataSourceMatcher). */
export function matchDataSource(owner: OwnerKind, ds: string): DsMapping {
  const exact = owner === 'host' ? HOST_EXACT : owner === 'vm' ? VM_EXACT : undefined;
  if (exact && Object.hasOwn(exact, ds)) return exact[ds]!;
  const rules = owner === 'host' ? HOST_RULES : owner === 'vm' ? VM_RULES : [];
  for (const [pattern, build] of rules) {
    const m = pattern.exec(ds);
    if (m) return build(m);
  }
  return Object.freeze({
    metric: UNMAPPED_METRIC[owner],
    attributes: Object.freeze({ 'xen.rrd.data_source': ds }),
    scale: 1,
    target: OWNER,
    unmapped: true,
    key: `${UNMAPPED_METRIC[owner].name}\u0000xen.rrd.data_source=${ds}`,
  });
}

/**
 * Memoises `matchDataSource`. The same legend strings recur every cycle and VM data-source names repeat across
 * VMs, so the key is owner + ds name (not the uuid). One matcher per receiver instance; bounded so a pathological
 * stream of new names cannot grow it without limit.
 */
export class DataSourceMatcher {
  private readonly _byOwner = { host: new Map<string, DsMapping>(), vm: new Map<string, DsMapping>(), sr: new Map<string, DsMapping>() };
  private readonly _maxEntries: number;

  constructor(maxEntries = 50_000) {
    this._maxEntries = maxEntries;
  }

  match(owner: OwnerKind, ds: string): DsMapping {
    const cache = this._byOwner[owner];
    let hit = cache.get(ds);
    if (!hit) {
      hit = matchDataSource(owner, ds);
      if (cache.size >= this._maxEntries) cache.clear();
      cache.set(ds, hit);
    }
    return hit;
  }

  get size(): number {
    return this._byOwner.host.size + this._byOwner.vm.size + this._byOwner.sr.size;
  }
}
