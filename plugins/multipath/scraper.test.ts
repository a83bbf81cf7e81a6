import { describe, expect, it } from 'vitest';
import inventoryJson from './testdata/inventory.json' with { type: 'json' };
import type { MetricBatch } from '../../src/plugin-api/index.ts';
import { fakePool, inventoryFrom, testSettings, expectGoldenScrape, scraperOnFakePool, type InventoryFixture } from '../../src/lib/storage/testing.ts';
import { toGolden } from '../../src/lib/storage/golden.ts';
import { catalogue, factory } from './index.ts';

const fixture = inventoryJson as InventoryFixture;
const signal = () => AbortSignal.timeout(5_000);
const SR_ISCSI = 'c0000000-0000-4000-8000-000000000001';
const SR_HBA = 'c0000000-0000-4000-8000-000000000002';

const setup = (inventory: InventoryFixture) => scraperOnFakePool(factory, inventory);

function points(batch: MetricBatch, resourceAttr: string, resourceValue: string, metric: string) {
  const resource = batch.resources.find((r) => r.resource[resourceAttr] === resourceValue);
  const series = resource?.metrics.find((m) => m.definition.name === metric)?.series ?? [];
  return series.map((s) => ({ host: s.attributes['xen.host.name'], lun: s.attributes['xen.lun.scsi_id'], value: s.values[0], start: s.startTimeMs }));
}

function broken(): InventoryFixture {
  const inventory: InventoryFixture = structuredClone(fixture);
  inventory.pbds!['OpaqueRef:pbd-h2']!.other_config!['mpath-3600a0b80000000000000000000000002'] = '';
  inventory.hosts!['OpaqueRef:host-3']!.other_config = { 'mpath-boot': '[two, 2]' };
  return inventory;
}

