// Per-owner state: an RRD plus the column map of its current devices and the per-PDP value generator.
// Values are computed straight into the RRD's PDP row (no per-sample objects). VMs are generated first, each adding
// its activity to its host's accumulators, then the host derives CPU, network, SR I/O and memory from those sums.
import { Rrd, TIMESTEP } from './archive.ts';
import type { DsDef } from './archive.ts';
import type { RrdHostSpec, RrdVmSpec } from './contract.ts';
import { IO_AGGREGATE_MAX, IO_METRIC_COUNT, hostDataSources, hostSrSuffixes, sr8, srDataSources, vmDataSources } from './data-sources.ts';
import { PROFILE_IO, hash01, hashString, loadAt, loadShape, smoothNoise } from './signals.ts';
import type { LoadShape } from './signals.ts';

const NONE = -1;
const KIB = 1024;
const MIB = 1024 * 1024;

/** Adds the DSs an owner should have now, and returns name → column for all of them. */
function reconcile(rrd: Rrd, wanted: readonly DsDef[]): Map<string, number> {
  const byName = new Map<string, number>();
  for (let c = 0; c < rrd.dss.length; c++) byName.set(rrd.dss[c]!.name, c);
  for (const d of wanted) if (!byName.has(d.name)) byName.set(d.name, rrd.addDs(d));
  return byName;
}

function col(map: Map<string, number>, name: string): number {
  return map.get(name) ?? NONE;
}

export class VmState {
  readonly uuid: string;
  readonly key: number;
  readonly rrd: Rrd;
  spec: RrdVmSpec;
  specKey = '';
  shape: LoadShape;
  host: HostState | null = null;
  /** Iteration order of xcp-rrdd's VM hash table; stable per uuid. */
  readonly order: number;
  private _pdp: Float64Array;
  private _cpuCols = new Int32Array(0);
  private _cpuUsageCol = NONE;
  private _memCols = new Int32Array(3);
  private _vifCols = new Int32Array(0);
  private _vbdCols = new Int32Array(0);
  /** Per VBD: index of its SR in the host's SR-suffix list, or -1 (filled by the host). */
  vbdSrIndex = new Int32Array(0);

  constructor(spec: RrdVmSpec, seed: number, minMax: boolean, createdAt: number) {
    this.uuid = spec.uuid;
    this.key = hashString(spec.uuid, seed);
    this.order = hashString(spec.uuid, 0x5eed);
    this.spec = spec;
    this.shape = loadShape(spec.profile, this.key);
    this.rrd = new Rrd(vmDataSources(spec), minMax, createdAt, 0);
    this._pdp = new Float64Array(0);
    this.setSpec(spec);
  }

  static keyOf(v: RrdVmSpec): string {
    const vbd = v.vbdDevices.map((d) => `${d}:${v.vbdSrUuids[d] ?? ''}`).join(',');
    return `${v.vcpus}|${v.hasGuestAgent ? 1 : 0}|${v.isControlDomain ? 1 : 0}|${v.memoryBytes}|${v.profile}|${v.vifDevices.join(',')}|${vbd}`;
  }

  /** Returns true when the column set changed. */
  setSpec(spec: RrdVmSpec): boolean {
    const key = VmState.keyOf(spec);
    this.spec = spec;
    if (key === this.specKey) return false;
    this.specKey = key;
    if (spec.profile !== this.shape.profile) this.shape = loadShape(spec.profile, this.key);
    const before = this.rrd.version;
    const map = reconcile(this.rrd, vmDataSources(spec));
    this._cpuCols = Int32Array.from({ length: spec.vcpus }, (_, i) => col(map, `cpu${i}`));
    this._cpuUsageCol = col(map, 'cpu_usage');
    this._memCols = Int32Array.of(col(map, 'memory'), col(map, 'memory_target'), spec.hasGuestAgent || spec.isControlDomain ? col(map, 'memory_internal_free') : NONE);
    this._vifCols = Int32Array.from(spec.vifDevices.flatMap((d) => [col(map, `vif_${d}_rx`), col(map, `vif_${d}_tx`)]));
    const vbd: number[] = [];
    for (const d of spec.vbdDevices) vbd.push(col(map, `vbd_${d}_read`));
    this._vbdCols = Int32Array.from(vbd);
    this.vbdSrIndex = new Int32Array(spec.vbdDevices.length).fill(NONE);
    if (this._pdp.length < this.rrd.columnCount) this._pdp = new Float64Array(this.rrd.columnCount + 8);
    return this.rrd.version !== before;
  }

