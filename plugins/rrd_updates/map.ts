// Pure mapping of one parsed `/rrd_updates` response of one host to a MetricBatch (resources: host, VM, SR).
//
// Per-column work (legend entry → metric, attributes, resource) is computed once per legend and inventory state
// and cached in an RrdMapper as a layout (layout.ts); each call then only copies values into series. The output
// depends only on the inputs: the cache is memoisation, never state that changes results.

import type { Attributes, MetricBatch, MetricData, MetricsEnablement, ResourceMetricsData, SeriesData } from '../../src/plugin-api/index.ts';
import type { HostRecord, Inventory, PoolRecord } from '../../src/lib/xapi/types.ts';
import { buildLayout, LayoutScratch, MappingPlans, RRD_METRICS, type Layout, type SeriesBlock } from './layout.ts';
import type { CompactLegend } from './legend.ts';
import { DataSourceMatcher } from './metadata.ts';
import type { ParsedRrdUpdates } from './parse.ts';

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

/** What the mapper reads of a parsed response (the scraper passes a window of its rows). */
export type RrdRows = Pick<ParsedRrdUpdates, 'columns' | 'compactLegend' | 'timestamps' | 'values'>;

/** One-shot mapping without a cache (tests, tools). Receivers keep an RrdMapper. */
export function mapRrdUpdates(parsed: RrdRows, context: RrdMapContext): RrdMapResult {
  return new RrdMapper().map(parsed, context);
}


interface CacheEntry {
  readonly legend: CompactLegend;
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
  private readonly _plans = new MappingPlans();
  private readonly _scratch = new LayoutScratch();

  constructor(matcher: DataSourceMatcher = new DataSourceMatcher()) {
    this._matcher = matcher;
  }

  map(parsed: RrdRows, context: RrdMapContext): RrdMapResult {
    const layout = this._layout(parsed.compactLegend, context);
    return fill(parsed, layout, context.options?.minTimeExclusive);
  }

  /** Forgets the layout of a host (e.g. removed from the pool). */
  forgetHost(hostUuid: string): void {
    this._layouts.delete(hostUuid);
  }

