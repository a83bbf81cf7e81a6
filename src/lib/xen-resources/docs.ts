// Documentation of the resource attributes built in attributes.ts, in the shape of the plugin API's catalogue
// (`AttributeDefinition`, `ResourceDefinition`; structural: this leaf library may not import the plugin API), so
// every receiver's catalogue describes the same key and the same resource the same way.

export const RESOURCE_ATTRIBUTE_DOCS = {
  'host.id': { description: 'Host uuid (semconv; identifying).', type: 'string' },
  'host.name': { description: 'Host name: XAPI `hostname`, else `name_label` (semconv). The uuid when the host is not in the inventory.', type: 'string' },
  'xen.host.uuid': { description: 'XAPI host uuid. On VM resources: the host the VM runs on (the host that reported it).', type: 'string' },
  'xen.host.name': { description: 'XAPI host `name_label` (descriptive; may change). On VM resources: of the host the VM runs on. The uuid when the host is not in the inventory.', type: 'string' },
  'xen.host.address': { description: 'Management address of the host. Absent when the host is not in the inventory.', type: 'string' },
  'xen.pool.uuid': { description: 'Pool uuid. Absent until the pool record is known.', type: 'string' },
  'xen.pool.name': { description: 'Pool `name_label` (descriptive; may change).', type: 'string' },
  'xen.vm.uuid': { description: 'VM uuid (identifying).', type: 'string' },
  'xen.vm.name': { description: 'VM `name_label`; the uuid when the VM is not (yet) in the inventory, e.g. just migrated in.', type: 'string' },
  'xen.vm.is_control_domain': { description: 'True for dom0 and driver domains. Absent when the VM is not in the inventory.', type: 'bool' },
  'xen.sr.uuid': { description: 'SR uuid (identifying).', type: 'string' },
  'xen.sr.name': { description: 'SR `name_label` (descriptive; may change); the uuid when the SR is not in the inventory.', type: 'string' },
  'xen.sr.type': { description: 'SR type as the storage manager names it: lvmoiscsi, lvmohba, nfs, ext, lvm, iso, smb, … Absent when the SR is not in the inventory.', type: 'string' },
  'xen.sr.content_type': { description: 'SR content_type: user, disk, iso, … Absent when the SR is not in the inventory.', type: 'string' },
  'xen.sr.shared': { description: 'Whether the SR is shared by the hosts of the pool. Absent when the SR is not in the inventory.', type: 'bool' },
} as const;

export type ResourceAttributeKey = keyof typeof RESOURCE_ATTRIBUTE_DOCS;

const POOL = ['xen.pool.uuid', 'xen.pool.name'] as const;

/** Attribute keys of each resource, identifying ones first. */
export const HOST_RESOURCE_ATTRIBUTES = ['host.id', 'host.name', 'xen.host.uuid', 'xen.host.name', 'xen.host.address', ...POOL] as const;
export const VM_RESOURCE_ATTRIBUTES = ['xen.vm.uuid', 'xen.vm.name', 'xen.vm.is_control_domain', 'xen.host.uuid', 'xen.host.name', ...POOL] as const;
export const SR_RESOURCE_ATTRIBUTES = ['xen.sr.uuid', 'xen.sr.name', 'xen.sr.type', 'xen.sr.content_type', 'xen.sr.shared', ...POOL] as const;

export const HOST_RESOURCE_DOC = {
  entity: 'host',
  description: 'A XenServer / XCP-ng host.',
  keyPattern: 'host:<uuid>',
  attributes: HOST_RESOURCE_ATTRIBUTES,
} as const;

export const VM_RESOURCE_DOC = {
  entity: 'vm',
  description: 'A VM or control domain, with the host it runs on.',
  keyPattern: 'vm:<uuid>',
  attributes: VM_RESOURCE_ATTRIBUTES,
} as const;

export const SR_RESOURCE_DOC = {
  entity: 'sr',
  description: 'A storage repository of a pool.',
  keyPattern: 'sr:<uuid>',
  attributes: SR_RESOURCE_ATTRIBUTES,
} as const;

type Docs = typeof RESOURCE_ATTRIBUTE_DOCS;

/** The documentation entries of the attributes of `resources`, for a catalogue's `resourceAttributes`. */
export function resourceAttributeDocs(
  resources: readonly { readonly attributes: readonly ResourceAttributeKey[] }[],
): Readonly<Record<string, Docs[ResourceAttributeKey]>> {
  const out: Record<string, Docs[ResourceAttributeKey]> = {};
  for (const resource of resources) for (const key of resource.attributes) out[key] = RESOURCE_ATTRIBUTE_DOCS[key];
  return out;
}
