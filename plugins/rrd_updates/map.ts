// Pure mapping of one parsed `/rrd_updates` response of one host to a MetricBatch (resources: host, VM, SR).
//
// Per-column work (legend entry → metric, attributes, resource) is computed once per legend and inventory state
// and cached in an RrdMapper as a column layout; each call then only copies values into series. The output
// depends only on the inputs: the cache is memoisation, never state that changes results.

import {
  isMetricEnabled,
  type Attributes,
  type MetricBatch,
  type MetricData,
  type MetricDefinition,
  type MetricsEnablement,
  type ResourceMetricsData,
  type SeriesData,
} from '../../src/plugin-api/index.ts';
import type { HostRecord, Inventory, PoolRecord, SrRecord } from '../../src/lib/xapi/types.ts';
import {
  hostResource,
  srResource,
  unknownHostResource,
  unknownSrResource,
  unknownVmResource,
  vmResource,
  type XenResource,
} from '../../src/lib/xen-resources/index.ts';
import { DataSourceMatcher, metrics, type DsMapping } from './metadata.ts';
import type { LegendEntry, ParsedRrdUpdates } from './parse.ts';

export interface RrdMapOptions {
  /** Take only rows with `t > minTimeExclusive` (unix **seconds**, the RRD's unit): the scraper's cursor. */
  readonly minTimeExclusive?: number;
  /** Per-metric enable/disable; disabled metrics are not computed at all. */
  readonly metrics?: MetricsEnablement;
  /** Consolidation function whose columns are mapped (the receiver's `cf`); default `AVERAGE`. */
  readonly cf?: string;
}

export interface RrdMapContext {
  readonly pool: PoolRecord | undefined;
  /** The host whose `/rrd_updates` this is (owner of `host:` columns and of the SR I/O columns). */
  readonly host: HostRecord;
  /** Inventory snapshot: VMs and SRs by uuid, PBDs of the host. */
  readonly inventory: Inventory;
  readonly options?: RrdMapOptions;
}

export interface RrdMapStats {
  readonly columns: number;
  /** Columns with a catalogue mapping (enabled or not). */
  readonly mappedColumns: number;
  /** Columns exported through the generic `xen.<owner>.rrd.unmapped` rule. */
  readonly unmappedColumns: number;
  /** Columns of a disabled metric. */
  readonly disabledColumns: number;
  /** Columns with a consolidation function other than AVERAGE (skipped). */
  readonly otherCfColumns: number;
  /** Host SR I/O columns whose `<sr8>` matched exactly one SR with a PBD on the host. */
  readonly srColumnsResolved: number;
  /** … matched none (kept on the host resource with `xen.sr.uuid_prefix`). */
  readonly srColumnsUnknown: number;
  /** … matched several (kept on the host resource with `xen.sr.uuid_prefix`). */
  readonly srColumnsAmbiguous: number;
  /** VM uuids in the legend that the inventory does not know (exported with the uuid as name). */
  readonly unknownVms: number;
  /** SR uuids (IntelliCache, `sr:` owner) that the inventory does not know. */
  readonly unknownSrs: number;
  /** Rows newer than `minTimeExclusive`. */
  readonly rowsTaken: number;
  readonly points: number;
  /** Values skipped because they were NaN or ±Infinity (no sample). */
  readonly skippedValues: number;
  /** Newest row time taken (unix seconds), if any: the scraper's next cursor. */
  readonly newestTime: number | undefined;
}

export interface RrdMapResult {
  readonly batch: MetricBatch;
  readonly stats: RrdMapStats;
}

/** One-shot mapping without a cache (tests, tools). Receivers keep an RrdMapper. */
export function mapRrdUpdates(parsed: ParsedRrdUpdates, context: RrdMapContext): RrdMapResult {
  return new RrdMapper().map(parsed, context);
}

interface SlotSpec {
  readonly resource: number;
  readonly metric: MetricDefinition;
  readonly attributes: Attributes;
  /** Columns feeding this series (usually one). */
  readonly columns: number[];
}

interface Layout {
  readonly resources: ReadonlyArray<{ readonly key: string; readonly attributes: Attributes }>;
  readonly slots: readonly SlotSpec[];
  /** Slots grouped by resource then metric, in first-seen order. */
  readonly groups: ReadonlyArray<{ readonly resource: number; readonly metrics: ReadonlyArray<{ readonly metric: MetricDefinition; readonly slots: number[] }> }>;
  readonly scale: Float64Array;
  readonly counts: Omit<RrdMapStats, 'rowsTaken' | 'points' | 'skippedValues' | 'newestTime'>;
}

