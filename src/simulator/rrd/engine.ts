// The simulator's xcp-rrdd: one RRD per host, per resident VM (keyed by VM uuid, so it follows a migration) and,
// optionally, per SR; fed every 5 simulated seconds from the pool model; served as /rrd_updates, /host_rrd, /vm_rrd.
import { TIMESTEP } from './archive.ts';
import type { CfName, Rra, Rrd } from './archive.ts';
import { chooseFormat } from './accept.ts';
import type { RrdEngine, RrdEngineOptions, RrdHttpResult } from './contract.ts';
import { HostState, SrState, VmState } from './generator.ts';
import { renderLegend, renderRrdJson, renderRrdXml, renderUpdatesLegacyJson, renderUpdatesXml, renderUpdatesYojson } from './render.ts';
import type { RenderedLegend, UpdateSource, UpdatesFrame } from './render.ts';

/** Options that are this engine's own, beyond the shared contract. */
export interface RrdEngineExtraOptions {
  /**
   * Give every SR attached anywhere in the pool an SR-owned RRD (`size`, `physical_utilisation`) held by the
   * master, selectable with `sr_uuid`. Off by default: stock SMAPIv1 SRs register no SR-owned data sources.
   */
  srOwnedRrds?: boolean;
}

const NO_RRA = 'Rrd.No_RRA_Available';
const INT64_FAILURE = 'Failure("Int64.of_string")';
const NOT_FOUND = 'Not_found';
/** The legacy JSON writer indexes `data.(Array.length data - 1)`; with zero rows that raises. */
const LEGACY_EMPTY = 'Invalid_argument("index out of bounds")';
const LEGEND_CACHE_LIMIT = 256;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** OCaml `Int64.of_string`: decimal, 0x/0o/0b, `_` separators, optional sign; undefined when it would raise. */
export function int64OfString(s: string): number | undefined {
  const m = /^([-+]?)(0[xX][0-9a-fA-F][0-9a-fA-F_]*|0[oO][0-7][0-7_]*|0[bB][01][01_]*|[0-9][0-9_]*)$/.exec(s);
  if (!m) return undefined;
  const neg = m[1] === '-';
  const body = m[2]!.replace(/_/g, '');
  let v: bigint;
  try {
    v = BigInt(body);
  } catch {
    return undefined;
  }
  const decimal = /^[0-9]/.test(body) && !/^0[xXoObB]/.test(body);
  if (decimal) {
    if (neg ? -v < INT64_MIN : v > INT64_MAX) return undefined;
  } else if (v > 2n ** 64n - 1n) {
    return undefined;
  } else if (v > INT64_MAX) {
    v -= 2n ** 64n; // non-decimal literals wrap like OCaml's
  }
  return Number(neg ? -v : v);
}

function first(query: ReadonlyArray<[string, string]>, key: string): string | undefined {
  for (const [k, v] of query) if (k === key) return v;
  return undefined;
}

function all(query: ReadonlyArray<[string, string]>, key: string): string[] {
  const out: string[] = [];
  for (const [k, v] of query) if (k === key) out.push(v);
  return out;
}

/** Int64 division truncating toward zero, then multiplied back (`get_times`). */
function floorTo(x: number, step: number): number {
  return Math.trunc(x / step) * step;
}

interface Selected {
  prefix: string;
  rrd: Rrd;
  rras: Rra[];
}

/** `Rrd.find_best_rras`; `lastUpdated` is the RRD's as the serving host's clock reads it. */
function findBestRras(rrd: Rrd, lastUpdated: number, pdpInterval: number, cf: CfName | undefined, start: number): Rra[] | 'no_rra' {
  const rras = cf === undefined ? rrd.rras : rrd.rras.filter((r) => r.cf === cf);
  if (rras.length === 0) return 'no_rra';
  const lastPdpTime = floorTo(lastUpdated, TIMESTEP);
  const contains = (t: number, rra: Rra): boolean => rra.pdp >= pdpInterval && t > lastPdpTime - TIMESTEP * rra.rows * rra.pdp;
  const firstOk = rras.find((r) => contains(start, r));
  if (firstOk !== undefined) return rras.filter((r) => r.rows === firstOk.rows && r.pdp === firstOk.pdp);
  const longest = rras[rras.length - 1]!;
  const newStart = 1 + lastPdpTime - TIMESTEP * longest.rows * longest.pdp;
  return rras.filter((r) => contains(newStart, r));
}

