import { describe, expect, it } from 'vitest';
import inventoryJson from './testdata/inventory.json' with { type: 'json' };
import type { MetricBatch } from '../../src/plugin-api/index.ts';
import { expectGoldenScrape, scraperOnFakePool, type InventoryFixture } from '../../src/lib/storage/testing.ts';
import { toGolden } from '../../src/lib/storage/golden.ts';
import { catalogue, factory } from './index.ts';

const fixture = inventoryJson as InventoryFixture;
const signal = () => AbortSignal.timeout(5_000);

const setup = (inventory: InventoryFixture) => scraperOnFakePool(factory, inventory);

function targets(batch: MetricBatch, srName: string) {
  const resource = batch.resources.find((r) => r.resource['xen.sr.name'] === srName);
  return (resource?.metrics[0]?.series ?? []).map((s) => {
    const { 'xen.host.uuid': _h, 'xen.pbd.uuid': _p, ...rest } = s.attributes;
    return rest;
  });
}

describe('storage_targets scraper', () => {
  it('describes every SR type’s target (golden)', () => expectGoldenScrape(factory, fixture, catalogue, './testdata/expected.json'));

  it('maps iSCSI (one series per portal), NFS, SMB and ISO targets', async () => {
    const { scraper } = setup(fixture);
    const { batch } = await scraper.scrape(signal());
    expect(targets(batch, 'SAN LUN 1').map((t) => [t['xen.host.name'], t['xen.storage.iscsi.target']])).toEqual([
      ['xcp-01', '10.0.0.10'],
      ['xcp-01', '10.0.1.10'],
      ['xcp-02', '10.0.0.10'],
    ]);
    expect(targets(batch, 'NFS VMs')).toEqual([
      { 'xen.host.name': 'xcp-01', 'xen.storage.protocol': 'nfs', 'xen.storage.nfs.server': 'nas.example.com', 'xen.storage.nfs.path': '/export/xen', 'xen.storage.nfs.version': '4.1' },
    ]);
    expect(targets(batch, 'SMB VMs')).toEqual([
      { 'xen.host.name': 'xcp-01', 'xen.storage.protocol': 'smb', 'xen.storage.smb.server': 'fileserver.example.com', 'xen.storage.smb.share': 'vms' },
    ]);
    expect(targets(batch, 'ISO (CIFS)')[0]?.['xen.storage.iso.location']).toBe('//fileserver.example.com/isos');
    expect(targets(batch, 'XOSTOR')).toEqual([{ 'xen.host.name': 'xcp-01', 'xen.storage.protocol': 'other' }]);
    for (const resource of batch.resources) for (const s of resource.metrics[0]!.series) expect(Array.from(s.values)).toEqual([1]);
  });

  it('lists a dangling or garbage PBD as an error and ships the rest (golden)', async () => {
    const broken: InventoryFixture = structuredClone(fixture);
    broken.pbds!['OpaqueRef:pbd-ghost'] = { uuid: 'd0000000-0000-4000-8000-0000000000ff', host: 'OpaqueRef:host-1', SR: 'OpaqueRef:sr-gone' };
    broken.pbds!['OpaqueRef:pbd-garbage'] = {
      uuid: 'd0000000-0000-4000-8000-0000000000fe', host: 'OpaqueRef:host-2', SR: 'OpaqueRef:sr-nfs',
      device_config: 'server=nas password=hunter2' as unknown as Record<string, string>,
    };
    const { scraper, lines } = setup(broken);
    const { batch, errors } = await scraper.scrape(signal());
    expect(errors.map((e) => [e.code, e.item])).toEqual([
      ['STORAGE_ERR_PBD_RECORD_INVALID', 'pbd:d0000000-0000-4000-8000-0000000000fe'],
      ['STORAGE_ERR_PBD_DANGLING', 'pbd:d0000000-0000-4000-8000-0000000000ff'],
    ]);
    expect(JSON.stringify({ batch, errors: errors.map((e) => [e.message, e.details]), lines })).not.toContain('hunter2');
    expect(targets(batch, 'NFS VMs')).toHaveLength(1);
    await expect(toGolden(batch, errors)).toMatchFileSnapshot('./testdata/expected_partial.json');
  });
});
