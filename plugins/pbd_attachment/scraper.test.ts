import { describe, expect, it } from 'vitest';
import inventoryJson from './testdata/inventory.json' with { type: 'json' };
import type { MetricBatch } from '../../src/plugin-api/index.ts';
import { inventoryFrom, expectGoldenScrape, scraperOnFakePool, type InventoryFixture } from '../../src/lib/storage/testing.ts';
import { toGolden } from '../../src/lib/storage/golden.ts';
import { catalogue, factory } from './index.ts';

const fixture = inventoryJson as InventoryFixture;
const signal = () => AbortSignal.timeout(5_000);
const SR_ISCSI = 'c0000000-0000-4000-8000-000000000001';

const scraperFor = (inventory: InventoryFixture) => scraperOnFakePool(factory, inventory);

function seriesOf(batch: MetricBatch, srUuid: string, metric: string) {
  const resource = batch.resources.find((r) => r.resource['xen.sr.uuid'] === srUuid);
  return resource?.metrics.find((m) => m.definition.name === metric)?.series ?? [];
}

describe('pbd_attachment scraper', () => {
  it('reports every host×SR and the detached count per SR (golden)', () => expectGoldenScrape(factory, fixture, catalogue, './testdata/expected.json'));

  it('puts the host on the point and the SR on the resource', async () => {
    const { scraper } = scraperFor(fixture);
    const { batch } = await scraper.scrape(signal());
    const attached = seriesOf(batch, SR_ISCSI, 'xen.pbd.attached');
    expect(attached.map((s) => [s.attributes['xen.host.name'], s.values[0]])).toEqual([
      ['xcp-01', 1],
      ['xcp-02', 0],
      ['xcp-03', 1],
    ]);
    expect(seriesOf(batch, SR_ISCSI, 'xen.sr.hosts.detached')[0]?.values[0]).toBe(1);
    expect(seriesOf(batch, 'c0000000-0000-4000-8000-000000000002', 'xen.sr.hosts.detached')[0]?.values[0]).toBe(0);
    // An SR without PBDs still has a zero count, so an alert on "> 0" clears instead of going absent.
    expect(seriesOf(batch, 'c0000000-0000-4000-8000-000000000099', 'xen.sr.hosts.detached')[0]?.values[0]).toBe(0);
  });

  it('follows a re-plug on the next scrape', async () => {
    const { scraper, pool } = scraperFor(fixture);
    const replugged: InventoryFixture = structuredClone(fixture);
    replugged.pbds!['OpaqueRef:pbd-i2']!.currently_attached = true;
    pool.setInventory(inventoryFrom(replugged, 2));
    const { batch } = await scraper.scrape(signal());
    expect(seriesOf(batch, SR_ISCSI, 'xen.sr.hosts.detached')[0]?.values[0]).toBe(0);
  });

  it('lists a dangling or garbage PBD as an error and ships the rest (golden)', async () => {
    const broken: InventoryFixture = structuredClone(fixture);
    broken.pbds!['OpaqueRef:pbd-ghost'] = {
      uuid: 'd0000000-0000-4000-8000-0000000000ff', host: 'OpaqueRef:host-gone', SR: 'OpaqueRef:sr-iscsi', currently_attached: false,
    };
    broken.pbds!['OpaqueRef:pbd-garbage'] = {
      uuid: 'd0000000-0000-4000-8000-0000000000fe', host: 'OpaqueRef:host-3', SR: 'OpaqueRef:sr-local-1',
      currently_attached: 'maybe' as unknown as boolean,
    };
    const { scraper } = scraperFor(broken);
    const { batch, errors } = await scraper.scrape(signal());
    expect(errors.map((e) => [e.code, e.item])).toEqual([
      ['STORAGE_ERR_PBD_RECORD_INVALID', 'pbd:d0000000-0000-4000-8000-0000000000fe'],
      ['STORAGE_ERR_PBD_DANGLING', 'pbd:d0000000-0000-4000-8000-0000000000ff'],
    ]);
    // The ghost PBD does not count as a detached host.
    expect(seriesOf(batch, SR_ISCSI, 'xen.sr.hosts.detached')[0]?.values[0]).toBe(1);
    await expect(toGolden(batch, errors)).toMatchFileSnapshot('./testdata/expected_partial.json');
  });
});