class Engine implements RrdEngine {
  private readonly _opts: RrdEngineOptions;
  private readonly _srOwned: boolean;
  private readonly _hosts = new Map<string, HostState>();
  private readonly _vms = new Map<string, VmState>();
  private readonly _srs = new Map<string, SrState>();
  private _srHolder: string | null = null;
  /** Time of the newest PDP fed to every RRD. */
  private _lastPdp: number;
  private _synced = false;
  /** Bumped on any change of RRD membership or columns; legend caches are keyed on it. */
  private _generation = 0;
  private readonly _legendCache = new Map<string, { generation: number; legend: RenderedLegend }>();
  /** Clock offset (s) per host uuid: the `clock_skew` fault. */
  private readonly _clockOffset = new Map<string, number>();

  constructor(opts: RrdEngineOptions & RrdEngineExtraOptions) {
    this._opts = opts;
    this._srOwned = opts.srOwnedRrds === true;
    this._lastPdp = floorTo(opts.historyStartSec, TIMESTEP);
  }

  // ---- model → RRDs -------------------------------------------------------------------------------------------

  /** The view's generation at the last sync (undefined: the view has none, always re-read). */
  private _viewGeneration: number | undefined;

  private _sync(): void {
    const { view, seed, minMaxRras } = this._opts;
    const generation = view.generation?.();
    if (this._synced && generation !== undefined && generation === this._viewGeneration) return;
    this._viewGeneration = generation;
    const created = this._lastPdp;
    let changed = false;
    const seenHosts = new Set<string>();
    const seenVms = new Set<string>();
    const attachedSrs = new Set<string>();
    let master: string | null = null;
    for (const spec of view.hosts()) {
      if (seenHosts.has(spec.uuid)) continue;
      seenHosts.add(spec.uuid);
      if (spec.isMaster) master = spec.uuid;
      for (const sr of spec.attachedSrUuids) attachedSrs.add(sr);
      let host = this._hosts.get(spec.uuid);
      if (host === undefined) {
        host = new HostState(spec, seed, minMaxRras, created);
        this._hosts.set(spec.uuid, host);
        changed = true;
      } else if (host.setSpec(spec)) {
        changed = true;
      }
      const vms: VmState[] = [];
      for (const uuid of spec.residentVmUuids) {
        if (seenVms.has(uuid)) continue;
        const vmSpec = view.vm(uuid);
        if (vmSpec === undefined) continue;
        seenVms.add(uuid);
        let vm = this._vms.get(uuid);
        if (vm === undefined) {
          vm = new VmState(vmSpec, seed, minMaxRras, created);
          this._vms.set(uuid, vm);
          changed = true;
        } else if (vm.setSpec(vmSpec)) {
          changed = true;
        }
        if (vm.host !== host) changed = true;
        vm.host = host;
        vms.push(vm);
      }
      vms.sort((a, b) => a.order - b.order || (a.uuid < b.uuid ? -1 : 1));
      if (vms.length !== host.vms.length || vms.some((v, i) => host.vms[i] !== v)) changed = true;
      host.vms = vms;
      host.bindVms();
    }
    for (const [uuid] of this._hosts) {
      if (!seenHosts.has(uuid)) {
        this._hosts.delete(uuid);
        changed = true;
      }
    }
    // A VM resident nowhere is halted: its RRD is archived by xapi and a later start begins a fresh one here.
    for (const [uuid, vm] of this._vms) {
      if (!seenVms.has(uuid)) {
        vm.host = null;
        this._vms.delete(uuid);
        changed = true;
      }
    }
    if (this._srOwned) {
      if (this._srHolder !== master) changed = true;
      this._srHolder = master;
      for (const uuid of attachedSrs) {
        if (!this._srs.has(uuid)) {
          this._srs.set(uuid, new SrState(uuid, seed, minMaxRras, created));
          changed = true;
        }
      }
      for (const uuid of [...this._srs.keys()]) {
        if (!attachedSrs.has(uuid)) {
          this._srs.delete(uuid);
          changed = true;
        }
      }
    }
    if (changed) this._generation++;
    this._synced = true;
  }

