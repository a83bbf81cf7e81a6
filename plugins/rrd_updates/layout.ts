// The layout of one host's legend: which column feeds which series of which metric of which resource, in output
// order. Computed once per legend and inventory state (RrdMapper caches it per host), so building one is the
// relayout after a legend change (a VM started, stopped or migrated) or an inventory change.
//
// A layout lives as long as its host, so it is a few typed arrays (structure of arrays) rather than objects per
// series: 64 hosts × ~4,000 columns of slot objects and small arrays were ~35 MB. Every VM with the same data
// sources shares one template (its series with columns relative to the VM's first column), so a VM costs a few
// bytes, and the host's own series ~5 bytes each. Building a layout makes the mapping decision once per distinct
// data-source name (MappingPlans keeps them from build to build) and groups columns by integer ids, not strings.

import { isMetricEnabled, type Attributes, type MetricDefinition, type MetricsEnablement } from '../../src/plugin-api/index.ts';
import type { Inventory, SrRecord } from '../../src/lib/xapi/types.ts';
import {
  hostResource,
  srResource,
  unknownHostResource,
  unknownSrResource,
  unknownVmResource,
  vmResource,
  type XenResource,
} from '../../src/lib/xen-resources/index.ts';
import { exactIndexArray, type CompactLegend, type IndexArray, type RrdOwnerKind } from './legend.ts';
import type { RrdMapContext, RrdMapStats } from './map.ts';
import { metrics, type DataSourceMatcher, type DsMapping } from './metadata.ts';

export type LayoutCounts = Omit<RrdMapStats, 'rowsTaken' | 'points' | 'skippedValues' | 'newestTime'>;

/**
 * Series in output order: metrics in first-seen order (per resource), each metric's series in first-seen order.
 * Ranges are given by their ends (a range starts where the previous one ends).
 */
export interface SeriesBlock {
  /** Per metric: index into RRD_METRICS. */
  readonly metricDefinition: Uint8Array;
  /** Per metric: end of its series. */
  readonly metricSeriesEnd: IndexArray;
  /** Per series: index into the layout's `attributeSets` (shared by every VM with the same device). */
  readonly seriesAttributes: IndexArray;
  /** Per series: the column read (relative to the run's first column in a template). */
  readonly seriesColumn: IndexArray;
  /** Per series: index into the layout's `scales` (multiplier to base units). */
  readonly seriesScale: Uint8Array;
}

/**
 * The series of one legend and inventory state, resources in first-seen order. A VM (or SR) whose columns are
 * one run of the legend is laid out by a template shared with every VM with the same data sources, plus the
 * column its run starts at; the other resources (the host, SRs of host columns, …) by `block`.
 */
export interface Layout {
  readonly resources: readonly XenResource[];
  /** Per resource: its template (index into `templates`), or -1 when its series are in `block`. */
  readonly resourceTemplate: Int32Array;
  /** Per resource with a template: the column its run starts at. */
  readonly resourceColumn: Int32Array;
  /** Per resource: end of its metrics in `block` (none for a resource with a template). */
  readonly resourceMetricEnd: IndexArray;
  readonly block: SeriesBlock;
  readonly templates: readonly SeriesBlock[];
  readonly attributeSets: readonly Attributes[];
  readonly scales: Float64Array;
  /** Series of `block` fed by several columns (xapi's legends have none): series → every column with its scale. */
  readonly multiColumn: ReadonlyMap<number, ReadonlyArray<readonly [column: number, scale: number]>> | undefined;
  readonly counts: LayoutCounts;
}

/** Metric definitions by index (a layout keeps one byte per metric of a resource). */
export const RRD_METRICS: readonly MetricDefinition[] = Object.values(metrics);
const RRD_METRIC_INDEX: ReadonlyMap<MetricDefinition, number> = new Map(RRD_METRICS.map((m, i) => [m, i]));
if (RRD_METRICS.length > 256) throw new Error('rrd_updates: more than 256 metrics do not fit the layout index');

/** Owner kinds by index (`other`: an owner kind this agent does not know; `skipped`: another consolidation function). */
const HOST = 0;
const VM = 1;
const SR = 2;
const OTHER = 3;
const SKIPPED = -1;
const KIND_INDEX: Readonly<Record<RrdOwnerKind | 'other', number>> = { host: HOST, vm: VM, sr: SR, other: OTHER };
const KIND_NAMES: readonly RrdOwnerKind[] = ['host', 'vm', 'sr'];

