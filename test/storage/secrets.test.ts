// All four storage receivers over one inventory with a marker planted in every secret-bearing device_config
// key of every SR type, in URL user info, mount options and every other_config / sm_config map: no exported
// batch, log line or error may contain it. (storage_targets has the same test alone; this one covers the
// receivers that are not supposed to read device_config at all.)

import { describe, expect, it } from 'vitest';
import {
  SECRET_MARK,
  errorText,
  fakePool,
  inventoryFrom,
  plantedSecretsInventory,
  testSettings,
} from '../../src/lib/storage/testing.ts';
import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { factory as multipath } from '../../plugins/multipath/index.ts';
import { factory as pbdAttachment } from '../../plugins/pbd_attachment/index.ts';
import { factory as srUsage } from '../../plugins/sr_usage/index.ts';
import { factory as storageTargets } from '../../plugins/storage_targets/index.ts';
import { TARGET_SPECS } from '../../plugins/storage_targets/targets.ts';

const factories = [srUsage, pbdAttachment, multipath, storageTargets] as ReceiverFactory<{ pools: string[]; metrics: Record<string, { enabled: boolean }> }>[];

describe('storage receivers keep secrets out of every output', () => {
  it.each(factories.map((f) => [f.type, f] as const))('%s', async (_type, factory) => {
    // arrange
    const fixture = plantedSecretsInventory([...Object.keys(TARGET_SPECS), 'linstor', 'vendor-unknown']);
    const { settings, lines } = testSettings([fakePool('prod', inventoryFrom(fixture))]);
    const scraper = factory.createScraper(settings, factory.configSchema.parse({ pools: ['prod'] }));
    // act: two scrapes, so state-change logging has a chance to run too
    const results = [await scraper.scrape(AbortSignal.timeout(5_000)), await scraper.scrape(AbortSignal.timeout(5_000))];
    // assert: real output was produced …
    expect(results[0]!.batch.resources.length).toBeGreaterThan(0);
    expect(results[0]!.errors.length).toBeGreaterThan(0);
    expect(lines.length).toBeGreaterThan(0);
    // … and none of it holds the marker.
    const text = [
      ...results.map((r) => JSON.stringify(r.batch)),
      ...results.flatMap((r) => r.errors.map(errorText)),
      JSON.stringify(lines),
    ].join('\n');
    expect(text.match(new RegExp(`${SECRET_MARK}[\\w-]*`, 'g')) ?? []).toEqual([]);
  });
});
