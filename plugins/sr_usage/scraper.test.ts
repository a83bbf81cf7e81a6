import { describe, expect, it } from 'vitest';
import inventoryJson from './testdata/inventory.json' with { type: 'json' };
import { fakePool, inventoryFrom, testSettings, expectGoldenScrape, scraperOnFakePool, type InventoryFixture } from '../../src/lib/storage/testing.ts';
import { toGolden } from '../../src/lib/storage/golden.ts';
import { catalogue, factory } from './index.ts';

const fixture = inventoryJson as InventoryFixture;
const signal = () => AbortSignal.timeout(5_000);

const scraperFor = (inventory: InventoryFixture, metrics: Record<string, { enabled: boolean }> = {}) => scraperOnFakePool(factory, inventory, { metrics });

function valueOf(batch: Awaited<ReturnType<ReturnType<typeof scraperFor>['scraper']['scrape']>>['batch'], srUuid: string, metric: string) {
  const resource = batch.resources.find((r) => r.resource['xen.sr.uuid'] === srUuid);
  return resource?.metrics.find((m) => m.definition.name === metric)?.series[0]?.values[0];
}

describe('sr_usage scraper', () => {
  it('maps every SR of the inventory (golden)', () => expectGoldenScrape(factory, fixture, catalogue, './testdata/expected.json', { metrics: {} }));

  it('computes utilisation as usage / capacity', async () => {
    const { scraper } = scraperFor(fixture);
    const { batch } = await scraper.scrape(signal());
    expect(valueOf(batch, 'c0000000-0000-4000-8000-000000000001', 'xen.sr.utilization')).toBeCloseTo(966367641600 / 1099511627776, 12);
    expect(valueOf(batch, 'c0000000-0000-4000-8000-000000000001', 'xen.sr.capacity')).toBe(1099511627776);
  });

  it('emits no sizes and no ratio for an unscanned SR (-1) and no ratio for a zero-size SR', async () => {
    const { scraper } = scraperFor(fixture);
    const { batch } = await scraper.scrape(signal());
    const unscanned = batch.resources.find((r) => r.resource['xen.sr.uuid'] === 'c0000000-0000-4000-8000-000000000004');
    // The resource is absent: it had nothing to report.
    expect(unscanned).toBeUndefined();
    expect(valueOf(batch, 'c0000000-0000-4000-8000-000000000005', 'xen.sr.capacity')).toBe(0);
    expect(valueOf(batch, 'c0000000-0000-4000-8000-000000000005', 'xen.sr.utilization')).toBeUndefined();
    for (const resource of batch.resources) {
      for (const metric of resource.metrics) for (const s of metric.series) for (const v of Array.from(s.values)) expect(v).toBeGreaterThanOrEqual(0);
    }
  });

  it('drops disabled metrics', async () => {
    const { scraper } = scraperFor(fixture, { 'xen.sr.virtual_allocation': { enabled: false } });
    const { batch } = await scraper.scrape(signal());
    const names = new Set(batch.resources.flatMap((r) => r.metrics.map((m) => m.definition.name)));
    expect([...names].sort()).toEqual(['xen.sr.capacity', 'xen.sr.usage', 'xen.sr.utilization']);
  });

  it('lists a garbage SR record as an error and ships the rest (golden)', async () => {
    // arrange: one SR whose sizes are not numbers, one without a uuid
    const broken: InventoryFixture = structuredClone(fixture);
    broken.srs!['OpaqueRef:sr-garbage'] = {
      uuid: 'c0000000-0000-4000-8000-0000000000ff', name_label: 'garbage', type: 'nfs', content_type: '', shared: true,
      physical_size: 'lots' as unknown as number, physical_utilisation: Number.NaN, virtual_allocation: 10,
    };
    broken.srs!['OpaqueRef:sr-nouuid'] = { uuid: '' };
    const { scraper } = scraperFor(broken);
    // act
    const { batch, errors } = await scraper.scrape(signal());
    // assert
    expect(errors.map((e) => [e.code, e.item])).toEqual([
      ['STORAGE_ERR_SR_RECORD_INVALID', 'sr:OpaqueRef:sr-nouuid'],
      ['STORAGE_ERR_SR_RECORD_INVALID', 'sr:c0000000-0000-4000-8000-0000000000ff'],
    ]);
    expect(valueOf(batch, 'c0000000-0000-4000-8000-000000000001', 'xen.sr.usage')).toBe(966367641600);
    expect(valueOf(batch, 'c0000000-0000-4000-8000-0000000000ff', 'xen.sr.virtual_allocation')).toBe(10);
    await expect(toGolden(batch, errors)).toMatchFileSnapshot('./testdata/expected_partial.json');
  });

  it('reports an unavailable pool as an item error while other pools ship, and throws when none is ready', async () => {
    const good = fakePool('prod', inventoryFrom(fixture));
    const down = fakePool('dr', inventoryFrom({}));
    down.failReady(new Error('not loaded'));
    const { settings } = testSettings([good, down]);
    const scraper = factory.createScraper(settings, factory.configSchema.parse({ pools: ['prod', 'dr'] }));
    const { batch, errors } = await scraper.scrape(signal());
    expect(errors.map((e) => [e.code, e.item])).toEqual([['STORAGE_ERR_POOL_UNAVAILABLE', 'pool:dr']]);
    expect(batch.resources.length).toBeGreaterThan(0);

    good.failReady(new Error('not loaded either'));
    await expect(scraper.scrape(signal())).rejects.toMatchObject({ code: 'STORAGE_ERR_NO_INVENTORY' });
  });

  it('sees a changed inventory on the next scrape', async () => {
    const { scraper, pool } = scraperFor(fixture);
    const grown: InventoryFixture = structuredClone(fixture);
    grown.srs!['OpaqueRef:sr-iscsi']!.physical_size = 2 * 1099511627776;
    pool.setInventory(inventoryFrom(grown, 2));
    const { batch } = await scraper.scrape(signal());
    expect(valueOf(batch, 'c0000000-0000-4000-8000-000000000001', 'xen.sr.capacity')).toBe(2 * 1099511627776);
  });
});