/** The mapping decision for the columns of one data-source name of one owner kind. */
interface Plan {
  /** Identifies the plan within its MappingPlans (runs of the same plans share a template). */
  readonly id: number;
  readonly mapping: DsMapping;
  readonly unmapped: boolean;
  readonly enabled: boolean;
  /** Index into RRD_METRICS. */
  readonly metric: number;
  /** Index into the layout's scales. */
  readonly scale: number;
  /** Owner-targeted mappings: the series id within a resource and the attribute-set index; -1 for SR targets. */
  readonly key: number;
  readonly attributes: number;
}

/**
 * Integer pair → integer, open addressing: groups columns into series and series into metrics by ids instead
 * of key strings. Reused from build to build: `clear` is O(1) (entries of older builds carry an older stamp).
 */
class PairTable {
  /** Per position: stamp, first, second, value (one cache line per probe). */
  private _entries = new Int32Array(0);
  private _current = 0;
  private _shift = 32;
  private _mask = 0;
  private _free = 0;

  /** Empties the table, with room for `entries` at load ≤ 1/2. */
  clear(entries: number): void {
    const size = 1 << Math.max(4, Math.ceil(Math.log2(Math.max(entries, 1) * 2)));
    if (4 * size > this._entries.length || this._current === 0x7fffffff) {
      this._entries = new Int32Array(4 * size);
      this._current = 0;
      this._shift = 32 - Math.log2(size);
      this._mask = size - 1;
    }
    this._current++;
  }

  /** The value of (first, second), or -1; then `add` right after stores one. */
  get(first: number, second: number): number {
    const entries = this._entries;
    let i = Math.imul(first ^ Math.imul(second, 0x85ebca6b), 0x9e3779b1) >>> this._shift;
    while (entries[4 * i] === this._current) {
      if (entries[4 * i + 1] === first && entries[4 * i + 2] === second) return entries[4 * i + 3]!;
      i = (i + 1) & this._mask;
    }
    this._free = i;
    return -1;
  }

  add(first: number, second: number, value: number): void {
    const at = 4 * this._free;
    const entries = this._entries;
    entries[at] = this._current;
    entries[at + 1] = first;
    entries[at + 2] = second;
    entries[at + 3] = value;
  }
}

/**
 * Working arrays of buildLayout, kept by a mapper from build to build: a relayout of a 4,000-column host needs
 * ~0.4 MB of them, and allocating them each time cost a tenth of the relayout in allocation and GC. Every
 * element is written before it is read in the same build.
 */
export class LayoutScratch {
  readonly slotOf = new PairTable();
  readonly groupOf = new PairTable();
  slotGroup = new Int32Array(0);
  slotColumn = new Int32Array(0);
  slotScale = new Uint8Array(0);
  slotAttributes = new Int32Array(0);
  groupResource = new Int32Array(0);
  groupMetric = new Uint8Array(0);
  groupSize = new Int32Array(0);
  orderedGroup = new Int32Array(0);
  nextSeries = new Int32Array(0);
  metricSeriesEnd = new Int32Array(0);
  seriesAttributes = new Int32Array(0);
  seriesColumn = new Int32Array(0);
  slotKey = new Int32Array(0);

  /** Room for a legend of `columns` columns (at most one slot and one group per column). */
  prepare(columns: number): void {
    this.slotOf.clear(columns);
    this.groupOf.clear(columns);
    if (columns <= this.slotGroup.length) return;
    const size = Math.max(columns, 2 * this.slotGroup.length);
    this.slotGroup = new Int32Array(size);
    this.slotColumn = new Int32Array(size);
    this.slotScale = new Uint8Array(size);
    this.slotAttributes = new Int32Array(size);
    this.groupResource = new Int32Array(size);
    this.groupMetric = new Uint8Array(size);
    this.groupSize = new Int32Array(size);
    this.orderedGroup = new Int32Array(size);
    this.nextSeries = new Int32Array(size);
    this.metricSeriesEnd = new Int32Array(size);
    this.seriesAttributes = new Int32Array(size);
    this.seriesColumn = new Int32Array(size);
    this.slotKey = new Int32Array(size);
  }
}

/**
 * Mapping decisions by owner kind and data-source name, and the ids layouts refer to (series keys, attribute
 * sets, scales), kept by a mapper from build to build: a relayout decides again only the names it has not seen
 * (a 100-VM host has ~300 distinct names, each decision ~0.2 µs). Ids are positions in append-only tables, so a
 * layout's ids stay valid when later builds add to them; the tables are replaced (not cleared) when the
 * enablement changes or they grow past a bound, like DataSourceMatcher's cache.
 */
