// Maps the PBD records of the shared pool inventory to attachment state per host×SR. No XAPI call per scrape.

import {
  AgentError,
  MetricsBuilder,
  ScrapeItemError,
  type Logger,
  type ReceiverSettings,
  type Scraper,
  type ScrapeResult,
} from '../../src/plugin-api/index.ts';
import {
  hostPointAttributes,
  readInventories,
  resolvePbd,
  sortedByUuid,
  srRecordProblem,
} from '../../src/lib/storage/index.ts';
import { srResource } from '../../src/lib/xen-resources/index.ts';
import type { Inventory, Ref } from '../../src/lib/xapi/types.ts';
import type { PbdAttachmentConfig } from './config.ts';
import { metrics } from './metadata.ts';

export class PbdAttachmentScraper implements Scraper {
  private readonly _settings: ReceiverSettings;
  private readonly _config: Readonly<PbdAttachmentConfig>;
  private readonly _log: Logger;

  constructor(settings: ReceiverSettings, config: Readonly<PbdAttachmentConfig>) {
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
    let pbdCount = 0;
    for (const { inventory } of ready) pbdCount += recordPool(builder, inventory, now, errors);
    this._log.debug({ pools: ready.length, pbds: pbdCount, errors: errors.length }, 'pbd attachment scraped');
    return { batch: builder.emit(), errors };
  }
}

function recordPool(builder: MetricsBuilder, inventory: Inventory, now: number, errors: ScrapeItemError[]): number {
  const detachedHosts = new Map<Ref, Set<Ref>>();
  let count = 0;
  for (const pbd of sortedByUuid(inventory.pbds.values())) {
    const resolved = resolvePbd(inventory, pbd);
    if (!resolved.ok) {
      errors.push(
        new ScrapeItemError('STORAGE_ERR_PBD_DANGLING', `pbd:${pbd.uuid || pbd.ref}`, resolved.problem, {
          details: { pbd: pbd.ref },
        }),
      );
      continue;
    }
    if (typeof pbd.currently_attached !== 'boolean') {
      errors.push(
        new ScrapeItemError('STORAGE_ERR_PBD_RECORD_INVALID', `pbd:${pbd.uuid}`, 'PBD field currently_attached is not a boolean', {
          details: { pbd: pbd.uuid },
        }),
      );
      continue;
    }
    const { host, sr } = resolved.value;
    const { key, attributes } = srResource(inventory.pool, sr);
    builder.record(key, attributes, metrics['xen.pbd.attached'], hostPointAttributes(host, pbd.uuid), pbd.uuid, now, pbd.currently_attached ? 1 : 0);
    let detached = detachedHosts.get(sr.ref);
    if (!detached) {
      detached = new Set();
      detachedHosts.set(sr.ref, detached);
    }
    if (!pbd.currently_attached) detached.add(host.ref);
    count++;
  }
  // Every usable SR gets a count, 0 included, so "> 0" both fires and clears on the same series.
  for (const sr of sortedByUuid(inventory.srs.values())) {
    if (srRecordProblem(sr)) continue;
    const { key, attributes } = srResource(inventory.pool, sr);
    builder.record(key, attributes, metrics['xen.sr.hosts.detached'], {}, '', now, detachedHosts.get(sr.ref)?.size ?? 0);
  }
  return count;
}