  /** Generates the PDP ending at t, feeds the RRD and adds this VM's activity to its host's accumulators. */
  step(t: number, acc: HostAccumulators | null): void {
    const p = this._pdp;
    const n = this.rrd.columnCount;
    p.fill(Number.NaN, 0, n);
    const spec = this.spec;
    const k = this.key;
    const load = loadAt(this.shape, t);
    const x = t / TIMESTEP;

    // vCPUs: the load spread unevenly; batch jobs are mostly single-threaded.
    const vcpus = this._cpuCols.length;
    let cpuSum = 0;
    for (let i = 0; i < vcpus; i++) {
      const weight = spec.profile === 'batch' ? (i === 0 ? 1 : 0.25) : 0.7 + 0.6 * hash01(k, 200 + i, 0);
      let v = load * weight + 0.01 * (smoothNoise(k, 300 + i, x / 3) - 0.5);
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      p[this._cpuCols[i]!] = v;
      cpuSum += Math.fround(v);
    }
    const usage = vcpus > 0 ? cpuSum / vcpus : 0;
    if (this._cpuUsageCol !== NONE) p[this._cpuUsageCol] = usage;

    const mem = spec.memoryBytes;
    p[this._memCols[0]!] = mem;
    p[this._memCols[1]!] = mem;
    if (this._memCols[2] !== NONE) {
      const used = 0.35 + 0.3 * load + 0.1 * smoothNoise(k, 400, x / 60);
      p[this._memCols[2]!] = Math.round(((1 - Math.min(0.95, used)) * mem) / KIB);
    }

    const io = PROFILE_IO[spec.profile];
    let rxSum = 0;
    let txSum = 0;
    for (let i = 0; i < this._vifCols.length; i += 2) {
      const share = i === 0 ? 1 : 0.2;
      const rx = io.net * share * (0.02 + load) * (0.7 + 0.6 * smoothNoise(k, 500 + i, x / 2));
      const tx = io.net * share * (0.02 + load) * (0.5 + 0.8 * smoothNoise(k, 501 + i, x / 2)) * 0.6;
      p[this._vifCols[i]!] = rx;
      p[this._vifCols[i + 1]!] = tx;
      rxSum += rx;
      txSum += tx;
    }

    const nVbd = this._vbdCols.length;
    for (let d = 0; d < nVbd; d++) {
      const base = this._vbdCols[d]!;
      const share = d === 0 ? 1 : 0.35;
      const iops = io.iops * share * (0.01 + load) * (0.6 + 0.8 * smoothNoise(k, 600 + d, x / 2));
      const iopsRead = iops * io.readShare;
      const iopsWrite = iops - iopsRead;
      const size = io.ioSizeKiB * KIB * (0.8 + 0.4 * hash01(k, 700 + d, 0));
      const readBps = iopsRead * size;
      const writeBps = iopsWrite * size * 1.2;
      const readLat = (180 + 400 * hash01(k, 710 + d, 0)) * (1 + 2.5 * load * load);
      const writeLat = (250 + 500 * hash01(k, 720 + d, 0)) * (1 + 3 * load * load);
      const latency = iops > 0 ? (readLat * iopsRead + writeLat * iopsWrite) / iops : 0;
      const queue = (iops * latency) / 1e6;
      p[base] = readBps;
      p[base + 1] = writeBps;
      p[base + 2] = readLat;
      p[base + 3] = writeLat;
      p[base + 4] = readBps / MIB;
      p[base + 5] = writeBps / MIB;
      p[base + 6] = (readBps + writeBps) / MIB;
      p[base + 7] = iopsRead;
      p[base + 8] = iopsWrite;
      p[base + 9] = iops;
      p[base + 10] = queue;
      p[base + 11] = Math.round(queue);
      p[base + 12] = latency;
      p[base + 13] = queue;
      if (acc !== null) {
        const sr = this.vbdSrIndex[d]!;
        if (sr !== NONE) {
          const a = acc.sr;
          const o = sr * IO_METRIC_COUNT;
          for (let m = 0; m < IO_METRIC_COUNT; m++) {
            const v = p[base + m]!;
            a[o + m] = IO_AGGREGATE_MAX[m] ? Math.max(a[o + m]!, v) : a[o + m]! + v;
          }
          acc.readIops += iopsRead;
        }
      }
    }

    if (acc !== null) {
      acc.busyVcpus += cpuSum;
      acc.vcpus += vcpus;
      acc.domains += 1;
      acc.rx += rxSum;
      acc.tx += txSum;
      acc.memKib += mem / KIB;
    }
    this.rrd.update(t, p);
  }
}