  private _ensureSynced(): void {
    if (!this._synced) this._sync();
  }

  advance(nowSec: number): void {
    const target = floorTo(nowSec, TIMESTEP);
    if (this._synced && target <= this._lastPdp) return;
    // The model as it is now describes every PDP up to now (the model calls us before it changes).
    this._sync();
    const hosts = [...this._hosts.values()];
    const srs = [...this._srs.values()];
    const steps = (target - this._lastPdp) / TIMESTEP;
    if (steps > 1) {
      // A history fill: allocate the rings once instead of growing them by doubling.
      for (const host of hosts) {
        host.rrd.reserve(steps);
        for (const vm of host.vms) vm.rrd.reserve(steps);
      }
      for (const sr of srs) sr.rrd.reserve(steps);
    }
    // Hosts are independent of each other (a VM only feeds its own host's sums), so each host runs through the
    // whole interval before the next: its RRDs stay in cache, which makes a long fill several times faster than
    // stepping the whole pool once per 5 s.
    const first = this._lastPdp + TIMESTEP;
    for (const host of hosts) {
      for (let t = first; t <= target; t += TIMESTEP) {
        host.resetAccumulators();
        for (const vm of host.vms) vm.step(t, host.acc);
        host.step(t);
      }
    }
    for (const sr of srs) for (let t = first; t <= target; t += TIMESTEP) sr.step(t);
    if (target >= first) this._lastPdp = target;
  }

  // ---- /rrd_updates ---------------------------------------------------------------------------------------------

