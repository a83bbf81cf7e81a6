// Metric table of the pbd_attachment receiver: the only place its metric names live.
//
// Shape: the resource is the SR, the host is a data-point attribute. A PBD is a host×SR pair; putting it under the
// SR resource keeps the per-SR detached count on the same resource as the per-host series it summarises, so
// "which hosts lost this SR" is one resource in any backend, and SR identity (uuid, name, type, shared) is stated
// once instead of on every point. The host side has low cardinality (hosts per pool ≤ 64) and PBD uuid adds no
// series (one PBD per host×SR).

import { defineCatalogue, defineMetrics } from '../../src/plugin-api/index.ts';
import { HOST_POINT_ATTRIBUTES, HOST_POINT_ATTRIBUTE_DOCS } from '../../src/lib/storage/index.ts';
import { SR_RESOURCE_DOC, resourceAttributeDocs } from '../../src/lib/xen-resources/index.ts';

export const metrics = defineMetrics({
  'xen.pbd.attached': {
    description: 'Whether the host’s PBD for this SR is currently attached (1) or not (0).',
    unit: '1',
    kind: 'gauge',
    valueType: 'int',
    attributes: HOST_POINT_ATTRIBUTES,
    enabledByDefault: true,
  },
  'xen.sr.hosts.detached': {
    description:
      'Number of hosts whose PBD for this SR is not attached; 0 when every host that has a PBD for the SR has it attached. Alert on > 0.',
    unit: '{host}',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
});

export const catalogue = defineCatalogue({
  description:
    'PBD attachment state of every host×SR pair of the configured pools, plus a per-SR count of hosts whose PBD is detached, read from the pool inventory.',
  metrics,
  attributes: HOST_POINT_ATTRIBUTE_DOCS,
  resourceAttributes: resourceAttributeDocs([SR_RESOURCE_DOC]),
  resources: [SR_RESOURCE_DOC],
  sources: {
    'xen.pbd.attached': 'PBD.currently_attached (true → 1, false → 0).',
    'xen.sr.hosts.detached': 'Count of distinct PBD.host among the SR’s PBDs with currently_attached = false.',
  },
  notes: [
    'A host with no PBD at all for a shared SR (e.g. a host that joined the pool and was never plugged) has no series and is not counted as detached.',
    'A PBD that refers to a host or SR missing from the inventory is a scrape item error (STORAGE_ERR_PBD_DANGLING); the other PBDs still ship.',
  ],
});

export const METRIC_NAMES = Object.keys(metrics);