describe('multipath scraper', () => {
  it('maps hosts and LUNs (golden)', () => expectGoldenScrape(factory, fixture, catalogue, './testdata/expected.json'));

  it('reads multipathing from the field or the legacy other_config key', async () => {
    const { scraper } = setup(fixture);
    const { batch } = await scraper.scrape(signal());
    const enabled = (name: string) => points(batch, 'xen.host.name', name, 'xen.host.multipath.enabled')[0]?.value;
    expect([enabled('xcp-01'), enabled('xcp-02'), enabled('xcp-03')]).toEqual([1, 1, 0]);
    expect(points(batch, 'xen.host.name', 'xcp-02', 'xen.host.multipath.boot.degraded')[0]?.value).toBe(1);
    expect(points(batch, 'xen.host.name', 'xcp-01', 'xen.host.multipath.boot.degraded')[0]?.value).toBe(0);
    expect(points(batch, 'xen.host.name', 'xcp-03', 'xen.host.multipath.boot.paths.active')).toEqual([]);
  });

  it('flags degraded LUNs (fewer active than max, all paths down included)', async () => {
    const { scraper } = setup(fixture);
    const { batch } = await scraper.scrape(signal());
    expect(points(batch, 'xen.sr.uuid', SR_ISCSI, 'xen.pbd.multipath.degraded').map((p) => [p.host, p.value])).toEqual([
      ['xcp-01', 0],
      ['xcp-02', 1],
    ]);
    expect(points(batch, 'xen.sr.uuid', SR_HBA, 'xen.pbd.multipath.paths.active').map((p) => [p.host, p.lun, p.value])).toEqual([
      ['xcp-01', '3600a0b80000000000000000000000001', 2],
      ['xcp-01', '3600a0b80000000000000000000000002', 0],
      ['xcp-02', '3600a0b80000000000000000000000001', 2],
      ['xcp-02', '3600a0b80000000000000000000000002', 2],
    ]);
    expect(points(batch, 'xen.sr.uuid', SR_HBA, 'xen.pbd.multipath.degraded').map((p) => p.value)).toEqual([0, 1, 0, 0]);
    // The iSCSI PBD of the host without multipathing still reports multipathed = 0 and its sessions.
    expect(points(batch, 'xen.sr.uuid', SR_ISCSI, 'xen.pbd.multipathed').map((p) => [p.host, p.value])).toEqual([
      ['xcp-01', 1],
      ['xcp-02', 1],
      ['xcp-03', 0],
    ]);
    expect(points(batch, 'xen.sr.uuid', SR_ISCSI, 'xen.pbd.iscsi.sessions').map((p) => p.value)).toEqual([4, 2, 1]);
    // NFS and local SRs are not multipath-capable and carry no keys: no series at all.
    expect(batch.resources.some((r) => r.resource['xen.sr.type'] === 'nfs' || r.resource['xen.sr.type'] === 'lvm')).toBe(false);
  });

  it('counts garbage values as parse errors, keeps shipping the rest, and logs on state change only (golden)', async () => {
    // arrange
    const { scraper, pool, lines } = setup(broken());
    // act
    const first = await scraper.scrape(signal());
    const second = await scraper.scrape(signal());
    // assert: each scrape lists the items, the counter keeps counting from a fixed start time
    for (const result of [first, second]) {
      expect(result.errors.map((e) => [e.code, e.item])).toEqual([
        ['STORAGE_ERR_MPATH_PARSE', 'host:b0000000-0000-4000-8000-000000000003/mpath-boot'],
        ['STORAGE_ERR_MPATH_PARSE', 'pbd:d0000000-0000-4000-8000-000000000022/mpath-3600a0b80000000000000000000000002'],
      ]);
    }
    const counter = points(second.batch, 'xen.sr.uuid', SR_HBA, 'xen.multipath.parse_errors');
    expect(counter.map((p) => [p.host, p.value])).toEqual([
      ['xcp-01', 0],
      ['xcp-02', 2],
    ]);
    expect(counter.every((p) => p.start === 1_767_225_600_000)).toBe(true);
    expect(points(second.batch, 'xen.host.name', 'xcp-03', 'xen.multipath.parse_errors')[0]?.value).toBe(2);
    // The good LUN of the same PBD still ships.
    expect(points(second.batch, 'xen.sr.uuid', SR_HBA, 'xen.pbd.multipath.paths.active').map((p) => p.lun)).toContain(
      '3600a0b80000000000000000000000001',
    );
    expect(lines.filter((l) => l.level === 'warn').map((l) => (l.obj as { item: string }).item)).toEqual([
      'host:b0000000-0000-4000-8000-000000000003/mpath-boot',
      'pbd:d0000000-0000-4000-8000-000000000022/mpath-3600a0b80000000000000000000000002',
    ]);
    await expect(toGolden(first.batch, first.errors)).toMatchFileSnapshot('./testdata/expected_partial.json');

    // act: the storage manager rewrites the values
    pool.setInventory(inventoryFrom(fixture, 3));
    const healed = await scraper.scrape(signal());
    // assert: no errors, counters keep their total; the rewritten LUN value logs that it parses again, the
    // removed mpath-boot key of xcp-03 is forgotten silently
    expect(healed.errors).toEqual([]);
    expect(points(healed.batch, 'xen.sr.uuid', SR_HBA, 'xen.multipath.parse_errors').map((p) => p.value)).toEqual([0, 2]);
    expect(lines.filter((l) => l.level === 'info').map((l) => (l.obj as { item: string }).item)).toEqual([
      'pbd:d0000000-0000-4000-8000-000000000022/mpath-3600a0b80000000000000000000000002',
    ]);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
  });

  it('keeps counters and failure state of a pool that is temporarily unreadable', async () => {
    // arrange: two pools, the second one has a garbage value
    const good = fakePool('prod', inventoryFrom(fixture));
    // uuids are globally unique: the second pool's records get their own (variant nibble 8 → 9)
    const otherFixture: InventoryFixture = JSON.parse(JSON.stringify(broken()).replaceAll('-4000-8000-', '-4000-9000-'));
    otherFixture.pool = { uuid: 'a1b2c3d4-0000-4000-8000-000000000002', name_label: 'dr' };
    const other = fakePool('dr', inventoryFrom(otherFixture));
    const { settings, lines } = testSettings([good, other]);
    const scraper = factory.createScraper(settings, factory.configSchema.parse({ pools: ['prod', 'dr'] }));
    await scraper.scrape(signal());
    // act: the second pool goes away for one scrape, then comes back unchanged
    other.failReady(new Error('connection lost'));
    const during = await scraper.scrape(signal());
    other.failReady(undefined);
    const after = await scraper.scrape(signal());
    // assert
    expect(during.errors.map((e) => e.code)).toEqual(['STORAGE_ERR_POOL_UNAVAILABLE']);
    const drHba = after.batch.resources.find(
      (r) => r.resource['xen.pool.uuid'] === 'a1b2c3d4-0000-4000-8000-000000000002' && r.resource['xen.sr.uuid'] === SR_HBA.replace('-8000-', '-9000-'),
    );
    const counter = drHba?.metrics.find((m) => m.definition.name === 'xen.multipath.parse_errors')?.series.map((s) => s.values[0]);
    expect(counter).toEqual([0, 2]);
    expect(lines.filter((l) => l.level === 'info')).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(2);
  });

  it('never puts the offending value in an error or a log line', async () => {
    const inventory = broken();
    inventory.pbds!['OpaqueRef:pbd-h2']!.other_config!['mpath-3600a0b80000000000000000000000002'] = 'hunter2-not-a-count';
    const { scraper, lines } = setup(inventory);
    const { errors } = await scraper.scrape(signal());
    const text = JSON.stringify({ errors: errors.map((e) => ({ m: e.message, d: e.details, i: e.item })), lines });
    expect(text).not.toContain('hunter2');
    expect(errors[1]?.details).toMatchObject({ key: 'mpath-3600a0b80000000000000000000000002', valueLength: 19 });
  });
});