  rrdUpdates(hostUuid: string, query: ReadonlyArray<[string, string]>, acceptHeader: string | undefined): RrdHttpResult {
    this._ensureSynced();
    const profile = this._opts.profile;
    const startText = first(query, 'start');
    if (startText === undefined) return { ok: false, exception: NOT_FOUND };
    const startArg = int64OfString(startText);
    if (startArg === undefined) return { ok: false, exception: INT64_FAILURE };
    const cfText = first(query, 'cf');
    const cf: CfName | undefined = cfText === 'AVERAGE' || cfText === 'MIN' || cfText === 'MAX' || cfText === 'LAST' ? cfText : undefined;
    const intervalText = first(query, 'interval');
    const interval = intervalText === undefined ? 0 : (int64OfString(intervalText) ?? 0);
    const withHost = first(query, 'host') === 'true';

    const format = chooseFormat(acceptHeader, query.some(([k]) => k === 'json'), profile);
    if (format.kind === 'error') return { ok: false, exception: format.exception };

    const host = this._hosts.get(hostUuid);
    const owners: Array<{ prefix: string; rrd: Rrd }> = [];
    if (withHost && host !== undefined) owners.push({ prefix: `host:${hostUuid}:`, rrd: host.rrd });

    let vmFilter: (uuid: string) => boolean;
    let srFilter: (uuid: string) => boolean;
    let filterKey: string;
    if (profile.multiUuidFilters) {
      const vmUuids = all(query, 'vm_uuid');
      const srUuids = all(query, 'sr_uuid');
      const vmSet = new Set(vmUuids);
      const srSet = new Set(srUuids);
      vmFilter = vmUuids.length === 0 ? () => true : (u) => vmSet.has(u);
      srFilter = (u) => srSet.has(u);
      filterKey = `m|${vmUuids.length === 0 ? '*' : [...vmSet].sort().join(',')}|${[...srSet].sort().join(',')}`;
    } else {
      const vm = first(query, 'vm_uuid') ?? 'all';
      const sr = first(query, 'sr_uuid') ?? 'none';
      vmFilter = vm === 'all' ? () => true : vm === 'none' ? () => false : (u) => u === vm;
      srFilter = sr === 'all' ? () => true : sr === 'none' ? () => false : (u) => u === sr;
      filterKey = `s|${vm}|${sr}`;
    }
    if (host !== undefined) for (const vm of host.vms) if (vmFilter(vm.uuid)) owners.push({ prefix: `vm:${vm.uuid}:`, rrd: vm.rrd });
    if (this._srHolder === hostUuid) for (const sr of this._srs.values()) if (srFilter(sr.uuid)) owners.push({ prefix: `sr:${sr.uuid}:`, rrd: sr.rrd });

    // ---- Rrd_updates.create_multi ----
    if (owners.length === 0) return { ok: false, exception: NO_RRA };
    // Every RRD this host holds is stamped by this host's clock.
    const skew = this._clockOffset.get(hostUuid) ?? 0;
    const lastUpdated = owners[0]!.rrd.lastUpdated + skew;
    const pdpInterval = Math.trunc(interval / TIMESTEP);
    let start = Number.MAX_SAFE_INTEGER;
    for (const o of owners) start = Math.min(start, startArg < 0 ? startArg + Math.trunc(o.rrd.lastUpdated + skew) : startArg);
    const selected: Selected[] = [];
    let firstRra: Rra | undefined;
    for (const o of owners) {
      const rras = findBestRras(o.rrd, o.rrd.lastUpdated + skew, pdpInterval, cf, start);
      if (rras === 'no_rra') return { ok: false, exception: NO_RRA };
      if (firstRra === undefined && rras.length > 0) firstRra = rras[0];
      selected.push({ prefix: o.prefix, rrd: o.rrd, rras });
    }
    if (firstRra === undefined) return { ok: false, exception: NO_RRA };
    const sources: UpdateSource[] = [];
    const entries: string[] = [];
    const cacheKeyParts: string[] = [];
    for (const s of selected) {
      const rras = s.rras.filter((r) => r.pdp === firstRra.pdp && r.rows === firstRra.rows);
      sources.push({ rras, columns: s.rrd.columnCount });
      cacheKeyParts.push(rras.map((r) => r.cf).join('+'));
    }
    const step = TIMESTEP * firstRra.pdp;
    const end = floorTo(lastUpdated, step);
    const metaStart = floorTo(start, step) + step;
    let rowCount = 0;
    while (rowCount < firstRra.rows && end - rowCount * step >= start) rowCount++;

    const cacheKey = `${hostUuid}|${withHost}|${filterKey}|${firstRra.pdp}|${cacheKeyParts.join(';')}`;
    let legend = this._legendCache.get(cacheKey);
    if (legend === undefined || legend.generation !== this._generation) {
      for (let i = 0; i < selected.length; i++) {
        const s = selected[i]!;
        for (const rra of sources[i]!.rras) for (const ds of s.rrd.dss) entries.push(`${rra.cf}:${s.prefix}${ds.name}`);
      }
      if (this._legendCache.size >= LEGEND_CACHE_LIMIT) this._legendCache.clear();
      legend = { generation: this._generation, legend: renderLegend(entries) };
      this._legendCache.set(cacheKey, legend);
    }

    const frame: UpdatesFrame = { metaStart, step, end, rowCount, legend: legend.legend, sources };
    if (format.kind === 'xml') {
      return { ok: true, contentType: 'text/xml', body: Buffer.from(renderUpdatesXml(frame, profile.numberFormat), 'latin1') };
    }
    const contentType = profile.acceptNegotiation ? 'application/json' : undefined;
    if (profile.jsonDialect === 'legacy') {
      const body = renderUpdatesLegacyJson(frame, profile.numberFormat);
      if (body === undefined) return { ok: false, exception: LEGACY_EMPTY };
      return { ok: true, contentType, body: Buffer.from(body, 'latin1') };
    }
    return { ok: true, contentType, body: Buffer.from(renderUpdatesYojson(frame, profile.numberFormat, profile.jsonDialect === 'nested'), 'latin1') };
  }