export class MappingPlans {
  private _enablement: MetricsEnablement | undefined;
  private _attributeSets: Attributes[] = [];
  private _attributeIndex = new Map<Attributes, number>();
  private _scales: number[] = [];
  private _keyIds = new Map<string, number>();
  /** Attribute sets made here (SR columns naming their host, unknown owner kinds), by series key. */
  private _madeAttributes = new Map<string, number>();
  private _plans = [new Map<string, Plan>(), new Map<string, Plan>(), new Map<string, Plan>()];
  private _planCount = 0;
  /** Run templates by a hash of their owner kind and plans. */
  private _templates = new Map<number, RunTemplate[]>();
  private _templateCount = 0;
  private readonly _maxEntries: number;

  constructor(maxEntries = 200_000) {
    this._maxEntries = maxEntries;
  }

  /** Starts a build with this enablement. */
  prepare(enablement: MetricsEnablement | undefined): void {
    if (enablement === this._enablement && this._planCount + this._keyIds.size + this._madeAttributes.size + this._templateCount < this._maxEntries) return;
    this._enablement = enablement;
    this._attributeSets = [];
    this._attributeIndex = new Map();
    this._scales = [];
    this._keyIds = new Map();
    this._madeAttributes = new Map();
    this._plans = [new Map(), new Map(), new Map()];
    this._planCount = 0;
    this._templates = new Map();
    this._templateCount = 0;
  }

  /** The template of a run of `count` columns of owner kind `kind` with these plans (`hash`: runHash of them). */
  template(kind: number, plans: readonly Plan[], count: number, hash: number): RunTemplate {
    let bucket = this._templates.get(hash);
    for (const template of bucket ?? []) {
      if (template.kind !== kind || template.planIds.length !== count) continue;
      let same = true;
      for (let i = 0; same && i < count; i++) same = template.planIds[i] === plans[i]!.id;
      if (same) return template;
    }
    const template = makeRunTemplate(kind, plans.slice(0, count));
    if (!bucket) this._templates.set(hash, (bucket = []));
    bucket.push(template);
    this._templateCount++;
    return template;
  }

  get attributeSets(): readonly Attributes[] {
    return this._attributeSets;
  }

  get scales(): readonly number[] {
    return this._scales;
  }

  plan(kind: number, name: string, matcher: DataSourceMatcher): Plan {
    const byName = this._plans[kind]!;
    let plan = byName.get(name);
    if (!plan) {
      const mapping = matcher.match(KIND_NAMES[kind]!, name);
      const owner = mapping.target.kind === 'owner';
      plan = {
        id: this._planCount++,
        mapping,
        unmapped: mapping.unmapped,
        enabled: isMetricEnabled(mapping.metric, this._enablement),
        metric: RRD_METRIC_INDEX.get(mapping.metric)!,
        scale: this.scaleId(mapping.scale),
        key: owner ? this.keyId(mapping.key) : -1,
        attributes: owner ? this.attributesId(mapping.attributes) : -1,
      };
      byName.set(name, plan);
    }
    return plan;
  }

  keyId(key: string): number {
    let id = this._keyIds.get(key);
    if (id === undefined) this._keyIds.set(key, (id = this._keyIds.size));
    return id;
  }

  attributesId(attributes: Attributes): number {
    let id = this._attributeIndex.get(attributes);
    if (id === undefined) {
      this._attributeIndex.set(attributes, (id = this._attributeSets.length));
      this._attributeSets.push(attributes);
    }
    return id;
  }

  /** The attribute set of series key `key`, made by `make` the first time. */
  madeAttributesId(key: string, make: () => Attributes): number {
    let id = this._madeAttributes.get(key);
    if (id === undefined) this._madeAttributes.set(key, (id = this.attributesId(Object.freeze(make()))));
    return id;
  }

  scaleId(scale: number): number {
    let id = this._scales.indexOf(scale);
    if (id < 0) {
      if (this._scales.length === 256) throw new Error('rrd_updates: more than 256 distinct unit scales do not fit the layout index');
      id = this._scales.push(scale) - 1;
    }
    return id;
  }
}

/**
 * How the columns of one run (consecutive columns of one source) of a VM or SR lay out when no other column
 * reaches its resource: the same for every VM with the same data sources, so shared by those VMs (of every
 * host, kept by MappingPlans).
 */
interface RunTemplate {
  readonly kind: number;
  /** The plans of the run's columns, by id. */
  readonly planIds: Int32Array;
  /** False when a column is not owner-targeted or two columns feed one series: the run is laid out column by column. */
  readonly usable: boolean;
  readonly mappedColumns: number;
  readonly unmappedColumns: number;
  readonly disabledColumns: number;
  /** The series in output order, columns relative to the run's first column. */
  readonly block: SeriesBlock;
  /**
   * Per series in first-seen order, for when another column reaches the VM after all (LayoutBuilder._materialize):
   * its column within the run, metric group within the run, key, scale and attributes.
   */
  readonly slotPosition: Int32Array;
  readonly slotGroup: Int32Array;
  readonly slotKey: Int32Array;
  readonly slotScale: Uint8Array;
  readonly slotAttributes: Int32Array;
  /** Per metric group of the run, in first-seen order: the metric and its number of series. */
  readonly groupMetric: Uint8Array;
  readonly groupSize: Int32Array;
}