export interface HostAccumulators {
  busyVcpus: number;
  vcpus: number;
  domains: number;
  rx: number;
  tx: number;
  memKib: number;
  readIops: number;
  /** IO_METRIC_COUNT values per host SR suffix. */
  sr: Float64Array;
}

export class HostState {
  readonly uuid: string;
  readonly key: number;
  readonly rrd: Rrd;
  spec: RrdHostSpec;
  specKey = '';
  vms: VmState[] = [];
  srSuffixes: string[] = [];
  readonly acc: HostAccumulators = { busyVcpus: 0, vcpus: 0, domains: 0, rx: 0, tx: 0, memKib: 0, readIops: 0, sr: new Float64Array(0) };
  private _pdp = new Float64Array(0);
  private _pcpuCols = new Int32Array(0); // per pCPU: C0, then cpuN column at +cpuCount stride via _cpuCols
  private _cpuCols = new Int32Array(0);
  private _fixed = new Map<string, number>();
  private _pifCols = new Int32Array(0);
  private _vmTrafficPif = new Float64Array(0);
  private _srCols = new Int32Array(0);
  private _cacheCols = new Int32Array(0);
  private readonly _nominalMhz: number;

  constructor(spec: RrdHostSpec, seed: number, minMax: boolean, createdAt: number) {
    this.uuid = spec.uuid;
    this.key = hashString(spec.uuid, seed);
    this.spec = spec;
    this._nominalMhz = 2000 + 100 * Math.floor(hash01(this.key, 1, 0) * 12);
    this.rrd = new Rrd(hostDataSources(spec), minMax, createdAt, 0);
    this.setSpec(spec);
  }

  static keyOf(h: RrdHostSpec): string {
    return `${h.isMaster ? 1 : 0}|${h.cpuCount}|${h.memoryTotalBytes}|${h.pifDevices.join(',')}|${h.attachedSrUuids.join(',')}|${h.intellicacheSrUuids.join(',')}`;
  }

