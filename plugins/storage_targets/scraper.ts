// Maps PBD.device_config of the shared pool inventory to target-info series. No XAPI call per scrape.
// device_config may hold secrets: only `describeTarget` (allow-list + deny-list) reads it, and errors and logs
// name records by uuid only.

import {
  AgentError,
  MetricsBuilder,
  ScrapeItemError,
  type Logger,
  type ReceiverSettings,
  type Scraper,
  type ScrapeResult,
} from '../../src/plugin-api/index.ts';
import { hostPointAttributes, readInventories, resolvePbd, sortedByUuid } from '../../src/lib/storage/index.ts';
import { srResource } from '../../src/lib/xen-resources/index.ts';
import type { Inventory } from '../../src/lib/xapi/types.ts';
import type { StorageTargetsConfig } from './config.ts';
import { metrics } from './metadata.ts';
import { describeTarget } from './targets.ts';

export class StorageTargetsScraper implements Scraper {
  private readonly _settings: ReceiverSettings;
  private readonly _config: Readonly<StorageTargetsConfig>;
  private readonly _log: Logger;

  constructor(settings: ReceiverSettings, config: Readonly<StorageTargetsConfig>) {
    this._settings = settings;
    this._config = config;
    this._log = settings.logger;
  }

  async scrape(signal: AbortSignal): Promise<ScrapeResult> {
    const { ready, failed } = await readInventories(this._settings.pools, this._config.pools, signal);
    if (ready.length === 0) {
      throw new AgentError('STORAGE_ERR_NO_INVENTORY', 'no configured pool has an inventory yet', {
        cause: failed[0]?.cause,
        details: { pools: this._config.pools },
      });
    }
    const errors = failed.map(
      (f) =>
        new ScrapeItemError('STORAGE_ERR_POOL_UNAVAILABLE', `pool:${f.name}`, 'pool inventory is not available', {
          cause: f.cause,
          details: { pool: f.name },
        }),
    );
    const builder = new MetricsBuilder(this._config.metrics);
    const now = this._settings.clock.now();
    let series = 0;
    for (const { inventory } of ready) series += recordPool(builder, inventory, now, errors);
    this._log.debug({ pools: ready.length, series, errors: errors.length }, 'storage targets scraped');
    return { batch: builder.emit(), errors };
  }
}

function recordPool(builder: MetricsBuilder, inventory: Inventory, now: number, errors: ScrapeItemError[]): number {
  let series = 0;
  for (const pbd of sortedByUuid(inventory.pbds.values())) {
    const resolved = resolvePbd(inventory, pbd);
    if (!resolved.ok) {
      errors.push(
        new ScrapeItemError('STORAGE_ERR_PBD_DANGLING', `pbd:${pbd.uuid || pbd.ref}`, resolved.problem, { details: { pbd: pbd.ref } }),
      );
      continue;
    }
    const { host, sr } = resolved.value;
    if (pbd.device_config !== undefined && (typeof pbd.device_config !== 'object' || pbd.device_config === null)) {
      errors.push(
        new ScrapeItemError('STORAGE_ERR_PBD_RECORD_INVALID', `pbd:${pbd.uuid}`, 'PBD field device_config is not a map', {
          details: { pbd: pbd.uuid },
        }),
      );
      continue;
    }
    const { key, attributes } = srResource(inventory.pool, sr);
    const hostAttributes = hostPointAttributes(host, pbd.uuid);
    for (const target of describeTarget(sr.type, pbd.device_config)) {
      const pointAttributes = { ...hostAttributes, ...target };
      builder.record(key, attributes, metrics['xen.pbd.target.info'], pointAttributes, JSON.stringify(pointAttributes), now, 1);
      series++;
    }
  }
  return series;
}
