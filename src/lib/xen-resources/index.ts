// Leaf library: resource identity (attributes, keys, docs) of pool entities, shared by every receiver.
// Imports nothing from the project but the XAPI record types.
export {
  hostResource,
  hostResourceKey,
  poolResourceAttributes,
  srResource,
  srResourceKey,
  unknownHostResource,
  unknownSrResource,
  unknownVmResource,
  vmResource,
  vmResourceKey,
  type ResourceAttributeValue,
  type ResourceAttributes,
  type XenResource,
} from './attributes.ts';
export {
  HOST_RESOURCE_ATTRIBUTES,
  HOST_RESOURCE_DOC,
  RESOURCE_ATTRIBUTE_DOCS,
  SR_RESOURCE_ATTRIBUTES,
  SR_RESOURCE_DOC,
  VM_RESOURCE_ATTRIBUTES,
  VM_RESOURCE_DOC,
  resourceAttributeDocs,
  type ResourceAttributeKey,
} from './docs.ts';