  // ---- rrddump ---------------------------------------------------------------------------------------------------

  private _dump(rrd: Rrd, json: boolean, skew: number): RrdHttpResult {
    const profile = this._opts.profile;
    const contentType = profile.acceptNegotiation ? (json ? 'application/json' : 'text/xml') : undefined;
    const body = json ? renderRrdJson(rrd, profile, skew) : renderRrdXml(rrd, profile, skew);
    return { ok: true, contentType, body: Buffer.from(body, 'latin1') };
  }

  hostRrd(hostUuid: string, json: boolean): RrdHttpResult {
    this._ensureSynced();
    const host = this._hosts.get(hostUuid);
    if (host === undefined) return { ok: false, exception: 'Failure("No host RRD available!")' };
    return this._dump(host.rrd, json, this._clockOffset.get(hostUuid) ?? 0);
  }

  vmRrd(vmUuid: string, json: boolean): RrdHttpResult {
    this._ensureSynced();
    const vm = this._vms.get(vmUuid);
    if (vm === undefined) return { ok: false, exception: NOT_FOUND };
    return this._dump(vm.rrd, json, this._offsetOf('vm', vmUuid));
  }

  // ---- ground truth -----------------------------------------------------------------------------------------------

  private _rrdOf(owner: 'host' | 'vm' | 'sr', uuid: string): Rrd | undefined {
    this._ensureSynced();
    if (owner === 'host') return this._hosts.get(uuid)?.rrd;
    if (owner === 'vm') return this._vms.get(uuid)?.rrd;
    return this._srs.get(uuid)?.rrd;
  }

  setClockOffset(hostUuid: string, seconds: number): void {
    if (seconds === 0 || !Number.isFinite(seconds)) this._clockOffset.delete(hostUuid);
    else this._clockOffset.set(hostUuid, seconds);
  }

  /** Offset of the host whose xcp-rrdd holds this RRD. */
  private _offsetOf(owner: 'host' | 'vm' | 'sr', uuid: string): number {
    const holder = owner === 'host' ? uuid : owner === 'vm' ? this._vms.get(uuid)?.host?.uuid : this._srHolder;
    return holder === undefined || holder === null ? 0 : (this._clockOffset.get(holder) ?? 0);
  }

  value(owner: 'host' | 'vm' | 'sr', uuid: string, dsName: string, tSec: number, cf = 'AVERAGE', stepSeconds = TIMESTEP): number {
    const rrd = this._rrdOf(owner, uuid);
    if (rrd === undefined) return Number.NaN;
    const col = rrd.columnIndex(dsName);
    if (col < 0) return Number.NaN;
    const rra = rrd.rras.find((r) => r.cf === cf && r.pdp * TIMESTEP === stepSeconds);
    if (rra === undefined) return Number.NaN;
    const end = floorTo(rrd.lastUpdated + this._offsetOf(owner, uuid), stepSeconds);
    const diff = end - tSec;
    if (diff < 0 || diff % stepSeconds !== 0) return Number.NaN;
    const i = diff / stepSeconds;
    return i >= rra.rows ? Number.NaN : rra.peek(i, col);
  }

  dataSourceNames(owner: 'host' | 'vm' | 'sr', uuid: string): string[] {
    const rrd = this._rrdOf(owner, uuid);
    return rrd === undefined ? [] : rrd.dss.map((d) => d.name);
  }

  /** Bytes held by all RRDs (typed arrays only). */
  storageBytes(): number {
    let b = 0;
    for (const h of this._hosts.values()) b += h.rrd.bytes();
    for (const v of this._vms.values()) b += v.rrd.bytes();
    for (const s of this._srs.values()) b += s.rrd.bytes();
    return b;
  }
}

export type RrdEngineWithStats = RrdEngine & { storageBytes(): number };

export function createRrdEngine(options: RrdEngineOptions & RrdEngineExtraOptions): RrdEngineWithStats {
  return new Engine(options);
}
