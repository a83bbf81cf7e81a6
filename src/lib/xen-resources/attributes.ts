// Resource identity of pool entities, shared by every receiver. In OTLP a resource is identified by its whole
// attribute set, so the same host reported by two receivers must carry exactly the same attributes or backends
// see two hosts: every receiver builds host, VM and SR resources here and nowhere else.
//
// Built attribute objects are memoised per inventory record (WeakMap keyed by the record). The inventory hands
// out a new record object only when the record changes, so a steady-state cycle over thousands of VMs reuses the
// same frozen objects (which also lets exporters cache their encoding by object identity). The memo depends only
// on its inputs: it never changes a result, and entries go away with their records.

import type { HostRecord, PoolRecord, SrRecord, VmRecord } from '../xapi/types.ts';

export type ResourceAttributeValue = string | number | boolean;
export type ResourceAttributes = Readonly<Record<string, ResourceAttributeValue>>;

export interface XenResource {
  /** `host:<uuid>`, `vm:<uuid>`, `sr:<uuid>`: uuids are globally unique, so the key needs no pool. */
  readonly key: string;
  readonly attributes: ResourceAttributes;
}

export const hostResourceKey = (uuid: string): string => `host:${uuid}`;
export const vmResourceKey = (uuid: string): string => `vm:${uuid}`;
export const srResourceKey = (uuid: string): string => `sr:${uuid}`;

const NO_POOL_ATTRIBUTES: ResourceAttributes = Object.freeze({});
const poolCache = new WeakMap<PoolRecord, ResourceAttributes>();

/** `xen.pool.uuid` and `xen.pool.name`; none when the pool record is not known (yet). */
export function poolResourceAttributes(pool: PoolRecord | undefined): ResourceAttributes {
  if (!pool) return NO_POOL_ATTRIBUTES;
  let attributes = poolCache.get(pool);
  if (!attributes) {
    attributes = Object.freeze({ 'xen.pool.uuid': pool.uuid, 'xen.pool.name': pool.name_label });
    poolCache.set(pool, attributes);
  }
  return attributes;
}

interface Memo {
  readonly pool: PoolRecord | undefined;
  readonly host: HostRecord | undefined;
  readonly resource: XenResource;
}

function memoised<R extends object>(cache: WeakMap<R, Memo>, record: R, pool: PoolRecord | undefined, host: HostRecord | undefined, build: () => XenResource): XenResource {
  const memo = cache.get(record);
  if (memo && memo.pool === pool && memo.host === host) return memo.resource;
  const resource = build();
  cache.set(record, { pool, host, resource });
  return resource;
}

function freeze(key: string, attributes: Record<string, ResourceAttributeValue>): XenResource {
  return Object.freeze({ key, attributes: Object.freeze(attributes) });
}

const hostCache = new WeakMap<HostRecord, Memo>();

/** A host of the inventory. `host.name` is the host's DNS name (`hostname`), else its `name_label`. */
export function hostResource(pool: PoolRecord | undefined, host: HostRecord): XenResource {
  return memoised(hostCache, host, pool, undefined, () =>
    freeze(hostResourceKey(host.uuid), {
      'host.id': host.uuid,
      'host.name': host.hostname || host.name_label,
      'xen.host.uuid': host.uuid,
      'xen.host.name': host.name_label,
      'xen.host.address': host.address,
      ...poolResourceAttributes(pool),
    }),
  );
}

/** A host uuid the inventory does not know (yet): names are the uuid, the address is left out. */
export function unknownHostResource(pool: PoolRecord | undefined, uuid: string): XenResource {
  return freeze(hostResourceKey(uuid), {
    'host.id': uuid,
    'host.name': uuid,
    'xen.host.uuid': uuid,
    'xen.host.name': uuid,
    ...poolResourceAttributes(pool),
  });
}

const vmCache = new WeakMap<VmRecord, Memo>();

/**
 * A VM (or control domain) of the inventory, with the host it runs on. The caller names that host: the receiver
 * that reads a host's RRD knows the VM runs there even before the inventory's `resident_on` follows a migration.
 */
export function vmResource(pool: PoolRecord | undefined, vm: VmRecord, residentHost: HostRecord | undefined): XenResource {
  return memoised(vmCache, vm, pool, residentHost, () =>
    freeze(vmResourceKey(vm.uuid), {
      'xen.vm.uuid': vm.uuid,
      'xen.vm.name': vm.name_label,
      'xen.vm.is_control_domain': vm.is_control_domain,
      ...residentHostAttributes(residentHost),
      ...poolResourceAttributes(pool),
    }),
  );
}

/** A VM uuid the inventory does not know (yet), e.g. just migrated in: the name is the uuid. */
export function unknownVmResource(pool: PoolRecord | undefined, uuid: string, residentHost: HostRecord | undefined): XenResource {
  return freeze(vmResourceKey(uuid), {
    'xen.vm.uuid': uuid,
    'xen.vm.name': uuid,
    ...residentHostAttributes(residentHost),
    ...poolResourceAttributes(pool),
  });
}

function residentHostAttributes(host: HostRecord | undefined): Record<string, string> {
  return host ? { 'xen.host.uuid': host.uuid, 'xen.host.name': host.name_label } : {};
}

const srCache = new WeakMap<SrRecord, Memo>();

/** A storage repository of the inventory. */
export function srResource(pool: PoolRecord | undefined, sr: SrRecord): XenResource {
  return memoised(srCache, sr, pool, undefined, () =>
    freeze(srResourceKey(sr.uuid), {
      'xen.sr.uuid': sr.uuid,
      'xen.sr.name': sr.name_label,
      'xen.sr.type': sr.type,
      'xen.sr.content_type': sr.content_type,
      'xen.sr.shared': sr.shared,
      ...poolResourceAttributes(pool),
    }),
  );
}

/** An SR uuid the inventory does not know: the name is the uuid; type, content type and sharing are left out. */
export function unknownSrResource(pool: PoolRecord | undefined, uuid: string): XenResource {
  return freeze(srResourceKey(uuid), {
    'xen.sr.uuid': uuid,
    'xen.sr.name': uuid,
    ...poolResourceAttributes(pool),
  });
}
