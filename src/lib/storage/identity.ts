// Data-point attributes the storage receivers share. Resource identity (host, SR) is not here: every receiver
// builds its resources with src/lib/xen-resources, so the same entity has the same attributes and key whichever
// receiver reports it.

import type { HostRecord } from '../xapi/types.ts';

export type StorageAttributes = Record<string, string | number | boolean>;

/** Data-point attributes naming the host side of a host×SR pair (a PBD). */
export const HOST_POINT_ATTRIBUTES = ['xen.host.uuid', 'xen.host.name', 'xen.pbd.uuid'] as const;

export const HOST_POINT_ATTRIBUTE_DOCS = {
  'xen.host.uuid': { description: 'Uuid of the host side of the host×SR pair (the PBD’s host).', type: 'string' },
  'xen.host.name': { description: 'Name of that host (descriptive; may change).', type: 'string' },
  'xen.pbd.uuid': { description: 'Uuid of the PBD joining the host and the SR.', type: 'string' },
} as const;

/** Values of host×SR point attributes. */
export function hostPointAttributes(host: HostRecord, pbdUuid: string): StorageAttributes {
  return { 'xen.host.uuid': host.uuid, 'xen.host.name': host.name_label, 'xen.pbd.uuid': pbdUuid };
}
