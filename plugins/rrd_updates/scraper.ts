// The rrd_updates scraper: one `/rrd_updates` request per enabled, live host of every configured pool each
// cycle (notes/xapi.md §7.1, §8.1), bounded globally here (p-limit) and per pool by the XapiPool. Each host has
// a cursor in its own clock (cursor.ts) that moves only when the pipeline reports the host's resources
// delivered, so an exporter outage replays instead of losing rows, and a replay never repeats what arrived.
// One host's failure is one ScrapeItemError plus `xen.rrd.scrape.up = 0` on that host; the others complete.

import pLimit from 'p-limit';
import {
  AgentError,
  ScrapeItemError,
  type Attributes,
  type DeliveryReport,
  type Logger,
  type MetricData,
  type MetricDefinition,
  type ReceiverSettings,
  type ResourceMetricsData,
  type Scraper,
  type ScrapeResult,
  type SeriesData,
} from '../../src/plugin-api/index.ts';
import { readInventories } from '../../src/lib/storage/index.ts';
import { ResponseBufferPool } from '../../src/lib/xapi/response-buffer.ts';
import type { HostRecord, Inventory, XapiPool } from '../../src/lib/xapi/types.ts';
import { hostResource } from '../../src/lib/xen-resources/index.ts';
import type { RrdUpdatesConfig } from './config.ts';
import { HostCursor, rowWindow } from './cursor.ts';
import { metrics } from './metadata.ts';
import { RrdMapper, type RrdRows } from './map.ts';
import { LegendCache, parseRrdUpdates, type CompactLegend, type ParsedRrdUpdates } from './parse.ts';
import { wireFormatFor, type WireFormat } from './wire-format.ts';

export const RRD_ERR_NO_INVENTORY = 'RRD_ERR_NO_INVENTORY';
export const RRD_ERR_POOL_UNAVAILABLE = 'RRD_ERR_POOL_UNAVAILABLE';
export const RRD_ERR_FETCH = 'RRD_ERR_FETCH';
export const RRD_ERR_HOST_NOT_LIVE = 'RRD_ERR_HOST_NOT_LIVE';

const ACCEPT = { json: 'application/json', xml: 'text/xml' } as const;

/** First poll: this much host time before `host.get_servertime` (a few rows, so the first cycle has data). */
export function initialWindowSeconds(resolution: number): number {
  return resolution === 5 ? 60 : 2 * resolution;
}

interface HostState {
  readonly cursor: HostCursor;
  readonly legendCache: LegendCache;
  parseErrors: number;
  stepFallbacks: number;
  skippedSeconds: number;
  /** The last response came from a coarser archive than configured (logged on change). */
  coarse: boolean;
  /** Wire format of the last request (logged on change). */
  format?: WireFormat;
  /** VM uuids of the last legend (recomputed when the legend changes). */
  legendVms?: { legend: CompactLegend; uuids: string[] };
}

/** What one host contributed to a scrape. */
interface HostOutcome {
  readonly stateKey: string;
  readonly poolName: string;
  readonly host: HostRecord;
  readonly resources: ResourceMetricsData[];
  /** Newest row taken (host s); undefined when no row was taken. */
  readonly newest: number | undefined;
  readonly error?: ScrapeItemError;
}

export interface RrdScraperOptions {
  /** Deadline of one host's `/rrd_updates` request (ms), on top of the pool's own request timeout. */
  readonly requestTimeoutMs?: number;
}

export class RrdUpdatesScraper implements Scraper {
  private readonly _settings: ReceiverSettings;
  private readonly _config: Readonly<RrdUpdatesConfig>;
  private readonly _log: Logger;
  private readonly _limit: ReturnType<typeof pLimit>;
  private readonly _mapper = new RrdMapper();
  /** Separate layout cache for the one-VM gap reads, so they do not evict the hosts' steady-state layouts. */
  private readonly _gapMapper = new RrdMapper();
  /** Per `pool\0hostUuid`. */
  private readonly _hosts = new Map<string, HostState>();
  /** Per `pool\0vm:<uuid>`: newest row delivered for the VM from any host (it follows a migration). */
  private readonly _vmDelivered = new Map<string, number>();
  private readonly _requestTimeoutMs: number | undefined;
  /** Receive buffers for the bodies, one per host request in flight, kept across cycles. */
  private readonly _buffers: ResponseBufferPool;