/** Hash of a run's owner kind and plans (MappingPlans.template). */
function runHash(kind: number, plans: readonly Plan[], count: number): number {
  let hash = Math.imul(kind + 1, 0x9e3779b1);
  for (let i = 0; i < count; i++) hash = Math.imul(hash ^ plans[i]!.id, 0x01000193);
  return hash;
}

function makeRunTemplate(kind: number, plans: readonly Plan[]): RunTemplate {
  let mappedColumns = 0;
  let unmappedColumns = 0;
  let disabledColumns = 0;
  let usable = true;
  const slotOfKey = new Map<number, number>();
  const groupOfMetric = new Map<number, number>();
  const slotPosition: number[] = [];
  const slotGroup: number[] = [];
  const slotKey: number[] = [];
  const slotScale: number[] = [];
  const slotAttributes: number[] = [];
  const groupMetric: number[] = [];
  const groupSize: number[] = [];
  let attributeBound = 1;
  for (let i = 0; i < plans.length; i++) {
    const plan = plans[i]!;
    if (plan.key < 0) {
      usable = false;
      break;
    }
    if (plan.unmapped) unmappedColumns++;
    else mappedColumns++;
    if (!plan.enabled) {
      disabledColumns++;
      continue;
    }
    if (slotOfKey.has(plan.key)) {
      usable = false;
      break;
    }
    slotOfKey.set(plan.key, slotPosition.length);
    attributeBound = Math.max(attributeBound, plan.attributes + 1);
    let group = groupOfMetric.get(plan.metric);
    if (group === undefined) {
      groupOfMetric.set(plan.metric, (group = groupMetric.length));
      groupMetric.push(plan.metric);
      groupSize.push(0);
    }
    groupSize[group]!++;
    slotPosition.push(i);
    slotGroup.push(group);
    slotKey.push(plan.key);
    slotScale.push(plan.scale);
    slotAttributes.push(plan.attributes);
  }
  // Output order: by metric group (first-seen), then first-seen within the group.
  const groupEnd = new Int32Array(groupSize.length);
  for (let g = 0, end = 0; g < groupSize.length; g++) groupEnd[g] = end += groupSize[g]!;
  const next = Int32Array.from(groupEnd, (end, g) => end - groupSize[g]!);
  const seriesColumn = new Int32Array(slotPosition.length);
  const seriesAttributes = new Int32Array(slotPosition.length);
  const seriesScale = new Uint8Array(slotPosition.length);
  for (let k = 0; k < slotPosition.length; k++) {
    const series = next[slotGroup[k]!]!++;
    seriesColumn[series] = slotPosition[k]!;
    seriesAttributes[series] = slotAttributes[k]!;
    seriesScale[series] = slotScale[k]!;
  }
  return {
    kind,
    planIds: Int32Array.from(plans, (plan) => plan.id),
    usable,
    mappedColumns,
    unmappedColumns,
    disabledColumns,
    block: {
      metricDefinition: Uint8Array.from(groupMetric),
      metricSeriesEnd: exactIndexArray(groupEnd, groupEnd.length, slotPosition.length + 1),
      seriesAttributes: exactIndexArray(seriesAttributes, seriesAttributes.length, attributeBound),
      seriesColumn: exactIndexArray(seriesColumn, seriesColumn.length, plans.length),
      seriesScale,
    },
    slotPosition: Int32Array.from(slotPosition),
    slotGroup: Int32Array.from(slotGroup),
    slotKey: Int32Array.from(slotKey),
    slotScale: Uint8Array.from(slotScale),
    slotAttributes: Int32Array.from(slotAttributes),
    groupMetric: Uint8Array.from(groupMetric),
    groupSize: Int32Array.from(groupSize),
  };
}

export function buildLayout(legend: CompactLegend, context: RrdMapContext, matcher: DataSourceMatcher, plans: MappingPlans, scratch: LayoutScratch): Layout {
  return new LayoutBuilder(legend, context, matcher, plans, scratch).build();
}

/**
 * One layout build. The run of a VM that no other column reaches shares a RunTemplate; other columns become
 * slots (series in first-seen order, found by resource and series key) in metric groups (resource and metric),
 * which are then put in output order.
 */
class LayoutBuilder {
  private readonly _legend: CompactLegend;
  private readonly _context: RrdMapContext;
  private readonly _matcher: DataSourceMatcher;
  private readonly _scratch: LayoutScratch;
  private readonly _enablement: MetricsEnablement | undefined;