interface CacheEntry {
  readonly legend: readonly LegendEntry[];
  readonly inventory: Inventory;
  readonly generation: number;
  readonly pool: PoolRecord | undefined;
  readonly host: HostRecord;
  readonly enablement: MetricsEnablement | undefined;
  readonly cf: string | undefined;
  readonly layout: Layout;
}

export class RrdMapper {
  private readonly _matcher: DataSourceMatcher;
  /** Last layout per scraped host uuid. */
  private readonly _layouts = new Map<string, CacheEntry>();

  constructor(matcher: DataSourceMatcher = new DataSourceMatcher()) {
    this._matcher = matcher;
  }

  map(parsed: ParsedRrdUpdates, context: RrdMapContext): RrdMapResult {
    const layout = this._layout(parsed.legend, context);
    return fill(parsed, layout, context.options?.minTimeExclusive);
  }

  /** Forgets the layout of a host (e.g. removed from the pool). */
  forgetHost(hostUuid: string): void {
    this._layouts.delete(hostUuid);
  }

  private _layout(legend: readonly LegendEntry[], context: RrdMapContext): Layout {
    const enablement = context.options?.metrics;
    const cached = this._layouts.get(context.host.uuid);
    if (
      cached &&
      cached.legend === legend &&
      cached.inventory === context.inventory &&
      cached.generation === context.inventory.generation &&
      cached.pool === context.pool &&
      cached.host === context.host &&
      cached.enablement === enablement &&
      cached.cf === context.options?.cf
    ) {
      return cached.layout;
    }
    const layout = buildLayout(legend, context, this._matcher);
    this._layouts.set(context.host.uuid, {
      legend,
      inventory: context.inventory,
      generation: context.inventory.generation,
      pool: context.pool,
      host: context.host,
      enablement,
      cf: context.options?.cf,
      layout,
    });
    return layout;
  }
}

// ---------------------------------------------------------------------------------------------------------