  constructor(settings: ReceiverSettings, config: Readonly<RrdUpdatesConfig>, options: RrdScraperOptions = {}) {
    this._settings = settings;
    this._config = config;
    this._log = settings.logger;
    this._limit = pLimit(config.max_concurrent_hosts_global);
    this._requestTimeoutMs = options.requestTimeoutMs;
    this._buffers = new ResponseBufferPool(config.max_concurrent_hosts_global);
  }

  /** Receive buffers created so far (tests, benchmarks): at most one per host request in flight. */
  get receiveBuffersCreated(): number {
    return this._buffers.created;
  }

  /** Cursor of one host (tests, debugging). */
  cursorOf(poolName: string, hostUuid: string): HostCursor | undefined {
    return this._hosts.get(`${poolName}\u0000${hostUuid}`)?.cursor;
  }

  async scrape(signal: AbortSignal): Promise<ScrapeResult> {
    const { ready, failed } = await readInventories(this._settings.pools, this._config.pools, signal);
    if (ready.length === 0) {
      throw new AgentError(RRD_ERR_NO_INVENTORY, 'no configured pool has an inventory yet', {
        cause: failed[0]?.cause,
        details: { pools: this._config.pools },
      });
    }
    const errors: ScrapeItemError[] = failed.map(
      (f) => new ScrapeItemError(RRD_ERR_POOL_UNAVAILABLE, `pool:${f.name}`, 'pool inventory is not available', { cause: f.cause, details: { pool: f.name } }),
    );

    const tasks: Promise<HostOutcome | undefined>[] = [];
    for (const { name, inventory } of ready) {
      const pool = this._settings.pools.get(name);
      const seen = new Set<string>();
      for (const host of [...inventory.hosts.values()].sort((a, b) => a.uuid.localeCompare(b.uuid))) {
        seen.add(host.uuid);
        if (!host.enabled) continue; // maintenance mode: not polled (the cursor's max_backfill bounds the catch-up)
        tasks.push(this._limit(() => this._scrapeHost(name, pool, inventory, host, signal)));
      }
      this._forgetRemovedHosts(name, seen);
    }
    const outcomes = (await Promise.all(tasks)).filter((o): o is HostOutcome => o !== undefined);
    for (const o of outcomes) if (o.error) errors.push(o.error);

    const { resources, keysByHost } = assemble(outcomes);
    return {
      batch: { resources },
      errors,
      onDelivery: (report) => this._onDelivery(outcomes, keysByHost, report),
    };
  }

  private _onDelivery(outcomes: readonly HostOutcome[], keysByHost: ReadonlyMap<string, readonly string[]>, report: DeliveryReport): void {
    for (const o of outcomes) {
      if (o.newest === undefined) continue;
      const state = this._hosts.get(o.stateKey);
      if (!state) continue;
      const keys = keysByHost.get(o.stateKey) ?? [];
      state.cursor.commit(o.newest, keys, (key) => report.delivered(key));
      for (const key of keys) {
        if (!key.startsWith('vm:') || !report.delivered(key)) continue;
        const vmKey = `${o.poolName}\u0000${key}`;
        const previous = this._vmDelivered.get(vmKey);
        if (previous === undefined || previous < o.newest) this._vmDelivered.set(vmKey, o.newest);
      }
    }
  }