  private readonly _resources: XenResource[] = [];
  /** Per owner kind: uuid → resource index (no key strings built per column). */
  private readonly _resourceByUuid = { host: new Map<string, number>(), vm: new Map<string, number>(), sr: new Map<string, number>() };
  /** Per source: its kind index (SKIPPED for another consolidation function). */
  private readonly _sourceKind: Int8Array;
  /** Per source: its owner's resource, once a column of it needed it (-1 before). */
  private readonly _ownerResource: Int32Array;
  private _srsByPrefix: Map<string, SrRecord[]> | undefined;

  private readonly _mappingPlans: MappingPlans;
  /** Per owner kind and data-source name: a 100-VM host repeats each VM name ~100 times. */
  private readonly _plans: Array<Plan | undefined>;
  /** Templates used by runs of this legend, by their index in the layout, and their index. */
  private readonly _usedTemplates: RunTemplate[] = [];
  private readonly _templateIndex = new Map<RunTemplate, number>();
  /** The plans of the run being laid out, and the last run laid out from a template. */
  private readonly _runPlans: Plan[] = [];
  private _lastRun: { readonly kind: number; readonly start: number; readonly end: number; readonly template: RunTemplate } | undefined;
  /** Per resource: its template's block index (-1: laid out column by column), and the column its run starts at. */
  private readonly _resourceTemplate: number[] = [];
  private readonly _resourceColumn: number[] = [];

  private _slotCount = 0;
  private _groupCount = 0;
  private _multiColumnBySlot: Map<number, Array<readonly [number, number]>> | undefined;
  private _unknownVms = 0;
  private _unknownSrs = 0;
  private _mappedColumns = 0;
  private _unmappedColumns = 0;
  private _disabledColumns = 0;
  private _otherCfColumns = 0;
  private _srColumnsResolved = 0;
  private _srColumnsUnknown = 0;
  private _srColumnsAmbiguous = 0;

  constructor(legend: CompactLegend, context: RrdMapContext, matcher: DataSourceMatcher, plans: MappingPlans, scratch: LayoutScratch) {
    this._legend = legend;
    this._context = context;
    this._matcher = matcher;
    this._mappingPlans = plans;
    this._scratch = scratch;
    this._enablement = context.options?.metrics;
    plans.prepare(this._enablement);
    const cf = context.options?.cf ?? 'AVERAGE';
    const sources = legend.sources;
    this._sourceKind = new Int8Array(sources.length);
    for (let s = 0; s < sources.length; s++) this._sourceKind[s] = sources[s]!.cf === cf ? KIND_INDEX[sources[s]!.owner] : SKIPPED;
    this._ownerResource = new Int32Array(sources.length).fill(-1);
    this._plans = new Array<Plan | undefined>(3 * legend.names.length);
    scratch.prepare(legend.length);
  }

  build(): Layout {
    const { sourceOf } = this._legend;
    const columns = this._legend.length;
    for (let c = 0; c < columns; ) {
      const s = sourceOf[c]!;
      let end = c + 1;
      while (end < columns && sourceOf[end] === s) end++;
      const kind = this._sourceKind[s]!;
      if (kind === SKIPPED) {
        this._otherCfColumns += end - c;
      } else if ((kind === VM || kind === SR) && this._ownerResource[s]! < 0 && !this._resourceByUuid[KIND_NAMES[kind]!].has(this._legend.sources[s]!.uuid)) {
        const template = this._template(kind, c, end);
        if (template.usable) this._layOutRun(template, s, c);
        else for (let column = c; column < end; column++) this._layOutColumn(column, s, kind);
      } else {
        for (let column = c; column < end; column++) this._layOutColumn(column, s, kind);
      }
      c = end;
    }
    return this._finish();
  }

  // ---- resources ----

  private _addResource(kind: RrdOwnerKind, uuid: string, build: () => XenResource): number {
    const byUuid = this._resourceByUuid[kind];
    let index = byUuid.get(uuid);
    if (index === undefined) {
      index = this._resources.length;
      this._resources.push(build());
      this._resourceTemplate.push(-1);
      this._resourceColumn.push(0);
      byUuid.set(uuid, index);
    }
    return index;
  }

  private _hostResourceOf(uuid: string): number {
    const { host, inventory, pool } = this._context;
    return this._addResource('host', uuid, () => {
      const record = uuid === host.uuid ? host : recordByUuid(inventory, inventory.hosts, uuid);
      return record ? hostResource(pool, record) : unknownHostResource(pool, uuid);
    });
  }

