// Metric table of the sr_usage receiver: the only place its metric names live.

import { defineCatalogue, defineMetrics } from '../../src/plugin-api/index.ts';
import { SR_RESOURCE_DOC, resourceAttributeDocs } from '../../src/lib/xen-resources/index.ts';

export const metrics = defineMetrics({
  'xen.sr.capacity': {
    description:
      'Physical size of the SR (SR.physical_size). Written by the storage manager on attach and scan, so only as fresh as the last scan; absent while the SR is unscanned (-1).',
    unit: 'By',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.sr.usage': {
    description:
      'Physical space used on the SR (SR.physical_utilisation). Same freshness as xen.sr.capacity; absent while unscanned (-1).',
    unit: 'By',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.sr.virtual_allocation': {
    description:
      'Sum of the virtual sizes of the SR’s VDIs (SR.virtual_allocation); above xen.sr.capacity on thin-provisioned SRs.',
    unit: 'By',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.sr.utilization': {
    description:
      'xen.sr.usage / xen.sr.capacity. Only emitted when the capacity is positive and the usage known, so an unscanned or empty SR never reports a bogus ratio.',
    unit: '1',
    kind: 'gauge',
    valueType: 'double',
    attributes: [],
    enabledByDefault: true,
  },
});

export const catalogue = defineCatalogue({
  description:
    'Capacity, usage and virtual allocation of every SR of the configured pools, read from the pool inventory (no extra XAPI call per scrape).',
  metrics,
  attributes: {},
  resourceAttributes: resourceAttributeDocs([SR_RESOURCE_DOC]),
  resources: [SR_RESOURCE_DOC],
  sources: {
    'xen.sr.capacity': 'SR.physical_size (bytes); negative values (never scanned) are skipped.',
    'xen.sr.usage': 'SR.physical_utilisation (bytes); negative values are skipped.',
    'xen.sr.virtual_allocation': 'SR.virtual_allocation (bytes); negative values are skipped.',
    'xen.sr.utilization': 'SR.physical_utilisation / SR.physical_size when physical_size > 0 and physical_utilisation ≥ 0.',
  },
  notes: [
    'SR sizes change only when the storage manager scans or attaches the SR (xapi scans SRs with other_config auto-scan=true every 30 s by default); a value that does not move is not proof of an idle SR.',
    'A record whose sizes are not numbers is reported as a scrape item error (STORAGE_ERR_SR_RECORD_INVALID); the other SRs still ship.',
  ],
});

export const METRIC_NAMES = Object.keys(metrics);
