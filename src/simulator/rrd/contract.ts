// Seam between the simulator's pool model (XAPI side: src/simulator/*) and its RRD engine (src/simulator/rrd/*).
// The model tells the engine what exists; the engine owns every RRD, its data sources, values and wire formats.

/** What the RRD engine needs to know about one host, read from the model. */
export interface RrdHostSpec {
  uuid: string;
  isMaster: boolean;
  /** Physical CPUs (cpu0 … cpuN-1; C/P-state and frequency columns per pCPU). */
  cpuCount: number;
  /** Devices of xcp-networkd-managed PIFs including bonds (`eth0`, `eth1`, `bond0`); no VLAN devices. */
  pifDevices: string[];
  /** Full uuids of SRs with a currently attached PBD on this host that hold VDIs (I/O columns `*_<sr8>`). */
  attachedSrUuids: string[];
  /** Full uuids of SRs used as IntelliCache on this host (`sr_<uuid>_cache_*`). */
  intellicacheSrUuids: string[];
  /** Physical memory in bytes. */
  memoryTotalBytes: number;
  /** VMs whose RRD this host's xcp-rrdd holds (running or paused here, dom0 included). */
  residentVmUuids: string[];
}

export type RrdLoadProfile = 'idle' | 'steady' | 'web' | 'database' | 'batch' | 'control_domain';

export interface RrdVmSpec {
  uuid: string;
  isControlDomain: boolean;
  vcpus: number;
  /** xenstore backend device names of attached VBDs: `xvda`, `xvdb`, `hda`. */
  vbdDevices: string[];
  /** VIF device numbers as strings: `0`, `1`. */
  vifDevices: string[];
  /** Guest agent present (`memory_internal_free` exists). Always true for dom0. */
  hasGuestAgent: boolean;
  memoryBytes: number;
  /** SR uuid per VBD device, so host SR I/O columns can be sums of the VMs' VBD I/O. */
  vbdSrUuids: Record<string, string>;
  profile: RrdLoadProfile;
}

export interface RrdPoolView {
  hosts(): RrdHostSpec[];
  vm(uuid: string): RrdVmSpec | undefined;
  /**
   * Optional change counter of the model: when present and unchanged since the last look, the engine skips
   * re-reading the specs (at 6,400 VMs that read costs more than generating the 5 s step itself).
   */
  generation?(): number;
}

/** Wire behaviour chosen by the pool's `xapi_version` (notes/xapi.md §7). */
export interface XapiWireProfile {
  version: string;
  /** `Accept` header negotiation (≥ 23.17.0); before, only `?json` decides and JSON has no content-type. */
  acceptNegotiation: boolean;
  /** An unparseable `Accept` gives HTTP 500 (23.17.0 ≤ v < 25.7.0). */
  unparseableAcceptIs500: boolean;
  /** 'legacy' (JSON5-ish, < 24.5.0), 'nested' (data inside meta, 24.5.0–24.10.x), 'strings' (≥ 24.11.0). */
  jsonDialect: 'legacy' | 'nested' | 'strings';
  /** '%.4f' (< 24.5.0), '%.5g' (24.5.0–25.2.x), '%.15g' (≥ 25.3.0). */
  numberFormat: '%.4f' | '%.5g' | '%.15g';
  /** Repeated vm_uuid/sr_uuid, no `all`/`none` keywords (≥ 26.7.0). */
  multiUuidFilters: boolean;
}

/** Outcome of an RRD HTTP handler; the HTTP layer writes it (or a 500 page naming `exception`). */
export type RrdHttpResult =
  | { ok: true; contentType: string | undefined; body: Buffer }
  | { ok: false; exception: string };

export interface RrdEngine {
  /**
   * Brings every RRD up to `nowSec` using the model as it is now. The model calls this before it applies any
   * change (so history before the change reflects the old state) and periodically.
   */
  advance(nowSec: number): void;
  /** GET /rrd_updates on host `hostUuid`; `query` is the decoded query in order (repeated keys kept). */
  rrdUpdates(hostUuid: string, query: ReadonlyArray<[string, string]>, acceptHeader: string | undefined): RrdHttpResult;
  /** GET /host_rrd (json: `?json` present). */
  hostRrd(hostUuid: string, json: boolean): RrdHttpResult;
  /** GET /vm_rrd?uuid= */
  vmRrd(vmUuid: string, json: boolean): RrdHttpResult;
  /**
   * Ground truth for tests (see RunningSimulator.rrdValue): `tSec` is a row time as the RRD's holder serves it
   * (its clock offset included: the host for host RRDs, the resident host for VMs, the master for SRs).
   */
  value(owner: 'host' | 'vm' | 'sr', uuid: string, dsName: string, tSec: number, cf?: string, stepSeconds?: number): number;
  /**
   * Clock offset of one host (the `clock_skew` fault), seconds, may be fractional or negative; 0 clears it. The
   * engine keeps one clock; a host with offset S serves its RRDs as its own skewed clock would have stamped them:
   * `last_updated` reads `lastUpdated + S`, from which `/rrd_updates` derives `end`, row times, archive choice and
   * a negative `start`; `/host_rrd`, `/vm_rrd` and `value()` use the same shifted `last_updated`.
   */
  setClockOffset(hostUuid: string, seconds: number): void;
  /** Legend names (without CF/owner prefix) currently in the RRD of this owner. */
  dataSourceNames(owner: 'host' | 'vm' | 'sr', uuid: string): string[];
}

export interface RrdEngineOptions {
  seed: number;
  view: RrdPoolView;
  profile: XapiWireProfile;
  minMaxRras: boolean;
  /** Simulated time when history starts (RRDs are filled from here up to the first advance). */
  historyStartSec: number;
}
