// Metric table of the multipath receiver: the only place its metric names live.
//
// Sources (xapi notes §5.1): the storage manager's mpathcount writes `PBD.other_config["mpath-<SCSIid>"] =
// "[active, max]"` and `multipathed = "true"` on the local host's PBDs, and `host.other_config["mpath-boot"]`
// for a multipathed root disk. `max` is a high-water mark, so `active < max` is "degraded"; the degraded flags
// are emitted so that an alert is one comparison on one metric.

import { defineCatalogue, defineMetrics } from '../../src/plugin-api/index.ts';
import { HOST_POINT_ATTRIBUTES, HOST_POINT_ATTRIBUTE_DOCS } from '../../src/lib/storage/index.ts';
import { HOST_RESOURCE_DOC, SR_RESOURCE_DOC, resourceAttributeDocs } from '../../src/lib/xen-resources/index.ts';

const LUN_ATTRIBUTES = [...HOST_POINT_ATTRIBUTES, 'xen.lun.scsi_id'] as const;

export const metrics = defineMetrics({
  'xen.host.multipath.enabled': {
    description:
      'Whether multipathing is enabled on the host (1) or not (0): host.multipathing, or the legacy host.other_config multipathing = "true" that the storage manager itself obeys.',
    unit: '1',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.host.multipath.boot.paths.active': {
    description: 'Active paths to the host’s multipathed root disk (host.other_config mpath-boot); absent when the root disk is not multipathed.',
    unit: '{path}',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.host.multipath.boot.paths.max': {
    description: 'Highest number of paths ever seen to the host’s multipathed root disk (high-water mark).',
    unit: '{path}',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.host.multipath.boot.degraded': {
    description: '1 when the root disk has fewer active paths than its maximum, else 0.',
    unit: '1',
    kind: 'gauge',
    valueType: 'int',
    attributes: [],
    enabledByDefault: true,
  },
  'xen.pbd.multipathed': {
    description:
      'Whether the storage manager reports the host’s PBD for this SR as multipathed (PBD.other_config multipathed = "true"). Emitted for multipath-capable SR types and for any PBD that carries multipath keys.',
    unit: '1',
    kind: 'gauge',
    valueType: 'int',
    attributes: HOST_POINT_ATTRIBUTES,
    enabledByDefault: true,
  },
  'xen.pbd.multipath.paths.active': {
    description: 'Active (not faulty, shaky or failed) paths from the host to the LUN.',
    unit: '{path}',
    kind: 'gauge',
    valueType: 'int',
    attributes: LUN_ATTRIBUTES,
    enabledByDefault: true,
  },
  'xen.pbd.multipath.paths.max': {
    description: 'Highest number of paths ever seen from the host to the LUN while its multipath map existed (high-water mark).',
    unit: '{path}',
    kind: 'gauge',
    valueType: 'int',
    attributes: LUN_ATTRIBUTES,
    enabledByDefault: true,
  },
  'xen.pbd.multipath.degraded': {
    description: '1 when the host has fewer active paths to the LUN than its maximum (0 active = all paths down), else 0. Alert on == 1.',
    unit: '1',
    kind: 'gauge',
    valueType: 'int',
    attributes: LUN_ATTRIBUTES,
    enabledByDefault: true,
  },
  'xen.pbd.iscsi.sessions': {
    description: 'iSCSI sessions the host has open for the SR (PBD.other_config iscsi_sessions); absent for non-iSCSI PBDs.',
    unit: '{session}',
    kind: 'gauge',
    valueType: 'int',
    attributes: HOST_POINT_ATTRIBUTES,
    enabledByDefault: true,
  },
  'xen.multipath.parse_errors': {
    description:
      'Multipath values that could not be parsed as "[active, max]" (or iscsi_sessions as an integer), counted since the receiver started. On the SR resource per host×SR, on the host resource for mpath-boot.',
    unit: '{error}',
    kind: 'sum',
    valueType: 'int',
    monotonic: true,
    attributes: HOST_POINT_ATTRIBUTES,
    enabledByDefault: true,
  },
});

export const catalogue = defineCatalogue({
  description:
    'Multipath health: per host whether multipathing is on and the state of a multipathed root disk; per host×SR×LUN the active and maximum path counts and a degraded flag. Read from the pool inventory.',
  metrics,
  attributes: {
    ...HOST_POINT_ATTRIBUTE_DOCS,
    'xen.lun.scsi_id': { description: 'SCSI id of the LUN (the suffix of the mpath-<SCSIid> key).', type: 'string' },
  },
  resourceAttributes: resourceAttributeDocs([SR_RESOURCE_DOC, HOST_RESOURCE_DOC]),
  resources: [SR_RESOURCE_DOC, HOST_RESOURCE_DOC],
  sources: {
    'xen.host.multipath.enabled': 'host.multipathing OR host.other_config["multipathing"] == "true".',
    'xen.host.multipath.boot.paths.active': 'host.other_config["mpath-boot"] = "[active, max]", first number.',
    'xen.host.multipath.boot.paths.max': 'host.other_config["mpath-boot"], second number.',
    'xen.host.multipath.boot.degraded': 'active < max of host.other_config["mpath-boot"].',
    'xen.pbd.multipathed': 'PBD.other_config["multipathed"] == "true".',
    'xen.pbd.multipath.paths.active': 'PBD.other_config["mpath-<SCSIid>"] = "[active, max]", first number (regex ^\\[(\\d+), ?(\\d+)\\]$).',
    'xen.pbd.multipath.paths.max': 'PBD.other_config["mpath-<SCSIid>"], second number.',
    'xen.pbd.multipath.degraded': 'active < max of PBD.other_config["mpath-<SCSIid>"].',
    'xen.pbd.iscsi.sessions': 'PBD.other_config["iscsi_sessions"] (decimal integer).',
    'xen.multipath.parse_errors': 'Cumulative count of values that failed to parse; each failure is also a STORAGE_ERR_MPATH_PARSE scrape item error.',
  },
  notes: [
    'Multipath-capable SR types: iscsi, lvmoiscsi, lvhdoiscsi, lvmohba, lvhdohba, hba, rawhba, gfs2, ocfsoiscsi, ocfsohba, netapp.',
    'The storage manager removes the mpath-<SCSIid> keys when the LUN’s multipath device disappears or multipathing is turned off; the path series then end.',
    'Parse errors never include the offending value (only its length), since other_config is free-form.',
  ],
});

export const METRIC_NAMES = Object.keys(metrics);
