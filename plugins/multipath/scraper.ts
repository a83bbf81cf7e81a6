// Maps host and PBD records of the shared pool inventory to multipath health. No XAPI call per scrape.
// State kept across scrapes: the parse-error counters (with their start times) and the set of failing items, so
// that a repeating parse failure logs once when it starts and once when it clears, not on every tick.

import * as pluginApi from '../../src/plugin-api/index.ts';
import {
  MetricsBuilder,
  ScrapeItemError,
  type MetricBatch,
  type Logger,
  type ReceiverSettings,
  type Scraper,
  type ScrapeResult,
} from '../../src/plugin-api/index.ts';
import {
  MPATH_BOOT_KEY,
  describeBadValue,
  hostPointAttributes,
  hostRecordProblem,
  mpathEntries,
  parsePathCount,
  readStoragePools,
  resolvePbd,
  sortedByUuid,
  type PathCount,
} from '../../src/lib/storage/index.ts';
import type { HostRecord, Inventory } from '../../src/lib/xapi/types.ts';
import { hostResource, srResource, type XenResource } from '../../src/lib/xen-resources/index.ts';
import type { MultipathConfig } from './config.ts';
import { metrics } from './metadata.ts';

/** SR types whose PBDs the storage manager's mpathcount maintains (SM `mpathcount.py`, notes §5.1 and peers). */
export const MULTIPATH_SR_TYPES: ReadonlySet<string> = new Set([
  'iscsi',
  'lvmoiscsi',
  'lvhdoiscsi',
  'lvmohba',
  'lvhdohba',
  'hba',
  'rawhba',
  'gfs2',
  'ocfsoiscsi',
  'ocfsohba',
  'netapp',
]);

const ISCSI_SESSIONS_KEY = 'iscsi_sessions';
const MULTIPATHED_KEY = 'multipathed';
const PATH_COUNT_MESSAGE = 'multipath value is not of the form "[active, max]"';

interface Counter {
  count: number;
  readonly startMs: number;
}

export class MultipathScraper implements Scraper {
  private readonly _settings: ReceiverSettings;
  private readonly _config: Readonly<MultipathConfig>;
  private readonly _log: Logger;
  /** Parse-error counters by `<resource key>|<pbd uuid or ''>`. */
  private _counters = new Map<string, Counter>();
  private _failing = new Set<string>();

  constructor(settings: ReceiverSettings, config: Readonly<MultipathConfig>) {
    this._settings = settings;
    this._config = config;
    this._log = settings.logger;
  }

  async scrape(signal: AbortSignal): Promise<ScrapeResult> {
    const { ready, errors } = await readStoragePools(pluginApi, this._settings.pools, this._config.pools, signal);
    const run = new ScrapeRun(new MetricsBuilder(this._config.metrics), this._settings.clock.now(), this._counters);
    run.errors.push(...errors);
    for (const { name, inventory } of ready) {
      run.pool = name;
      run.hosts(inventory);
      run.pbds(inventory);
    }
    // A pool that could not be read keeps its counters and failure state for when it comes back.
    const poolMissing = ready.length < this._config.pools.length;
    if (poolMissing) for (const [key, counter] of this._counters) if (!run.nextCounters.has(key)) run.nextCounters.set(key, counter);
    this._counters = run.nextCounters;
    this._logParseStateChanges(run, poolMissing);
    this._log.debug({ pools: ready.length, luns: run.luns, errors: run.errors.length }, 'multipath scraped');
    return { batch: run.finish(), errors: run.errors };
  }

  /** Warns when a value starts failing to parse and informs when it parses again: once each, not per tick. */
  private _logParseStateChanges(run: ScrapeRun, poolMissing: boolean): void {
    for (const [key, err] of run.parseFailures) {
      if (!this._failing.has(key)) {
        this._log.warn({ pool: poolOf(key), item: err.item, code: err.code, details: err.details }, 'multipath value cannot be parsed');
      }
    }
    const next = new Set(run.parseFailures.keys());
    for (const key of this._failing) {
      if (run.parseFailures.has(key)) continue;
      if (run.checked.has(key)) this._log.info({ pool: poolOf(key), item: itemOf(key) }, 'multipath value parses again');
      // Not checked: the value or its PBD is gone (forget it), or its pool was unreadable (remember it).
      else if (poolMissing) next.add(key);
    }
    this._failing = next;
  }
}