  // The VM's RRD is on the host that reports it: that is where it runs, even before `resident_on` follows.
  private _vmResourceOf(uuid: string): number {
    const { host, inventory, pool } = this._context;
    return this._addResource('vm', uuid, () => {
      const vm = recordByUuid(inventory, inventory.vms, uuid);
      if (!vm) this._unknownVms++;
      return vm ? vmResource(pool, vm, host) : unknownVmResource(pool, uuid, host);
    });
  }

  private _srResourceOf(uuid: string, known: SrRecord | undefined): number {
    const { inventory, pool } = this._context;
    return this._addResource('sr', uuid, () => {
      const sr = known ?? recordByUuid(inventory, inventory.srs, uuid);
      if (!sr) this._unknownSrs++;
      return sr ? srResource(pool, sr) : unknownSrResource(pool, uuid);
    });
  }

  private _ownerResourceOf(s: number): number {
    let resource = this._ownerResource[s]!;
    if (resource < 0) {
      const uuid = this._legend.sources[s]!.uuid;
      const kind = this._sourceKind[s];
      resource = kind === VM ? this._vmResourceOf(uuid) : kind === SR ? this._srResourceOf(uuid, undefined) : this._hostResourceOf(kind === OTHER ? this._context.host.uuid : uuid);
      this._ownerResource[s] = resource;
    }
    return resource;
  }

  /** SRs with a PBD on the reporting host, by 8-char prefix (notes §8.7: beware prefix collisions). */
  private _srsWithPrefix(prefix: string): SrRecord[] {
    if (!this._srsByPrefix) {
      const { host, inventory } = this._context;
      const byPrefix = new Map<string, SrRecord[]>();
      const seen = new Set<string>();
      for (const pbdRef of host.PBDs) {
        const pbd = inventory.pbds.get(pbdRef);
        const sr = pbd ? inventory.srs.get(pbd.SR) : undefined;
        if (!sr || seen.has(sr.uuid)) continue;
        seen.add(sr.uuid);
        const key = sr.uuid.slice(0, 8).toLowerCase();
        const list = byPrefix.get(key) ?? [];
        list.push(sr);
        byPrefix.set(key, list);
      }
      this._srsByPrefix = byPrefix;
    }
    return this._srsByPrefix.get(prefix) ?? [];
  }

  // ---- ids and plans ----

  /** Plan of a data-source name, by its index in this legend (looked up by name once per build). */
  private _plan(kind: number, name: number): Plan {
    const index = kind * this._legend.names.length + name;
    let plan = this._plans[index];
    if (!plan) this._plans[index] = plan = this._mappingPlans.plan(kind, this._legend.names[name]!, this._matcher);
    return plan;
  }

  // ---- columns ----

  private _layOutColumn(c: number, s: number, kind: number): void {
    let resource: number;
    let key: number;
    let metric: number;
    let attributes: number;
    let scale: number;
    let scaleValue: number;
    if (kind === OTHER) {
      this._unmappedColumns++;
      const definition = metrics['xen.host.rrd.unmapped'];
      if (!isMetricEnabled(definition, this._enablement)) {
        this._disabledColumns++;
        return;
      }
      const raw = this._legend.raw(c);
      resource = this._ownerResourceOf(s);
      const keyText = `xen.host.rrd.unmapped\u0000xen.rrd.data_source=${raw}`;
      key = this._mappingPlans.keyId(keyText);
      metric = RRD_METRIC_INDEX.get(definition)!;
      attributes = this._mappingPlans.madeAttributesId(keyText, () => ({ 'xen.rrd.data_source': raw }));
      scaleValue = 1;
      scale = this._mappingPlans.scaleId(1);
    } else {
      const plan = this._plan(kind, this._legend.nameOf[c]!);
      if (plan.unmapped) this._unmappedColumns++;
      else this._mappedColumns++;
      if (!plan.enabled) {
        this._disabledColumns++;
        return;
      }
      const mapping = plan.mapping;
      metric = plan.metric;
      scale = plan.scale;
      scaleValue = mapping.scale;
      const target = mapping.target;
      if (target.kind === 'owner') {
        resource = this._ownerResourceOf(s);
        key = plan.key;
        attributes = plan.attributes;
      } else {
        // SR columns: the series also names the reporting host (or keeps the raw prefix), so it depends on the column's source.
        const uuid = this._legend.sources[s]!.uuid;
        let keyText: string;
        if (target.kind === 'sr8') {
          const candidates = this._srsWithPrefix(target.prefix);
          if (candidates.length === 1) {
            this._srColumnsResolved++;
            resource = this._srResourceOf(candidates[0]!.uuid, candidates[0]);
            keyText = `${mapping.key}\u0000xen.host.uuid=${uuid}`;
            attributes = this._mappingPlans.madeAttributesId(keyText, () => ({ ...mapping.attributes, 'xen.host.uuid': uuid }));
          } else {
            if (candidates.length === 0) this._srColumnsUnknown++;
            else this._srColumnsAmbiguous++;
            resource = this._hostResourceOf(uuid);
            keyText = `${mapping.key}\u0000xen.sr.uuid_prefix=${target.prefix}`;
            attributes = this._mappingPlans.madeAttributesId(keyText, () => ({ ...mapping.attributes, 'xen.sr.uuid_prefix': target.prefix }));
          }
        } else {
          resource = this._srResourceOf(target.uuid, undefined);
          keyText = `${mapping.key}\u0000xen.host.uuid=${uuid}`;
          attributes = this._mappingPlans.madeAttributesId(keyText, () => ({ ...mapping.attributes, 'xen.host.uuid': uuid }));
        }
        key = this._mappingPlans.keyId(keyText);
      }
    }

    if (this._resourceTemplate[resource]! >= 0) this._materialize(resource);
    const { slotOf, groupOf, slotGroup, slotColumn, slotScale, slotAttributes, slotKey, groupResource, groupMetric, groupSize } = this._scratch;
    const existing = slotOf.get(resource, key);
    if (existing >= 0) {
      this._join(existing, c, scaleValue);
      return;
    }
    const slot = this._slotCount++;
    slotOf.add(resource, key, slot);
    let group = groupOf.get(resource, metric);
    if (group < 0) {
      group = this._groupCount++;
      groupOf.add(resource, metric, group);
      groupResource[group] = resource;
      groupMetric[group] = metric;
      groupSize[group] = 0;
    }
    groupSize[group]!++;
    slotGroup[slot] = group;
    slotColumn[slot] = c;
    slotScale[slot] = scale;
    slotAttributes[slot] = attributes;
    slotKey[slot] = key;
  }