function buildLayout(legend: readonly LegendEntry[], context: RrdMapContext, matcher: DataSourceMatcher): Layout {
  const { host, inventory, pool } = context;
  const enablement = context.options?.metrics;
  const resources: Array<{ key: string; attributes: Attributes }> = [];
  // Per owner kind: uuid → resource index (no key strings built per column).
  const indexByKind = { host: new Map<string, number>(), vm: new Map<string, number>(), sr: new Map<string, number>() };
  const addResource = (kind: 'host' | 'vm' | 'sr', uuid: string, build: () => XenResource): number => {
    const byUuid = indexByKind[kind];
    let index = byUuid.get(uuid);
    if (index === undefined) {
      index = resources.length;
      resources.push(build());
      byUuid.set(uuid, index);
    }
    return index;
  };

  const hostResourceOf = (uuid: string): number =>
    addResource('host', uuid, () => {
      const record = uuid === host.uuid ? host : recordByUuid(inventory, inventory.hosts, uuid);
      return record ? hostResource(pool, record) : unknownHostResource(pool, uuid);
    });

  let unknownVms = 0;
  // The VM's RRD is on the host that reports it: that is where it runs, even before `resident_on` follows.
  const vmResourceOf = (uuid: string): number =>
    addResource('vm', uuid, () => {
      const vm = recordByUuid(inventory, inventory.vms, uuid);
      if (!vm) unknownVms++;
      return vm ? vmResource(pool, vm, host) : unknownVmResource(pool, uuid, host);
    });

  let unknownSrs = 0;
  const srResourceOf = (uuid: string, known: SrRecord | undefined): number =>
    addResource('sr', uuid, () => {
      const sr = known ?? recordByUuid(inventory, inventory.srs, uuid);
      if (!sr) unknownSrs++;
      return sr ? srResource(pool, sr) : unknownSrResource(pool, uuid);
    });

  // SRs with a PBD on the reporting host, by 8-char prefix (notes §8.7: beware prefix collisions).
  let srsByPrefix: Map<string, SrRecord[]> | undefined;
  const srsWithPrefix = (prefix: string): SrRecord[] => {
    if (!srsByPrefix) {
      srsByPrefix = new Map();
      const seen = new Set<string>();
      for (const pbdRef of host.PBDs) {
        const pbd = inventory.pbds.get(pbdRef);
        const sr = pbd ? inventory.srs.get(pbd.SR) : undefined;
        if (!sr || seen.has(sr.uuid)) continue;
        seen.add(sr.uuid);
        const key = sr.uuid.slice(0, 8).toLowerCase();
        const list = srsByPrefix.get(key) ?? [];
        list.push(sr);
        srsByPrefix.set(key, list);
      }
    }
    return srsByPrefix.get(prefix) ?? [];
  };

  const slots: SlotSpec[] = [];
  /** Per resource index: DsMapping key (+ extra attributes) → slot. */
  const slotIndex: Array<Map<string, number> | undefined> = [];
  const scale = new Float64Array(legend.length);
  let mappedColumns = 0;
  let unmappedColumns = 0;
  let disabledColumns = 0;
  let otherCfColumns = 0;
  let srColumnsResolved = 0;
  let srColumnsUnknown = 0;
  let srColumnsAmbiguous = 0;

  const cf = context.options?.cf ?? 'AVERAGE';
  for (let c = 0; c < legend.length; c++) {
    const entry = legend[c]!;
    if (entry.cf !== cf) {
      otherCfColumns++;
      continue;
    }
    let mapping: DsMapping;
    if (entry.owner === 'other') {
      mapping = {
        metric: metrics['xen.host.rrd.unmapped'],
        attributes: { 'xen.rrd.data_source': entry.raw },
        scale: 1,
        target: { kind: 'owner' },
        unmapped: true,
        key: `xen.host.rrd.unmapped\u0000xen.rrd.data_source=${entry.raw}`,
      };
    } else {
      mapping = matcher.match(entry.owner, entry.ds);
    }
    if (mapping.unmapped) unmappedColumns++;
    else mappedColumns++;
    if (!isMetricEnabled(mapping.metric, enablement)) {
      disabledColumns++;
      continue;
    }

    let resource: number;
    let attributes = mapping.attributes;
    let key = mapping.key;
    const target = mapping.target;
    if (target.kind === 'sr8') {
      const candidates = srsWithPrefix(target.prefix);
      if (candidates.length === 1) {
        srColumnsResolved++;
        resource = srResourceOf(candidates[0]!.uuid, candidates[0]);
        attributes = { ...attributes, 'xen.host.uuid': entry.uuid };
        key = `${key}\u0000xen.host.uuid=${entry.uuid}`;
      } else {
        if (candidates.length === 0) srColumnsUnknown++;
        else srColumnsAmbiguous++;
        resource = hostResourceOf(entry.uuid);
        attributes = { ...attributes, 'xen.sr.uuid_prefix': target.prefix };
        key = `${key}\u0000xen.sr.uuid_prefix=${target.prefix}`;
      }
    } else if (target.kind === 'sr') {
      resource = srResourceOf(target.uuid, undefined);
      attributes = { ...attributes, 'xen.host.uuid': entry.uuid };
      key = `${key}\u0000xen.host.uuid=${entry.uuid}`;
    } else if (entry.owner === 'vm') {
      resource = vmResourceOf(entry.uuid);
    } else if (entry.owner === 'sr') {
      resource = srResourceOf(entry.uuid, undefined);
    } else {
      resource = entry.owner === 'other' ? hostResourceOf(host.uuid) : hostResourceOf(entry.uuid);
    }

    let resourceSlots = slotIndex[resource];
    if (!resourceSlots) slotIndex[resource] = resourceSlots = new Map();
    let index = resourceSlots.get(key);
    if (index === undefined) {
      index = slots.length;
      slots.push({ resource, metric: mapping.metric, attributes: attributes === mapping.attributes ? attributes : Object.freeze(attributes), columns: [] });
      resourceSlots.set(key, index);
    }
    slots[index]!.columns.push(c);
    scale[c] = mapping.scale;
  }

  const groups: Array<{ resource: number; metrics: Array<{ metric: MetricDefinition; slots: number[] }> }> = resources.map((_, resource) => ({ resource, metrics: [] }));
  const metricIndex = resources.map(() => new Map<MetricDefinition, { metric: MetricDefinition; slots: number[] }>());
  slots.forEach((slot, index) => {
    const byMetric = metricIndex[slot.resource]!;
    let group = byMetric.get(slot.metric);
    if (!group) {
      group = { metric: slot.metric, slots: [] };
      byMetric.set(slot.metric, group);
      groups[slot.resource]!.metrics.push(group);
    }
    group.slots.push(index);
  });

  // A layout lives as long as its host, and a pool has ~4,000 columns per host: arrays grown by push() keep spare
  // capacity (16 elements after the first push), which was a third of a 64-host pool's layouts (~33 MB).
  // Keep exact-size copies.
  return {
    resources,
    slots: slots.map((slot) => ({ ...slot, columns: slot.columns.slice() })),
    groups: groups.map((group) => ({ resource: group.resource, metrics: group.metrics.map((m) => ({ metric: m.metric, slots: m.slots.slice() })) })),
    scale,
    counts: {
      columns: legend.length,
      mappedColumns,
      unmappedColumns,
      disabledColumns,
      otherCfColumns,
      srColumnsResolved,
      srColumnsUnknown,
      srColumnsAmbiguous,
      unknownVms,
      unknownSrs,
    },
  };
}