  private _state(stateKey: string): HostState {
    let state = this._hosts.get(stateKey);
    if (!state) {
      const resolution = this._config.resolution;
      state = {
        cursor: new HostCursor({ resolution, maxBackfill: this._config.max_backfill, initialWindow: initialWindowSeconds(resolution) }),
        legendCache: new LegendCache(),
        parseErrors: 0,
        stepFallbacks: 0,
        skippedSeconds: 0,
        coarse: false,
      };
      this._hosts.set(stateKey, state);
    }
    return state;
  }

  private _forgetRemovedHosts(poolName: string, present: ReadonlySet<string>): void {
    const prefix = `${poolName}\u0000`;
    for (const key of this._hosts.keys()) {
      if (!key.startsWith(prefix)) continue;
      const uuid = key.slice(prefix.length);
      if (!present.has(uuid)) {
        this._hosts.delete(key);
        this._mapper.forgetHost(uuid);
      }
    }
  }

  private async _scrapeHost(poolName: string, pool: XapiPool, inventory: Inventory, host: HostRecord, signal: AbortSignal): Promise<HostOutcome | undefined> {
    if (signal.aborted) return undefined;
    const stateKey = `${poolName}\u0000${host.uuid}`;
    const state = this._state(stateKey);
    const clock = this._settings.clock;
    const t0 = performance.now();
    const item = `host:${host.uuid}`;
    const log = this._log;
    const self = new SelfMetrics(clock.now());
    const fail = (code: string, message: string, cause: unknown): HostOutcome => {
      self.add(metrics['xen.rrd.scrape.up'], 0);
      self.add(metrics['xen.rrd.scrape.duration'], (performance.now() - t0) / 1000);
      self.addCounters(state);
      return {
        stateKey,
        poolName,
        host,
        resources: [self.resource(hostResource(inventory.pool, host))],
        newest: undefined,
        error: new ScrapeItemError(code, item, message, { cause, details: { pool: poolName, host: host.uuid, hostName: host.name_label } }),
      };
    };

    const hostMetrics = inventory.hostMetrics.get(host.metrics);
    if (hostMetrics && !hostMetrics.live) return fail(RRD_ERR_HOST_NOT_LIVE, 'host is not live (host_metrics.live = false); not polled', undefined);

    const requestSignal = this._requestTimeoutMs === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(this._requestTimeoutMs)]);
    const { cursor } = state;
    if (!cursor.initialized) {
      try {
        cursor.initialize(await pool.hostServerTime(host.ref, requestSignal));
      } catch (err) {
        return fail(codeOf(err, RRD_ERR_FETCH), 'host.get_servertime failed', err);
      }
    }
    const plan = cursor.plan(clock.now());
    if (plan.skippedSeconds > 0) {
      state.skippedSeconds += plan.skippedSeconds;
      log.warn({ pool: poolName, host: host.uuid, skippedSeconds: plan.skippedSeconds, maxBackfill: this._config.max_backfill }, 'cursor lagged more than max_backfill; older rows skipped');
    }
    const query: Record<string, string> = {
      start: String(plan.start),
      cf: this._config.cf,
      interval: String(this._config.resolution),
    };
    if (this._config.include_host) query['host'] = 'true';
    const format = this._format(state, poolName, host);
    // Hosts older than xapi 23.17 ignore Accept and answer JSON only with the `json` key (notes §1.3).
    if (format === 'json') query['json'] = 'true';

    // The body is read into a buffer kept across cycles and is only needed until it is parsed (the parse copies what
    // it keeps). A buffer whose request failed is not reused: an aborted transfer must not write into the next body.
    const receive = this._buffers.acquire();
    let body: Buffer;
    try {
      const res = await pool.getFromHost(host.ref, { path: '/rrd_updates', query, accept: ACCEPT[format], signal: requestSignal, into: receive });
      body = res.body;
    } catch (err) {
      return fail(codeOf(err, RRD_ERR_FETCH), '/rrd_updates request failed', err);
    }

    const bodyBytes = body.length;
    let parsed: ParsedRrdUpdates;
    try {
      parsed = parseRrdUpdates(body, { legendCache: state.legendCache });
    } catch (err) {
      state.parseErrors += 1;
      self.add(metrics['xen.rrd.scrape.bytes'], bodyBytes);
      return fail(codeOf(err, RRD_ERR_FETCH), '/rrd_updates response could not be parsed', err);
    } finally {
      this._buffers.release(receive);
    }

    const lagBefore = Math.max(0, parsed.end - (cursor.delivered ?? parsed.end));
    const check = cursor.observe(parsed.end, clock.now());
    if (check.kind === 'reset') {
      log.warn({ pool: poolName, host: host.uuid, cursor: check.previous, hostEnd: parsed.end }, 'host clock is far behind the cursor; cursor restarted from host time');
    }
    this._trackStep(state, parsed.step, poolName, host);

    const after = cursor.delivered ?? -Infinity;
    const window = parsed.rows > 0 && check.kind !== 'behind' ? rowWindow(parsed.timestamps, after, this._config.max_rows_per_cycle) : { begin: 0, end: 0, available: 0, newest: undefined };
    let view: RrdRows = parsed;
    let minTimeExclusive: number | undefined;
    if (window) {
      const cols = parsed.columns;
      view = {
        columns: cols,
        compactLegend: parsed.compactLegend,
        timestamps: parsed.timestamps.subarray(window.begin, window.end),
        values: parsed.values.subarray(window.begin * cols, window.end * cols),
      };
    } else {
      minTimeExclusive = after; // rows not newest first: filter by time, no cap
    }
    const { batch, stats } = this._mapper.map(view, {
      pool: inventory.pool,
      host,
      inventory,
      options: { metrics: this._config.metrics, cf: this._config.cf, ...(minTimeExclusive !== undefined ? { minTimeExclusive } : {}) },
    });
    const newest = window ? window.newest : stats.newestTime;

    // Replays: drop what resources delivered by an earlier, partly delivered scrape (or by the VM's previous host).
    const resources: ResourceMetricsData[] = [];
    for (const r of batch.resources) {
      let bound = cursor.minTimeExclusive(r.key);
      if (r.key.startsWith('vm:')) bound = Math.max(bound, this._vmDelivered.get(`${poolName}\u0000${r.key}`) ?? -Infinity);
      const kept = bound > after ? keepPoints(r, (tMs) => tMs > bound * 1000) : r;
      if (kept) resources.push(kept);
    }

    // VMs that just arrived from another host (migration) whose rows the old host did not deliver up to this
    // host's cursor: xcp-rrdd moved their RRD with them, so read the gap here.
    let bytes = bodyBytes;
    for (const gap of this._migrationGaps(state, parsed, poolName, after)) {
      try {
        bytes += await this._readGap(pool, inventory, host, gap, after, requestSignal, resources);
      } catch (err) {
        log.debug({ err, pool: poolName, host: host.uuid, vm: gap.vmUuid }, 'reading the rows of a migrated VM failed');
      }
    }

    self.add(metrics['xen.rrd.scrape.up'], 1);
    self.add(metrics['xen.rrd.scrape.duration'], (performance.now() - t0) / 1000);
    self.add(metrics['xen.rrd.scrape.bytes'], bytes);
    self.add(metrics['xen.rrd.scrape.columns'], parsed.columns);
    self.add(metrics['xen.rrd.scrape.rows'], parsed.rows);
    self.add(metrics['xen.rrd.scrape.unmapped_columns'], stats.unmappedColumns);
    self.add(metrics['xen.rrd.scrape.unresolved_sr_columns'], stats.srColumnsUnknown + stats.srColumnsAmbiguous);
    self.add(metrics['xen.rrd.scrape.cursor.lag'], lagBefore);
    self.add(metrics['xen.rrd.scrape.step'], parsed.step);
    self.addCounters(state);
    const hostKey = `host:${host.uuid}`;
    const index = resources.findIndex((r) => r.key === hostKey);
    if (index >= 0) resources[index] = self.appendTo(resources[index]!);
    else resources.push(self.resource(hostResource(inventory.pool, host)));

    log.debug({ pool: poolName, host: host.uuid, start: plan.start, rows: parsed.rows, taken: stats.rowsTaken, points: stats.points, step: parsed.step, lag: lagBefore }, 'rrd_updates scraped');
    return { stateKey, poolName, host, resources, newest };
  }

  /** VMs in this response last delivered (from any host) before this host's cursor, within max_backfill. */
  private _migrationGaps(state: HostState, parsed: ParsedRrdUpdates, poolName: string, after: number): { vmUuid: string; from: number }[] {
    if (!Number.isFinite(after)) return [];
    const legend = parsed.compactLegend;
    if (state.legendVms?.legend !== legend) {
      const uuids = new Set<string>();
      for (const source of legend.sources) if (source.owner === 'vm') uuids.add(source.uuid);
      state.legendVms = { legend, uuids: [...uuids] };
    }
    const gaps: { vmUuid: string; from: number }[] = [];
    for (const vmUuid of state.legendVms.uuids) {
      const from = this._vmDelivered.get(`${poolName}\u0000vm:${vmUuid}`);
      if (from !== undefined && from < after && after - from <= this._config.max_backfill) gaps.push({ vmUuid, from });
    }
    return gaps;
  }

  /** Reads rows (gap.from, until] of one VM from this host and merges them into `resources`; returns the bytes read. */
  private async _readGap(pool: XapiPool, inventory: Inventory, host: HostRecord, gap: { vmUuid: string; from: number }, until: number, signal: AbortSignal, resources: ResourceMetricsData[]): Promise<number> {
    const query: Record<string, string> = { start: String(gap.from + 1), cf: this._config.cf, interval: String(this._config.resolution), vm_uuid: gap.vmUuid };
    const format = wireFormatFor(this._config.format, host);
    if (format === 'json') query['json'] = 'true';
    const receive = this._buffers.acquire();
    const res = await pool.getFromHost(host.ref, { path: '/rrd_updates', query, accept: ACCEPT[format], signal, into: receive });
    const bodyBytes = res.body.length;
    let parsed: ParsedRrdUpdates;
    try {
      parsed = parseRrdUpdates(res.body);
    } finally {
      this._buffers.release(receive);
    }
    if (parsed.step !== this._config.resolution) return bodyBytes; // older than the fine archive: not worth coarse rows
    const { batch } = this._gapMapper.map(parsed, { pool: inventory.pool, host, inventory, options: { metrics: this._config.metrics, cf: this._config.cf, minTimeExclusive: gap.from } });
    for (const r of batch.resources) {
      if (r.key !== `vm:${gap.vmUuid}`) continue;
      const older = keepPoints(r, (tMs) => tMs <= until * 1000);
      if (!older) continue;
      const index = resources.findIndex((x) => x.key === r.key);
      if (index >= 0) resources[index] = mergeResources([resources[index]!, older]);
      else resources.push(older);
    }
    return bodyBytes;
  }

  /** The host's wire format this cycle; a change (first poll, host upgraded) is logged once. */
  private _format(state: HostState, poolName: string, host: HostRecord): WireFormat {
    const format = wireFormatFor(this._config.format, host);
    if (state.format !== format) {
      this._log.debug({ pool: poolName, host: host.uuid, format, setting: this._config.format, xapiBuild: host.software_version?.['xapi_build'] }, 'rrd_updates format chosen for host');
      state.format = format;
    }
    return format;
  }

  private _trackStep(state: HostState, step: number, poolName: string, host: HostRecord): void {
    const coarse = step > this._config.resolution;
    if (coarse) state.stepFallbacks += 1;
    if (coarse && !state.coarse) {
      this._log.warn(
        { pool: poolName, host: host.uuid, step, resolution: this._config.resolution },
        'host answered from a coarser archive (the cursor lagged past the configured one); rows exported with their real step',
      );
    } else if (!coarse && state.coarse) {
      this._log.info({ pool: poolName, host: host.uuid, step }, 'host answers at the configured resolution again');
    }
    state.coarse = coarse;
  }
}

