// Maps the SR records of the shared pool inventory to capacity metrics. Pure mapping: no XAPI call per scrape.

import * as pluginApi from '../../src/plugin-api/index.ts';
import { ScrapeItemError, type MetricsBuilder, type ReceiverSettings, type Scraper } from '../../src/plugin-api/index.ts';
import { createStorageScraper, sortedByUuid, srRecordProblem } from '../../src/lib/storage/index.ts';
import { srResource } from '../../src/lib/xen-resources/index.ts';
import type { Inventory, SrRecord } from '../../src/lib/xapi/types.ts';
import type { SrUsageConfig } from './config.ts';
import { metrics } from './metadata.ts';

const SIZE_FIELDS = ['physical_size', 'physical_utilisation', 'virtual_allocation'] as const;

export function createSrUsageScraper(settings: ReceiverSettings, config: Readonly<SrUsageConfig>): Scraper {
  return createStorageScraper(pluginApi, settings, config, recordPool, { itemsName: 'srs', message: 'sr usage scraped' });
}

function recordPool(builder: MetricsBuilder, inventory: Inventory, now: number, errors: ScrapeItemError[]): number {
  const srs = sortedByUuid(inventory.srs.values());
  for (const sr of srs) recordSr(builder, inventory, sr, now, errors);
  return srs.length;
}

function recordSr(builder: MetricsBuilder, inventory: Inventory, sr: SrRecord, now: number, errors: ScrapeItemError[]): void {
  const problem = srRecordProblem(sr);
  if (problem) {
    errors.push(new ScrapeItemError('STORAGE_ERR_SR_RECORD_INVALID', `sr:${sr.ref}`, problem, { details: { sr: sr.ref } }));
    return;
  }
  const bad = SIZE_FIELDS.filter((field) => typeof sr[field] !== 'number' || !Number.isFinite(sr[field]));
  if (bad.length > 0) {
    errors.push(
      new ScrapeItemError('STORAGE_ERR_SR_RECORD_INVALID', `sr:${sr.uuid}`, `SR size fields are not numbers: ${bad.join(', ')}`, {
        details: { sr: sr.uuid, fields: bad },
      }),
    );
  }
  const valid = (field: (typeof SIZE_FIELDS)[number]): number | undefined => {
    const value = sr[field];
    // -1 marks an SR that was introduced but never scanned (xapi_sr.ml introduce): unknown, not negative.
    return !bad.includes(field) && value >= 0 ? value : undefined;
  };
  const { key, attributes } = srResource(inventory.pool, sr);
  const record = (definition: (typeof metrics)[keyof typeof metrics], value: number): void =>
    builder.record(key, attributes, definition, {}, '', now, value);

  const size = valid('physical_size');
  const used = valid('physical_utilisation');
  const allocated = valid('virtual_allocation');
  if (size !== undefined) record(metrics['xen.sr.capacity'], size);
  if (used !== undefined) record(metrics['xen.sr.usage'], used);
  if (allocated !== undefined) record(metrics['xen.sr.virtual_allocation'], allocated);
  if (size !== undefined && size > 0 && used !== undefined) record(metrics['xen.sr.utilization'], used / size);
}