function recordByUuid<T extends { uuid: string }>(inventory: Inventory, table: ReadonlyMap<string, T>, uuid: string): T | undefined {
  const ref = inventory.refOfUuid(uuid);
  const record = ref === undefined ? undefined : table.get(ref);
  return record && record.uuid === uuid ? record : undefined;
}

/** Copies the selected rows of every column into series, oldest first; NaN/±Infinity are not points. */
function fill(parsed: ParsedRrdUpdates, layout: Layout, minTimeExclusive: number | undefined): RrdMapResult {
  const { timestamps, values, columns } = parsed;
  // Rows are sent newest first; walk them backwards so every series comes out oldest first.
  const rowIndex: number[] = [];
  const allTimesMs: number[] = [];
  let newestTime: number | undefined;
  for (let r = timestamps.length - 1; r >= 0; r--) {
    const t = timestamps[r]!;
    if (minTimeExclusive !== undefined && !(t > minTimeExclusive)) continue;
    rowIndex.push(r);
    allTimesMs.push(t * 1000);
    if (newestTime === undefined || t > newestTime) newestTime = t;
  }
  const nRows = rowIndex.length;
  let points = 0;
  let skippedValues = 0;

  const seriesOf = (slot: SlotSpec): SeriesData | undefined => {
    if (slot.columns.length === 1) {
      const c = slot.columns[0]!;
      const k = layout.scale[c]!;
      const out: number[] = new Array<number>(nRows);
      let n = 0;
      let times: number[] | undefined;
      for (let i = 0; i < nRows; i++) {
        const v = values[rowIndex[i]! * columns + c]!;
        if (v - v === 0) {
          // Finite (NaN - NaN and Inf - Inf are NaN).
          if (times) times.push(allTimesMs[i]!);
          out[n++] = k === 1 ? v : v * k;
        } else if (!times) {
          times = allTimesMs.slice(0, i);
        }
      }
      skippedValues += nRows - n;
      if (n === 0) return undefined;
      points += n;
      out.length = n;
      // A column without gaps shares the call's time array (read-only by contract).
      return { attributes: slot.attributes, timesMs: times ?? allTimesMs, values: out };
    }
    // Several columns for one series (should not happen with xapi's legends): merge; on equal times the later column wins.
    const byTime = new Map<number, number>();
    for (const c of slot.columns) {
      const k = layout.scale[c]!;
      for (let i = 0; i < nRows; i++) {
        const v = values[rowIndex[i]! * columns + c]!;
        if (v - v === 0) byTime.set(allTimesMs[i]!, v * k);
        else skippedValues++;
      }
    }
    if (byTime.size === 0) return undefined;
    const timesMs = [...byTime.keys()].sort((a, b) => a - b);
    points += timesMs.length;
    return { attributes: slot.attributes, timesMs, values: timesMs.map((t) => byTime.get(t)!) };
  };

  const resources: ResourceMetricsData[] = [];
  for (const group of layout.groups) {
    const metricData: MetricData[] = [];
    for (const { metric, slots } of group.metrics) {
      const series: SeriesData[] = [];
      for (const index of slots) {
        const s = seriesOf(layout.slots[index]!);
        if (s) series.push(s);
      }
      if (series.length > 0) metricData.push({ definition: metric, series });
    }
    if (metricData.length > 0) {
      const resource = layout.resources[group.resource]!;
      resources.push({ key: resource.key, resource: resource.attributes, metrics: metricData });
    }
  }
  return {
    batch: { resources },
    stats: { ...layout.counts, rowsTaken: nRows, points, skippedValues, newestTime },
  };
}