/** Everything one scrape builds; goes out of scope when the scrape returns. */
class ScrapeRun {
  readonly errors: ScrapeItemError[] = [];
  /** Parse failures by `trackingKey(pool, item)`: item ids are uuids, which two pools could share. */
  readonly parseFailures = new Map<string, ScrapeItemError>();
  /** Every value this scrape tried to parse, by `trackingKey(pool, item)`. */
  readonly checked = new Set<string>();
  /** Name of the pool being mapped. */
  pool = '';
  readonly nextCounters = new Map<string, Counter>();
  luns = 0;
  private readonly _builder: MetricsBuilder;
  private readonly _now: number;
  private readonly _previous: ReadonlyMap<string, Counter>;

  constructor(builder: MetricsBuilder, now: number, previous: ReadonlyMap<string, Counter>) {
    this._builder = builder;
    this._now = now;
    this._previous = previous;
  }

  hosts(inventory: Inventory): void {
    for (const host of sortedByUuid(inventory.hosts.values())) {
      const problem = hostRecordProblem(host);
      if (problem) {
        this.errors.push(new ScrapeItemError('STORAGE_ERR_HOST_RECORD_INVALID', `host:${host.ref}`, problem, { details: { host: host.ref } }));
        continue;
      }
      const resource = hostResource(inventory.pool, host);
      const record = (definition: (typeof metrics)[keyof typeof metrics], value: number): void =>
        this._builder.record(resource.key, resource.attributes, definition, {}, '', this._now, value);
      record(metrics['xen.host.multipath.enabled'], multipathEnabled(host) ? 1 : 0);
      const counter = this._counter(resource.key, '');
      const boot = host.other_config?.[MPATH_BOOT_KEY];
      if (boot !== undefined) {
        const item = `host:${host.uuid}/${MPATH_BOOT_KEY}`;
        this.checked.add(trackingKey(this.pool, item));
        const paths = parsePathCount(boot);
        if (paths) {
          record(metrics['xen.host.multipath.boot.paths.active'], paths.active);
          record(metrics['xen.host.multipath.boot.paths.max'], paths.max);
          record(metrics['xen.host.multipath.boot.degraded'], degraded(paths) ? 1 : 0);
        } else {
          counter.count++;
          this._parseError(item, PATH_COUNT_MESSAGE, { host: host.uuid, key: MPATH_BOOT_KEY, ...describeBadValue(boot) });
        }
      }
      record(metrics['xen.multipath.parse_errors'], counter.count);
    }
  }

  pbds(inventory: Inventory): void {
    for (const pbd of sortedByUuid(inventory.pbds.values())) {
      const resolved = resolvePbd(inventory, pbd);
      if (!resolved.ok) {
        this.errors.push(
          new ScrapeItemError('STORAGE_ERR_PBD_DANGLING', `pbd:${pbd.uuid || pbd.ref}`, resolved.problem, { details: { pbd: pbd.ref } }),
        );
        continue;
      }
      const { host, sr } = resolved.value;
      const otherConfig = pbd.other_config ?? {};
      const entries = mpathEntries(otherConfig);
      const relevant =
        MULTIPATH_SR_TYPES.has(sr.type) ||
        entries.length > 0 ||
        Object.hasOwn(otherConfig, MULTIPATHED_KEY) ||
        Object.hasOwn(otherConfig, ISCSI_SESSIONS_KEY);
      if (!relevant) continue;

      const resource = srResource(inventory.pool, sr);
      const pointAttributes = hostPointAttributes(host, pbd.uuid);
      this._record(resource, metrics['xen.pbd.multipathed'], pointAttributes, pbd.uuid, otherConfig[MULTIPATHED_KEY] === 'true' ? 1 : 0);
      const counter = this._counter(resource.key, pbd.uuid);
      const context = { pbd: pbd.uuid, host: host.uuid, sr: sr.uuid };

      for (const entry of entries) {
        const item = `pbd:${pbd.uuid}/${entry.key}`;
        this.checked.add(trackingKey(this.pool, item));
        const paths = parsePathCount(entry.raw);
        if (!paths) {
          counter.count++;
          this._parseError(item, PATH_COUNT_MESSAGE, { ...context, key: entry.key, ...describeBadValue(entry.raw) });
          continue;
        }
        this.luns++;
        const lunAttributes = { ...pointAttributes, 'xen.lun.scsi_id': entry.scsiId };
        const lunKey = `${pbd.uuid}|${entry.scsiId}`;
        this._record(resource, metrics['xen.pbd.multipath.paths.active'], lunAttributes, lunKey, paths.active);
        this._record(resource, metrics['xen.pbd.multipath.paths.max'], lunAttributes, lunKey, paths.max);
        this._record(resource, metrics['xen.pbd.multipath.degraded'], lunAttributes, lunKey, degraded(paths) ? 1 : 0);
      }

      const sessions = otherConfig[ISCSI_SESSIONS_KEY];
      if (sessions !== undefined) {
        const item = `pbd:${pbd.uuid}/${ISCSI_SESSIONS_KEY}`;
        this.checked.add(trackingKey(this.pool, item));
        if (/^\d+$/.test(sessions)) {
          this._record(resource, metrics['xen.pbd.iscsi.sessions'], pointAttributes, pbd.uuid, Number(sessions));
        } else {
          counter.count++;
          this._parseError(item, 'iscsi_sessions is not a decimal integer', { ...context, key: ISCSI_SESSIONS_KEY, ...describeBadValue(sessions) });
        }
      }
      this._record(resource, metrics['xen.multipath.parse_errors'], pointAttributes, pbd.uuid, counter.count);
    }
  }

