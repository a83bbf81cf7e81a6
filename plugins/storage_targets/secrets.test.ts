// Proof that no secret from PBD.device_config (or any other_config) reaches an output of this receiver: the
// exported batch, a log line, or an error. A marker is planted in every secret-bearing key (xapi notes §5.2/§5.3)
// of every SR type, in URL user info, in mount options, and in every other_config map.

import { describe, expect, it } from 'vitest';
import { SECRET_MARK, errorText, fakePool, inventoryFrom, plantedSecretsInventory, testSettings } from '../../src/lib/storage/testing.ts';
import { factory } from './index.ts';
import { TARGET_SPECS } from './targets.ts';

describe('storage_targets secrets', () => {
  it('never exports, logs or reports a planted secret', async () => {
    // arrange
    const fixture = plantedSecretsInventory([...Object.keys(TARGET_SPECS), 'linstor', 'vendor-unknown']);
    const pool = fakePool('prod', inventoryFrom(fixture));
    const { settings, lines } = testSettings([pool]);
    const scraper = factory.createScraper(settings, factory.configSchema.parse({ pools: ['prod'] }));
    // act
    const { batch, errors } = await scraper.scrape(AbortSignal.timeout(5_000));
    // assert: the scrape did real work (every SR type has a target series, the broken PBD an error) …
    // One resource per SR type (one PBD each); the dangling PBD has none.
    expect(batch.resources).toHaveLength(Object.keys(fixture.pbds!).length - 1);
    expect(errors.map((e) => e.code)).toEqual(['STORAGE_ERR_PBD_DANGLING']);
    expect(lines.length).toBeGreaterThan(0);
    // … and no output holds the marker.
    const outputs = {
      batch: JSON.stringify(batch),
      logs: JSON.stringify(lines),
      errors: errors.map(errorText).join('\n'),
    };
    for (const [name, text] of Object.entries(outputs)) {
      const leaks = text.match(new RegExp(`${SECRET_MARK}[\\w-]*`, 'g')) ?? [];
      expect(leaks, `${name} leaks`).toEqual([]);
    }
    // Legit target data did get through (the test would pass vacuously if nothing were exported).
    expect(outputs.batch).toContain('iqn.2001-05.com.example:x');
    expect(outputs.batch).toContain('//fs.example.com/isos');
  });
});
