// Maps PBD.device_config of the shared pool inventory to target-info series. No XAPI call per scrape.
// device_config may hold secrets: only `describeTarget` (allow-list + deny-list) reads it, and errors and logs
// name records by uuid only.

import * as pluginApi from '../../src/plugin-api/index.ts';
import { ScrapeItemError, type MetricsBuilder, type ReceiverSettings, type Scraper } from '../../src/plugin-api/index.ts';
import { createStorageScraper, hostPointAttributes, resolvePbd, sortedByUuid } from '../../src/lib/storage/index.ts';
import { srResource } from '../../src/lib/xen-resources/index.ts';
import type { Inventory } from '../../src/lib/xapi/types.ts';
import type { StorageTargetsConfig } from './config.ts';
import { metrics } from './metadata.ts';
import { describeTarget } from './targets.ts';

export function createStorageTargetsScraper(settings: ReceiverSettings, config: Readonly<StorageTargetsConfig>): Scraper {
  return createStorageScraper(pluginApi, settings, config, recordPool, { itemsName: 'series', message: 'storage targets scraped' });
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