function codeOf(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : fallback;
}

/** The receiver's per-host self-metrics of one scrape (one point each, agent time). */
class SelfMetrics {
  private readonly _timeMs: number;
  private readonly _metrics: MetricData[] = [];

  constructor(timeMs: number) {
    this._timeMs = timeMs;
  }

  add(definition: MetricDefinition, value: number): void {
    this._metrics.push({ definition, series: [{ attributes: EMPTY, timesMs: [this._timeMs], values: [value] }] });
  }

  addCounters(state: HostState): void {
    this.add(metrics['xen.rrd.scrape.parse_errors'], state.parseErrors);
    this.add(metrics['xen.rrd.scrape.step_fallbacks'], state.stepFallbacks);
    this.add(metrics['xen.rrd.scrape.backfill.skipped'], state.skippedSeconds);
  }

  resource(r: { key: string; attributes: Attributes }): ResourceMetricsData {
    return { key: r.key, resource: r.attributes, metrics: this._metrics };
  }

  appendTo(r: ResourceMetricsData): ResourceMetricsData {
    return { key: r.key, resource: r.resource, metrics: [...r.metrics, ...this._metrics] };
  }
}

const EMPTY: Attributes = Object.freeze({});

/** A copy of `r` with only the points `keep` accepts; undefined when nothing is left. */
export function keepPoints(r: ResourceMetricsData, keep: (timeMs: number) => boolean): ResourceMetricsData | undefined {
  const out: MetricData[] = [];
  for (const m of r.metrics) {
    const series: SeriesData[] = [];
    for (const s of m.series) {
      const timesMs: number[] = [];
      const values: number[] = [];
      for (let i = 0; i < s.timesMs.length; i++) {
        const t = s.timesMs[i]!;
        if (!keep(t)) continue;
        timesMs.push(t);
        values.push(s.values[i]!);
      }
      if (timesMs.length === 0) continue;
      series.push(timesMs.length === s.timesMs.length ? s : { ...s, timesMs, values });
    }
    if (series.length > 0) out.push({ definition: m.definition, series });
  }
  return out.length === 0 ? undefined : { key: r.key, resource: r.resource, metrics: out };
}

