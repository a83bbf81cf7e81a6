// Maps the PBD records of the shared pool inventory to attachment state per host×SR. No XAPI call per scrape.

import * as pluginApi from '../../src/plugin-api/index.ts';
import { ScrapeItemError, type MetricsBuilder, type ReceiverSettings, type Scraper } from '../../src/plugin-api/index.ts';
import { createStorageScraper, hostPointAttributes, resolvePbd, sortedByUuid, srRecordProblem } from '../../src/lib/storage/index.ts';
import { srResource } from '../../src/lib/xen-resources/index.ts';
import type { Inventory, Ref } from '../../src/lib/xapi/types.ts';
import type { PbdAttachmentConfig } from './config.ts';
import { metrics } from './metadata.ts';

export function createPbdAttachmentScraper(settings: ReceiverSettings, config: Readonly<PbdAttachmentConfig>): Scraper {
  return createStorageScraper(pluginApi, settings, config, recordPool, { itemsName: 'pbds', message: 'pbd attachment scraped' });
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