  private _layout(legend: CompactLegend, context: RrdMapContext): Layout {
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
    const layout = buildLayout(legend, context, this._matcher, this._plans, this._scratch);
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

/** Copies the selected rows of every column into series, oldest first; NaN/±Infinity are not points. */
function fill(rows: RrdRows, layout: Layout, minTimeExclusive: number | undefined): RrdMapResult {
  const filler = new Filler(rows, layout, minTimeExclusive);
  const { resources, resourceTemplate, resourceColumn, resourceMetricEnd, block, templates } = layout;
  const out: ResourceMetricsData[] = [];
  for (let r = 0; filler.rowsTaken > 0 && r < resources.length; r++) {
    const template = resourceTemplate[r]!;
    let metrics: MetricData[] | undefined;
    if (template >= 0) {
      const run = templates[template]!;
      metrics = filler.metrics(run, 0, run.metricDefinition.length, resourceColumn[r]!, undefined);
    } else {
      metrics = filler.metrics(block, r === 0 ? 0 : resourceMetricEnd[r - 1]!, resourceMetricEnd[r]!, 0, layout.multiColumn);
    }
    if (metrics) out.push({ key: resources[r]!.key, resource: resources[r]!.attributes, metrics });
  }
  return {
    batch: { resources: out },
    stats: { ...layout.counts, rowsTaken: filler.rowsTaken, points: filler.points, skippedValues: filler.skippedValues, newestTime: filler.newestTime },
  };
}

/** The rows of one fill, and what it counted. */
class Filler {
  readonly rowsTaken: number;
  readonly newestTime: number | undefined;
  points = 0;
  skippedValues = 0;
  private readonly _values: Float64Array;
  private readonly _columns: number;
  /** Rows taken, oldest first, and their times (ms): rows are sent newest first. */
  private readonly _rowIndex: number[] = [];
  private readonly _timesMs: number[] = [];
  /** With one row taken (the steady state): its offset in `values`; else -1. */
  private readonly _singleRowBase: number;
  private readonly _attributeSets: readonly Attributes[];
  private readonly _scales: Float64Array;

  constructor(rows: RrdRows, layout: Layout, minTimeExclusive: number | undefined) {
    const { timestamps } = rows;
    let newestTime: number | undefined;
    for (let r = timestamps.length - 1; r >= 0; r--) {
      const t = timestamps[r]!;
      if (minTimeExclusive !== undefined && !(t > minTimeExclusive)) continue;
      this._rowIndex.push(r);
      this._timesMs.push(t * 1000);
      if (newestTime === undefined || t > newestTime) newestTime = t;
    }
    this.rowsTaken = this._rowIndex.length;
    this.newestTime = newestTime;
    this._values = rows.values;
    this._columns = rows.columns;
    this._singleRowBase = this.rowsTaken === 1 ? this._rowIndex[0]! * rows.columns : -1;
    this._attributeSets = layout.attributeSets;
    this._scales = layout.scales;
  }

  /**
   * The metrics `[metricStart, metricEnd)` of `block` with their series (columns offset by `columnBase`);
   * undefined when no series has a point. Arrays are allocated at the size the layout allows and trimmed when
   * values were missing: arrays grown by push() start with room for 16, and most metrics of a VM have one or
   * two series (that was ~40 % of the garbage of a fill).
   */
  metrics(block: SeriesBlock, metricStart: number, metricEnd: number, columnBase: number, multiColumn: Layout['multiColumn']): MetricData[] | undefined {
    const { metricDefinition, metricSeriesEnd, seriesAttributes, seriesColumn, seriesScale } = block;
    const values = this._values;
    const attributeSets = this._attributeSets;
    const scales = this._scales;
    const timesMs = this._timesMs;
    const singleRowBase = this._singleRowBase;
    let metricData: MetricData[] | undefined;
    let metricCount = 0;
    let s = metricStart === 0 ? 0 : metricSeriesEnd[metricStart - 1]!;
    for (let m = metricStart; m < metricEnd; m++) {
      const seriesEnd = metricSeriesEnd[m]!;
      let series: SeriesData[] | undefined;
      let seriesCount = 0;
      for (; s < seriesEnd; s++) {
        const attributes = attributeSets[seriesAttributes[s]!]!;
        let one: SeriesData | undefined;
        const several = multiColumn?.get(s);
        if (several) {
          one = this._mergedSeries(several, attributes);
        } else if (singleRowBase >= 0) {
          const v = values[singleRowBase + columnBase + seriesColumn[s]!]!;
          if (v - v === 0) {
            // Finite (NaN - NaN and Inf - Inf are NaN).
            const k = scales[seriesScale[s]!]!;
            one = { attributes, timesMs, values: [k === 1 ? v : v * k] };
            this.points++;
          } else {
            this.skippedValues++;
          }
        } else {
          one = this._columnSeries(columnBase + seriesColumn[s]!, scales[seriesScale[s]!]!, attributes);
        }
        if (one) (series ??= new Array<SeriesData>(seriesEnd - s))[seriesCount++] = one;
      }
      if (series) {
        if (seriesCount < series.length) series.length = seriesCount;
        (metricData ??= new Array<MetricData>(metricEnd - m))[metricCount++] = { definition: RRD_METRICS[metricDefinition[m]!]!, series };
      }
    }
    if (metricData && metricCount < metricData.length) metricData.length = metricCount;
    return metricData;
  }

  /** One column's series over the rows taken. A column without gaps shares the call's time array (read-only by contract). */
  private _columnSeries(c: number, k: number, attributes: Attributes): SeriesData | undefined {
    const rowIndex = this._rowIndex;
    const nRows = rowIndex.length;
    const out: number[] = new Array<number>(nRows);
    let n = 0;
    let times: number[] | undefined;
    for (let i = 0; i < nRows; i++) {
      const v = this._values[rowIndex[i]! * this._columns + c]!;
      if (v - v === 0) {
        if (times) times.push(this._timesMs[i]!);
        out[n++] = k === 1 ? v : v * k;
      } else if (!times) {
        times = this._timesMs.slice(0, i);
      }
    }
    this.skippedValues += nRows - n;
    if (n === 0) return undefined;
    this.points += n;
    if (n < nRows) out.length = n;
    return { attributes, timesMs: times ?? this._timesMs, values: out };
  }

  /** Several columns for one series (should not happen with xapi's legends): merged; on equal times the later column wins. */
  private _mergedSeries(several: ReadonlyArray<readonly [number, number]>, attributes: Attributes): SeriesData | undefined {
    const byTime = new Map<number, number>();
    for (const [c, k] of several) {
      for (let i = 0; i < this._rowIndex.length; i++) {
        const v = this._values[this._rowIndex[i]! * this._columns + c]!;
        if (v - v === 0) byTime.set(this._timesMs[i]!, v * k);
        else this.skippedValues++;
      }
    }
    if (byTime.size === 0) return undefined;
    const timesMs = [...byTime.keys()].sort((a, b) => a - b);
    this.points += timesMs.length;
    return { attributes, timesMs, values: timesMs.map((t) => byTime.get(t)!) };
  }
}