function timeRange(r: ResourceMetricsData): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const m of r.metrics) {
    for (const s of m.series) {
      if (s.timesMs.length === 0) continue;
      min = Math.min(min, s.timesMs[0]!);
      max = Math.max(max, s.timesMs[s.timesMs.length - 1]!);
    }
  }
  return [min, max];
}

/**
 * Joins the hosts' resources into one batch with one entry per resource key, so a delivery report is unambiguous:
 * an SR reported by several hosts (host-owned SR I/O columns) becomes one resource whose series carry
 * `xen.host.uuid`; a VM reported by two hosts in the same scrape (it migrated while the hosts were polled, and
 * xcp-rrdd moved its RRD with it) keeps the rows of the host with the newest rows and only the older rows of the
 * other, so no timestamp is exported twice.
 */
function assemble(outcomes: readonly HostOutcome[]): { resources: ResourceMetricsData[]; keysByHost: Map<string, string[]> } {
  const byKey = new Map<string, { resource: ResourceMetricsData; hosts: string[] }>();
  const shared = new Map<string, { parts: ResourceMetricsData[]; hosts: string[] }>();
  const order: string[] = [];
  const vmCandidates = new Map<string, { host: string; resource: ResourceMetricsData }[]>();
  for (const o of outcomes) {
    for (const r of o.resources) {
      if (r.key.startsWith('vm:')) {
        let list = vmCandidates.get(r.key);
        if (!list) {
          vmCandidates.set(r.key, (list = []));
          order.push(r.key);
        }
        list.push({ host: o.stateKey, resource: r });
        continue;
      }
      // Shared resources (SRs seen by every host of the pool) are collected first and merged once below:
      // merging pairwise as they arrive re-keyed every series already merged, O(hosts²) per SR.
      const existing = shared.get(r.key);
      if (!existing) {
        shared.set(r.key, { parts: [r], hosts: [o.stateKey] });
        order.push(r.key);
      } else {
        existing.parts.push(r);
        existing.hosts.push(o.stateKey);
      }
    }
  }
  for (const [key, { parts, hosts }] of shared) byKey.set(key, { resource: parts.length === 1 ? parts[0]! : mergeResources(parts), hosts });
  for (const [key, list] of vmCandidates) {
    if (list.length === 1) {
      byKey.set(key, { resource: list[0]!.resource, hosts: [list[0]!.host] });
      continue;
    }
    const ranked = list.map((c) => ({ ...c, range: timeRange(c.resource) })).sort((a, b) => b.range[1] - a.range[1]);
    const primary = ranked[0]!;
    const parts = [primary.resource];
    const hosts = [primary.host];
    let covered = primary.range[0];
    for (const other of ranked.slice(1)) {
      const older = keepPoints(other.resource, (t) => t < covered);
      if (!older) continue;
      covered = Math.min(covered, timeRange(older)[0]);
      parts.push(older);
      hosts.push(other.host);
    }
    byKey.set(key, { resource: parts.length === 1 ? primary.resource : mergeResources(parts), hosts });
  }
  const resources: ResourceMetricsData[] = [];
  const keysByHost = new Map<string, string[]>();
  for (const key of order) {
    const entry = byKey.get(key)!;
    resources.push(entry.resource);
    for (const host of entry.hosts) {
      let keys = keysByHost.get(host);
      if (!keys) keysByHost.set(host, (keys = []));
      keys.push(key);
    }
  }
  return { resources, keysByHost };
}