  /** A second column for an existing series (not in xapi's legends): merged at fill time. */
  private _join(slot: number, c: number, scale: number): void {
    this._multiColumnBySlot ??= new Map();
    let several = this._multiColumnBySlot.get(slot);
    if (!several) this._multiColumnBySlot.set(slot, (several = [[this._scratch.slotColumn[slot]!, this._mappingPlans.scales[this._scratch.slotScale[slot]!]!]]));
    several.push([c, scale]);
  }

  /**
   * A column of another run reaches a resource laid out from a template (the same VM twice in a legend, say):
   * its template's series become slots like the others', so the column joins or adds to them.
   */
  private _materialize(resource: number): void {
    const template = this._usedTemplates[this._resourceTemplate[resource]!]!;
    const c0 = this._resourceColumn[resource]!;
    this._resourceTemplate[resource] = -1;
    const { slotOf, groupOf, slotGroup, slotColumn, slotScale, slotAttributes, slotKey, groupResource, groupMetric, groupSize } = this._scratch;
    const groupBase = this._groupCount;
    for (let g = 0; g < template.groupMetric.length; g++) {
      const group = this._groupCount++;
      groupOf.get(resource, template.groupMetric[g]!);
      groupOf.add(resource, template.groupMetric[g]!, group);
      groupResource[group] = resource;
      groupMetric[group] = template.groupMetric[g]!;
      groupSize[group] = template.groupSize[g]!;
    }
    for (let k = 0; k < template.slotPosition.length; k++) {
      const slot = this._slotCount++;
      slotOf.get(resource, template.slotKey[k]!);
      slotOf.add(resource, template.slotKey[k]!, slot);
      slotGroup[slot] = groupBase + template.slotGroup[k]!;
      slotColumn[slot] = c0 + template.slotPosition[k]!;
      slotScale[slot] = template.slotScale[k]!;
      slotAttributes[slot] = template.slotAttributes[k]!;
      slotKey[slot] = template.slotKey[k]!;
    }
  }

  /** The template of the run `[c0, c1)`: the previous run's when it has the same names (VMs alike follow each other). */
  private _template(kind: number, c0: number, c1: number): RunTemplate {
    const nameOf = this._legend.nameOf;
    const last = this._lastRun;
    if (last && last.kind === kind && last.end - last.start === c1 - c0) {
      let same = true;
      for (let i = 0; same && i < c1 - c0; i++) same = nameOf[last.start + i] === nameOf[c0 + i];
      if (same) return last.template;
    }
    const plans = this._runPlans;
    for (let c = c0; c < c1; c++) plans[c - c0] = this._plan(kind, nameOf[c]!);
    const template = this._mappingPlans.template(kind, plans, c1 - c0, runHash(kind, plans, c1 - c0));
    this._lastRun = { kind, start: c0, end: c1, template };
    return template;
  }

