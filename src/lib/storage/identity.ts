// Resource identity shared by the four storage receivers. One function builds each resource so that the same
// entity has the same attributes and the same key whichever receiver reports it (exporters may cache the
// serialised resource by key).

import type { HostRecord, Inventory, SrRecord } from '../xapi/types.ts';

export type StorageAttributes = Record<string, string | number | boolean>;

export interface StorageResource {
  readonly key: string;
  readonly attributes: Readonly<StorageAttributes>;
}

export const SR_RESOURCE_ATTRIBUTES = [
  'xen.sr.uuid',
  'xen.sr.name',
  'xen.sr.type',
  'xen.sr.content_type',
  'xen.sr.shared',
  'xen.pool.uuid',
  'xen.pool.name',
] as const;

export const HOST_RESOURCE_ATTRIBUTES = ['xen.host.uuid', 'xen.host.name', 'xen.pool.uuid', 'xen.pool.name'] as const;

/** Data-point attributes naming the host side of a host×SR pair (a PBD). */
export const HOST_POINT_ATTRIBUTES = ['xen.host.uuid', 'xen.host.name', 'xen.pbd.uuid'] as const;

function poolUuid(inventory: Inventory): string {
  return inventory.pool?.uuid ?? '';
}

export function srResource(inventory: Inventory, sr: SrRecord): StorageResource {
  const pool = inventory.pool;
  return {
    // Pool-scoped: the same SR uuid can be introduced into two pools (a shared NFS SR moved between pools).
    key: `sr:${poolUuid(inventory)}:${sr.uuid}`,
    attributes: {
      'xen.sr.uuid': sr.uuid,
      'xen.sr.name': sr.name_label,
      'xen.sr.type': sr.type,
      'xen.sr.content_type': sr.content_type,
      'xen.sr.shared': sr.shared,
      'xen.pool.uuid': pool?.uuid ?? '',
      'xen.pool.name': pool?.name_label ?? '',
    },
  };
}

export function hostResource(inventory: Inventory, host: HostRecord): StorageResource {
  const pool = inventory.pool;
  return {
    key: `host:${poolUuid(inventory)}:${host.uuid}`,
    attributes: {
      'xen.host.uuid': host.uuid,
      'xen.host.name': host.name_label,
      'xen.pool.uuid': pool?.uuid ?? '',
      'xen.pool.name': pool?.name_label ?? '',
    },
  };
}

// Documentation of the attributes above, in the shape of the plugin API's catalogue (`AttributeDefinition`),
// kept here so the four receivers' catalogues describe the same key the same way.
export const STORAGE_RESOURCE_ATTRIBUTE_DOCS = {
  'xen.sr.uuid': { description: 'SR uuid (identifying).', type: 'string' },
  'xen.sr.name': { description: 'SR name_label (descriptive; may change).', type: 'string' },
  'xen.sr.type': { description: 'SR type as the storage manager names it: lvmoiscsi, lvmohba, nfs, ext, lvm, iso, smb, …', type: 'string' },
  'xen.sr.content_type': { description: 'SR content_type: user, disk, iso, …', type: 'string' },
  'xen.sr.shared': { description: 'Whether the SR is shared by the hosts of the pool.', type: 'bool' },
  'xen.host.uuid': { description: 'Host uuid (identifying).', type: 'string' },
  'xen.host.name': { description: 'Host name_label (descriptive; may change).', type: 'string' },
  'xen.pool.uuid': { description: 'Pool uuid.', type: 'string' },
  'xen.pool.name': { description: 'Pool name_label.', type: 'string' },
} as const;

export const HOST_POINT_ATTRIBUTE_DOCS = {
  'xen.host.uuid': { description: 'Uuid of the host side of the host×SR pair (the PBD’s host).', type: 'string' },
  'xen.host.name': { description: 'Name of that host (descriptive; may change).', type: 'string' },
  'xen.pbd.uuid': { description: 'Uuid of the PBD joining the host and the SR.', type: 'string' },
} as const;

export const SR_RESOURCE_DOC = {
  entity: 'sr',
  description: 'A storage repository of a pool.',
  keyPattern: 'sr:<pool uuid>:<sr uuid>',
  attributes: SR_RESOURCE_ATTRIBUTES,
} as const;

export const HOST_RESOURCE_DOC = {
  entity: 'host',
  description: 'A host of a pool.',
  keyPattern: 'host:<pool uuid>:<host uuid>',
  attributes: HOST_RESOURCE_ATTRIBUTES,
} as const;

/** Values of host×SR point attributes. */
export function hostPointAttributes(host: HostRecord, pbdUuid: string): StorageAttributes {
  return { 'xen.host.uuid': host.uuid, 'xen.host.name': host.name_label, 'xen.pbd.uuid': pbdUuid };
}

type AttributeDocs = typeof STORAGE_RESOURCE_ATTRIBUTE_DOCS;

/** The documentation entries of `keys`, for a catalogue's `resourceAttributes`. */
export function resourceAttributeDocs<const K extends keyof AttributeDocs>(keys: readonly K[]): Pick<AttributeDocs, K> {
  const out: Partial<AttributeDocs> = {};
  for (const key of keys) Object.assign(out, { [key]: STORAGE_RESOURCE_ATTRIBUTE_DOCS[key] });
  return out as Pick<AttributeDocs, K>;
}