/**
 * Resources with the same key, in one pass: metrics joined by name in first-seen order, series of the same metric
 * concatenated; the first resource's attributes win. Two series with equal attributes (the same VM from two hosts)
 * are joined by time, oldest first; on equal times the earlier part wins.
 */
function mergeResources(parts: readonly ResourceMetricsData[]): ResourceMetricsData {
  const byName = new Map<string, { definition: MetricData['definition']; series: Map<string, SeriesData> }>();
  for (const part of parts) {
    for (const m of part.metrics) {
      let metric = byName.get(m.definition.name);
      if (!metric) byName.set(m.definition.name, (metric = { definition: m.definition, series: new Map() }));
      for (const s of m.series) {
        const k = seriesKey(s.attributes);
        const existing = metric.series.get(k);
        metric.series.set(k, existing ? joinByTime(existing, s) : s);
      }
    }
  }
  const metrics: MetricData[] = [];
  for (const { definition, series } of byName.values()) metrics.push({ definition, series: [...series.values()] });
  return { key: parts[0]!.key, resource: parts[0]!.resource, metrics };
}

/** Attribute sets are frozen and reused across cycles by the mapper, so their key is computed once per object. */
const seriesKeys = new WeakMap<Attributes, string>();
function seriesKey(attributes: Attributes): string {
  let key = seriesKeys.get(attributes);
  if (key === undefined) {
    key = JSON.stringify(Object.entries(attributes).sort(([x], [y]) => x.localeCompare(y)));
    seriesKeys.set(attributes, key);
  }
  return key;
}

function joinByTime(first: SeriesData, second: SeriesData): SeriesData {
  const points = new Map<number, number>();
  for (let i = 0; i < first.timesMs.length; i++) points.set(first.timesMs[i]!, first.values[i]!);
  for (let i = 0; i < second.timesMs.length; i++) if (!points.has(second.timesMs[i]!)) points.set(second.timesMs[i]!, second.values[i]!);
  const timesMs = [...points.keys()].sort((x, y) => x - y);
  return { attributes: first.attributes, timesMs, values: timesMs.map((t) => points.get(t)!) };
}