  /** The batch, with each parse-error series carrying the time its counter started. */
  finish(): MetricBatch {
    const batch = this._builder.emit();
    const name = metrics['xen.multipath.parse_errors'].name;
    return {
      resources: batch.resources.map((resource) => ({
        ...resource,
        metrics: resource.metrics.map((metric) =>
          metric.definition.name !== name
            ? metric
            : {
                ...metric,
                series: metric.series.map((s) => {
                  const pbdUuid = s.attributes['xen.pbd.uuid'];
                  const counter = this.nextCounters.get(`${resource.key}|${typeof pbdUuid === 'string' ? pbdUuid : ''}`);
                  return counter ? { ...s, startTimeMs: counter.startMs } : s;
                }),
              },
        ),
      })),
    };
  }

  private _record(
    resource: XenResource,
    definition: (typeof metrics)[keyof typeof metrics],
    attributes: Record<string, string | number | boolean>,
    attributesKey: string,
    value: number,
  ): void {
    this._builder.record(resource.key, resource.attributes, definition, attributes, attributesKey, this._now, value);
  }

  /** The counter of one host or PBD, carried over from the previous scrape; counters of vanished items are dropped. */
  private _counter(resourceKey: string, pbdUuid: string): Counter {
    const key = `${resourceKey}|${pbdUuid}`;
    let counter = this.nextCounters.get(key);
    if (!counter) {
      const previous = this._previous.get(key);
      counter = previous ? { count: previous.count, startMs: previous.startMs } : { count: 0, startMs: this._now };
      this.nextCounters.set(key, counter);
    }
    return counter;
  }

  private _parseError(item: string, message: string, details: Record<string, unknown>): void {
    // The message and details name the key and the value's length, never the value: other_config is free-form.
    const err = new ScrapeItemError('STORAGE_ERR_MPATH_PARSE', item, message, { details });
    this.errors.push(err);
    this.parseFailures.set(trackingKey(this.pool, item), err);
  }
}

/**
 * The xapi client gives `multipathing: false` when the field is missing (hosts before XenServer 7.5), and the
 * storage manager obeys the legacy other_config key anyway (notes §5.1), so either source switches it on.
 */
function multipathEnabled(host: HostRecord): boolean {
  return host.multipathing === true || host.other_config?.multipathing === 'true';
}

function trackingKey(pool: string, item: string): string {
  return `${pool}\u0000${item}`;
}

function poolOf(key: string): string {
  return key.slice(0, key.indexOf('\u0000'));
}

function itemOf(key: string): string {
  return key.slice(key.indexOf('\u0000') + 1);
}

function degraded(paths: PathCount): boolean {
  return paths.active < paths.max;
}