  /** Lays out the run of source `s` starting at column `c0` from its template (its resource is new). */
  private _layOutRun(template: RunTemplate, s: number, c0: number): void {
    this._mappedColumns += template.mappedColumns;
    this._unmappedColumns += template.unmappedColumns;
    this._disabledColumns += template.disabledColumns;
    if (template.slotPosition.length === 0) return;
    const resource = this._ownerResourceOf(s);
    let index = this._templateIndex.get(template);
    if (index === undefined) this._templateIndex.set(template, (index = this._usedTemplates.push(template) - 1));
    this._resourceTemplate[resource] = index;
    this._resourceColumn[resource] = c0;
  }

  // ---- output order ----

  /** Resources in first-seen order, each with its metric groups in first-seen order, each with its series in first-seen order. */
  private _finish(): Layout {
    const slotCount = this._slotCount;
    const groupCount = this._groupCount;
    const resourceCount = this._resources.length;
    const { slotGroup, slotColumn, slotScale, slotAttributes, groupResource, groupMetric, groupSize, orderedGroup, nextSeries, metricSeriesEnd, seriesAttributes, seriesColumn } = this._scratch;
    const resourceMetricEnd = new Int32Array(resourceCount);
    for (let group = 0; group < groupCount; group++) resourceMetricEnd[groupResource[group]!]!++;
    for (let r = 1; r < resourceCount; r++) resourceMetricEnd[r]! += resourceMetricEnd[r - 1]!;
    // Output position of each group (first-seen id → ordered).
    const groupFill = new Int32Array(resourceCount);
    for (let group = 0; group < groupCount; group++) {
      const r = groupResource[group]!;
      orderedGroup[group] = (r === 0 ? 0 : resourceMetricEnd[r - 1]!) + groupFill[r]!++;
    }
    const metricDefinition = new Uint8Array(groupCount);
    for (let group = 0; group < groupCount; group++) {
      metricDefinition[orderedGroup[group]!] = groupMetric[group]!;
      metricSeriesEnd[orderedGroup[group]!] = groupSize[group]!;
    }
    for (let m = 1; m < groupCount; m++) metricSeriesEnd[m]! += metricSeriesEnd[m - 1]!;
    // Per group: the next output position of its series.
    for (let group = 0; group < groupCount; group++) {
      const m = orderedGroup[group]!;
      nextSeries[group] = m === 0 ? 0 : metricSeriesEnd[m - 1]!;
    }
    const seriesScale = new Uint8Array(slotCount);
    let multiColumn: Map<number, ReadonlyArray<readonly [number, number]>> | undefined;
    for (let slot = 0; slot < slotCount; slot++) {
      const series = nextSeries[slotGroup[slot]!]!++;
      seriesAttributes[series] = slotAttributes[slot]!;
      seriesColumn[series] = slotColumn[slot]!;
      seriesScale[series] = slotScale[slot]!;
      const several = this._multiColumnBySlot?.get(slot);
      if (several) (multiColumn ??= new Map()).set(series, several);
    }

    return {
      resources: this._resources.slice(),
      resourceTemplate: Int32Array.from(this._resourceTemplate),
      resourceColumn: Int32Array.from(this._resourceColumn),
      resourceMetricEnd: exactIndexArray(resourceMetricEnd, resourceCount, groupCount + 1),
      block: {
        metricDefinition,
        metricSeriesEnd: exactIndexArray(metricSeriesEnd, groupCount, slotCount + 1),
        seriesAttributes: exactIndexArray(seriesAttributes, slotCount, this._mappingPlans.attributeSets.length),
        seriesColumn: exactIndexArray(seriesColumn, slotCount, this._legend.length),
        seriesScale,
      },
      templates: this._usedTemplates.map((template) => template.block),
      attributeSets: this._mappingPlans.attributeSets,
      scales: Float64Array.from(this._mappingPlans.scales),
      multiColumn,
      counts: {
        columns: this._legend.length,
        mappedColumns: this._mappedColumns,
        unmappedColumns: this._unmappedColumns,
        disabledColumns: this._disabledColumns,
        otherCfColumns: this._otherCfColumns,
        srColumnsResolved: this._srColumnsResolved,
        srColumnsUnknown: this._srColumnsUnknown,
        srColumnsAmbiguous: this._srColumnsAmbiguous,
        unknownVms: this._unknownVms,
        unknownSrs: this._unknownSrs,
      },
    };
  }
}

function recordByUuid<T extends { uuid: string }>(inventory: Inventory, table: ReadonlyMap<string, T>, uuid: string): T | undefined {
  const ref = inventory.refOfUuid(uuid);
  const record = ref === undefined ? undefined : table.get(ref);
  return record && record.uuid === uuid ? record : undefined;
}