  setSpec(spec: RrdHostSpec): boolean {
    const key = HostState.keyOf(spec);
    this.spec = spec;
    if (key === this.specKey) return false;
    this.specKey = key;
    const before = this.rrd.version;
    const map = reconcile(this.rrd, hostDataSources(spec));
    this._pcpuCols = Int32Array.from({ length: spec.cpuCount }, (_, c) => col(map, `cpu${c}-C0`));
    this._cpuCols = Int32Array.from({ length: spec.cpuCount }, (_, c) => col(map, `cpu${c}`));
    this._fixed = map;
    this._pifCols = Int32Array.from(spec.pifDevices.flatMap((d) => [col(map, `pif_${d}_rx`), col(map, `pif_${d}_tx`)]));
    // Guest traffic rides the bonds if there are any, else every NIC but the management one (the first).
    const bonds = spec.pifDevices.map((d) => d.startsWith('bond'));
    const anyBond = bonds.some(Boolean);
    this._vmTrafficPif = Float64Array.from(spec.pifDevices, (_, i) => (anyBond ? (bonds[i] ? 1 : 0) : spec.pifDevices.length === 1 || i > 0 ? 1 : 0));
    const sum = this._vmTrafficPif.reduce((a, b) => a + b, 0);
    for (let i = 0; i < this._vmTrafficPif.length; i++) this._vmTrafficPif[i] = this._vmTrafficPif[i]! / (sum || 1);
    this.srSuffixes = hostSrSuffixes(spec);
    this._srCols = Int32Array.from(this.srSuffixes, (s) => col(map, `read_${s}`));
    this.acc.sr = new Float64Array(this.srSuffixes.length * IO_METRIC_COUNT);
    this._cacheCols = Int32Array.from(spec.intellicacheSrUuids, (u) => col(map, `sr_${u}_cache_size`));
    if (this._pdp.length < this.rrd.columnCount) this._pdp = new Float64Array(this.rrd.columnCount + 16);
    return this.rrd.version !== before;
  }

  /** Points each resident VM's VBDs at this host's SR suffix columns. */
  bindVms(): void {
    const index = new Map<string, number>();
    this.srSuffixes.forEach((s, i) => index.set(s, i));
    for (const vm of this.vms) {
      vm.spec.vbdDevices.forEach((d, i) => {
        const sr = vm.spec.vbdSrUuids[d];
        vm.vbdSrIndex[i] = sr === undefined ? NONE : (index.get(sr8(sr)) ?? NONE);
      });
    }
  }

  resetAccumulators(): void {
    const a = this.acc;
    a.busyVcpus = a.vcpus = a.domains = a.rx = a.tx = a.memKib = a.readIops = 0;
    a.sr.fill(0);
  }

