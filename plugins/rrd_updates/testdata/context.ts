// Hand-written inventory context for the DataDog CH 8.2 samples (test/fixtures/xapi-samples).
// Origins: the host record (uuid, name, address, hostname, PBD and control-domain refs) is copied from
// `dd_ch82_host_get_all_records.pyrepr.txt`; dom0's uuid and name ("Control domain on host: xenserver-c") are
// from DataDog's `vm.json` as quoted in notes/xapi.md §2. INVENTED for the tests: the pool, the SR records and
// their full uuids/names/types, and which PBD ref points to which SR. The samples only show the SR uuid
// prefixes/uuids in the legend: `caa66549` (host I/O columns, resolved here to an invented full uuid),
// `70039e15-…` (IntelliCache, known here) and `e358b352-…` (IntelliCache, deliberately NOT in the inventory, to
// exercise the unknown-SR path).

import type { HostRecord, Inventory, PbdRecord, PoolRecord, SrRecord, VmRecord } from '../../../src/lib/xapi/types.ts';

export const DD_HOST_UUID = '4cff6b2b-a236-42e0-b388-c78a413f5f46';
export const DD_DOM0_UUID = 'cc11e6e9-5071-4707-830a-b87e5618e874';
export const DD_SR_IO_UUID = 'caa66549-0f3e-4a2b-9c1d-5e6f7a8b9c0d'; // invented beyond the 8-char prefix
export const DD_SR_CACHE_UUID = '70039e15-abfe-85f7-a703-798b05110ee8';
export const DD_SR_CACHE_UNKNOWN_UUID = 'e358b352-5dda-5261-6a91-f7b73e2bcbae';

export function pool(overrides: Partial<PoolRecord> = {}): PoolRecord {
  return { ref: 'OpaqueRef:pool-dd', uuid: '00000000-0000-4000-8000-00000000dd82', name_label: 'dd-ch82-pool', name_description: '', master: 'OpaqueRef:8d61e53e-45d1-4847-9dac-c6f88e712bad', default_SR: 'OpaqueRef:NULL', other_config: {}, ...overrides };
}

export function host(overrides: Partial<HostRecord> = {}): HostRecord {
  return {
    ref: 'OpaqueRef:8d61e53e-45d1-4847-9dac-c6f88e712bad',
    uuid: DD_HOST_UUID,
    name_label: 'xenserver-c',
    name_description: '',
    address: '192.168.101.103',
    hostname: 'xenserver-c',
    enabled: true,
    software_version: { product_version: '8.2.0', product_brand: 'Citrix Hypervisor' },
    other_config: {},
    multipathing: false,
    resident_VMs: ['OpaqueRef:de1ceb6c-d694-4081-bd49-a847d0ab6171'],
    control_domain: 'OpaqueRef:de1ceb6c-d694-4081-bd49-a847d0ab6171',
    metrics: 'OpaqueRef:NULL',
    PBDs: ['OpaqueRef:dfa000b8-f219-4cb6-bcb3-5ceb4cfbe9cc', 'OpaqueRef:dd8225dd-568b-47b0-b138-4d7cd6834584', 'OpaqueRef:91796baa-937a-486e-8067-11300f9ce1e8', 'OpaqueRef:52b2405e-150f-4342-872c-228223fbb543'],
    PIFs: [],
    cpu_info: { cpu_count: '1' },
    API_version_major: 2,
    API_version_minor: 15,
    ...overrides,
  };
}

export function vm(overrides: Partial<VmRecord> & Pick<VmRecord, 'ref' | 'uuid'>): VmRecord {
  return {
    name_label: overrides.uuid,
    name_description: '',
    power_state: 'Running',
    is_a_template: false,
    is_default_template: false,
    is_a_snapshot: false,
    is_control_domain: false,
    resident_on: host().ref,
    domid: 1,
    metrics: 'OpaqueRef:NULL',
    VBDs: [],
    VIFs: [],
    VCPUs_max: 1,
    VCPUs_at_startup: 1,
    memory_static_max: 0,
    memory_dynamic_max: 0,
    memory_target: 0,
    other_config: {},
    tags: [],
    ...overrides,
  };
}

export function sr(overrides: Partial<SrRecord> & Pick<SrRecord, 'ref' | 'uuid'>): SrRecord {
  return { name_label: overrides.uuid, name_description: '', type: 'lvm', content_type: 'user', shared: false, physical_size: 0, physical_utilisation: 0, virtual_allocation: 0, PBDs: [], VDIs: [], other_config: {}, sm_config: {}, ...overrides };
}

export function pbd(ref: string, hostRef: string, srRef: string): PbdRecord {
  return { ref, uuid: `pbd-${ref}`, host: hostRef, SR: srRef, device_config: {}, currently_attached: true, other_config: {} };
}

/** A minimal immutable Inventory over plain records (the real one lives in src/lib/xapi). */
export function inventoryOf(parts: { pool?: PoolRecord; hosts?: HostRecord[]; vms?: VmRecord[]; srs?: SrRecord[]; pbds?: PbdRecord[]; generation?: number }): Inventory {
  const byRef = <T extends { ref: string }>(list: T[] | undefined): ReadonlyMap<string, T> => new Map((list ?? []).map((r) => [r.ref, r]));
  const uuids = new Map<string, string>();
  for (const list of [parts.hosts, parts.vms, parts.srs, parts.pbds, parts.pool ? [parts.pool] : []]) for (const r of list ?? []) uuids.set(r.uuid, r.ref);
  return Object.freeze({
    generation: parts.generation ?? 1,
    pool: parts.pool,
    hosts: byRef(parts.hosts),
    hostMetrics: new Map(),
    vms: byRef(parts.vms),
    srs: byRef(parts.srs),
    pbds: byRef(parts.pbds),
    vbds: new Map(),
    vifs: new Map(),
    pifs: new Map(),
    refOfUuid: (uuid: string) => uuids.get(uuid),
  });
}

/** The DD sample's pool as the scraper would see it. */
export function ddContext(): { pool: PoolRecord; host: HostRecord; inventory: Inventory } {
  const h = host();
  const p = pool();
  const srIo = sr({ ref: 'OpaqueRef:sr-caa66549', uuid: DD_SR_IO_UUID, name_label: 'Local storage', type: 'lvm', content_type: 'user' });
  const srCache = sr({ ref: 'OpaqueRef:sr-70039e15', uuid: DD_SR_CACHE_UUID, name_label: 'IntelliCache SR', type: 'ext', content_type: 'user' });
  const dom0 = vm({ ref: 'OpaqueRef:de1ceb6c-d694-4081-bd49-a847d0ab6171', uuid: DD_DOM0_UUID, name_label: 'Control domain on host: xenserver-c', is_control_domain: true, domid: 0 });
  const pbds = [pbd(h.PBDs[0]!, h.ref, srIo.ref), pbd(h.PBDs[1]!, h.ref, srCache.ref)];
  return { pool: p, host: h, inventory: inventoryOf({ pool: p, hosts: [h], vms: [dom0], srs: [srIo, srCache], pbds }) };
}