  step(t: number): void {
    const p = this._pdp;
    const n = this.rrd.columnCount;
    p.fill(Number.NaN, 0, n);
    const spec = this.spec;
    const k = this.key;
    const a = this.acc;
    const x = t / TIMESTEP;
    const f = this._fixed;
    const set = (name: string, v: number): void => {
      const c = f.get(name);
      if (c !== undefined) p[c] = v;
    };

    const cpus = spec.cpuCount;
    // Xen schedules the busy vCPU time over the pCPUs; a little hypervisor overhead on top.
    const busy = cpus > 0 ? Math.min(1, a.busyVcpus / cpus + 0.004) : 0;
    let cpuSum = 0;
    for (let c = 0; c < cpus; c++) {
      let v = busy * (0.75 + 0.5 * hash01(k, 10 + c, Math.floor(x / 6))) + 0.01 * smoothNoise(k, 1000 + c, x / 2);
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      p[this._cpuCols[c]!] = v;
      cpuSum += Math.fround(v);
      const base = this._pcpuCols[c]!;
      const idle = 1 - v;
      const c1 = idle * (0.2 + 0.25 * smoothNoise(k, 2000 + c, x / 4));
      p[base] = v;
      p[base + 1] = c1;
      p[base + 2] = Math.max(0, idle - c1);
      const p0 = Math.min(1, 0.15 + 0.85 * v);
      const p1 = (1 - p0) * 0.6;
      p[base + 3] = p0;
      p[base + 4] = p1;
      p[base + 5] = Math.max(0, 1 - p0 - p1);
      p[base + 6] = Math.round(this._nominalMhz * (p0 + 0.8 * p1 + 0.55 * (1 - p0 - p1)));
    }
    const cpuAvg = cpus > 0 ? cpuSum / cpus : 0;
    set('cpu_avg', cpuAvg);

    set('memory_reclaimed_max', 0);
    set('memory_reclaimed', 0);
    const totalKib = Math.floor(spec.memoryTotalBytes / KIB);
    set('memory_total_kib', totalKib);
    // Xen heap, per-domain overheads (~1% of guest memory) and the resident domains' memory are not free.
    set('memory_free_kib', Math.max(0, Math.floor(totalKib * 0.985 - a.memKib * 1.01)));

    set('loadavg', 0.02 + busy * 0.6 + 0.05 * smoothNoise(k, 3000, x / 12));
    set('hostload', cpus > 0 ? (a.busyVcpus * (1.02 + 0.06 * smoothNoise(k, 3001, x))) / cpus : 0);
    set('running_vcpus', a.vcpus);
    set('running_domains', a.domains);

    let aggrRx = 0;
    let aggrTx = 0;
    for (let i = 0; i < this._pifCols.length; i += 2) {
      const d = i >> 1;
      const share = this._vmTrafficPif[d]!;
      const mgmt = d === 0 ? 1500 + 6000 * smoothNoise(k, 4000, x / 6) : 60 * smoothNoise(k, 4001 + d, x);
      const rx = a.rx * share * 1.02 + mgmt;
      const tx = a.tx * share * 1.02 + mgmt * 0.8;
      p[this._pifCols[i]!] = rx;
      p[this._pifCols[i + 1]!] = tx;
      aggrRx += Math.fround(rx);
      aggrTx += Math.fround(tx);
    }
    set('pif_aggr_rx', aggrRx);
    set('pif_aggr_tx', aggrTx);

    set('Tapdisks_in_low_memory_mode', 0);
    for (let s = 0; s < this._srCols.length; s++) {
      const base = this._srCols[s]!;
      for (let m = 0; m < IO_METRIC_COUNT; m++) p[base + m] = a.sr[s * IO_METRIC_COUNT + m]!;
    }

    set('xapi_memory_usage_kib', Math.round(190000 + 40000 * smoothNoise(k, 5000, x / 720)));
    set('xapi_free_memory_kib', Math.round(22000 + 12000 * smoothNoise(k, 5001, x / 24)));
    set('xapi_live_memory_kib', Math.round(60000 + 25000 * smoothNoise(k, 5002, x / 24)));
    set('xapi_allocation_kib', 1500 + 9000 * smoothNoise(k, 5003, x / 3));
    set('xapi_open_fds', Math.round(60 + 40 * smoothNoise(k, 5004, x / 120) + a.domains));
    if (spec.isMaster) {
      set('pool_session_count', Math.round(6 + 20 * smoothNoise(k, 5005, x / 360)));
      set('pool_task_count', Math.round(3 * smoothNoise(k, 5006, x / 12)));
      set('pool_session_creation_rate', 0.05 * smoothNoise(k, 5007, x / 12));
    }
    for (let s = 0; s < this._cacheCols.length; s++) {
      const base = this._cacheCols[s]!;
      const day = (t % 86400) / 86400;
      p[base] = Math.round((2 + 14 * day + hash01(k, 6000 + s, 0)) * 1024 * MIB);
      p[base + 1] = a.readIops * 0.7 * (0.8 + 0.2 * smoothNoise(k, 6100 + s, x));
      p[base + 2] = a.readIops * 0.1 * (0.8 + 0.4 * smoothNoise(k, 6200 + s, x));
    }
    this.rrd.update(t, p);
  }
}

/** SR-owned RRD (SMAPIv3-style `size` and `physical_utilisation`), held by the pool master. */
export class SrState {
  readonly uuid: string;
  readonly key: number;
  readonly rrd: Rrd;
  private readonly _pdp = new Float64Array(4);
  private readonly _size: number;

  constructor(uuid: string, seed: number, minMax: boolean, createdAt: number) {
    this.uuid = uuid;
    this.key = hashString(uuid, seed);
    this.rrd = new Rrd(srDataSources(), minMax, createdAt, 0);
    this._size = (256 + Math.floor(hash01(this.key, 1, 0) * 3840)) * 1024 * MIB;
  }

  step(t: number): void {
    const used = 0.2 + 0.5 * hash01(this.key, 2, 0) + 0.05 * smoothNoise(this.key, 3, t / 86400);
    this._pdp[0] = this._size;
    this._pdp[1] = Math.round(this._size * used);
    this.rrd.update(t, this._pdp);
  }
}
