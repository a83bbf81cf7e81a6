// Metric table of the storage_targets receiver: the only place its metric names live.
//
// Shape: an info-style gauge (value 1) per host×SR whose attributes describe how that host reaches the SR.
// A multihomed iSCSI `target` ("10.0.0.1,10.0.1.1") becomes one series per portal rather than one normalised
// comma string: each attribute then holds one address that can be filtered and joined (with a network probe,
// a CMDB) without string parsing, and "how many portals does this host see" is a count. The cost is one series
// per portal, a handful per PBD.

import { defineCatalogue, defineMetrics } from '../../src/plugin-api/index.ts';
import { HOST_POINT_ATTRIBUTES, HOST_POINT_ATTRIBUTE_DOCS } from '../../src/lib/storage/index.ts';
import { SR_RESOURCE_DOC, resourceAttributeDocs } from '../../src/lib/xen-resources/index.ts';
import { TARGET_ATTRIBUTE_KEYS } from './targets.ts';

export const metrics = defineMetrics({
  'xen.pbd.target.info': {
    description:
      'Always 1. Its attributes describe the storage target the host’s PBD uses for this SR (iSCSI portal, IQN, port, SCSI id; NFS server, path, version; FC SCSI id; SMB server and share; ISO location; local device). Secrets are never included.',
    unit: '1',
    kind: 'gauge',
    valueType: 'int',
    attributes: [...HOST_POINT_ATTRIBUTES, ...TARGET_ATTRIBUTE_KEYS],
    enabledByDefault: true,
  },
});

export const catalogue = defineCatalogue({
  description:
    'Storage target description of every host×SR pair (PBD) of the configured pools, from PBD.device_config through a per-SR-type allow-list plus a secret-key deny-list.',
  metrics,
  attributes: {
    ...HOST_POINT_ATTRIBUTE_DOCS,
    'xen.storage.protocol': {
      description: 'How the host reaches the SR, from the SR type.',
      type: 'string',
      values: ['iscsi', 'fc', 'nfs', 'smb', 'iso', 'local', 'other'],
    },
    'xen.storage.iscsi.target': { description: 'One iSCSI portal address (device_config target; a comma list gives one series each).', type: 'string' },
    'xen.storage.iscsi.iqn': { description: 'iSCSI target IQN (device_config targetIQN).', type: 'string' },
    'xen.storage.iscsi.port': { description: 'iSCSI portal port (device_config port).', type: 'int' },
    'xen.storage.scsi_id': { description: 'SCSI id of the LUN (device_config SCSIid) for iSCSI, FC/HBA and gfs2.', type: 'string' },
    'xen.storage.nfs.server': { description: 'NFS server (device_config server).', type: 'string' },
    'xen.storage.nfs.path': { description: 'Exported path on the NFS server (device_config serverpath).', type: 'string' },
    'xen.storage.nfs.version': { description: 'NFS version requested (device_config nfsversion).', type: 'string' },
    'xen.storage.smb.server': { description: 'SMB/CIFS server (from device_config server //server/share).', type: 'string' },
    'xen.storage.smb.share': { description: 'SMB/CIFS share (from device_config server //server/share).', type: 'string' },
    'xen.storage.smb.version': { description: 'SMB protocol version (device_config vers).', type: 'string' },
    'xen.storage.iso.location': { description: 'ISO library location (device_config location), URL credentials removed.', type: 'string' },
    'xen.storage.iso.type': { description: 'ISO library kind (device_config type: cifs, nfs_iso).', type: 'string' },
    'xen.storage.local.device': { description: 'Local block device or path (device_config device or location).', type: 'string' },
  },
  resourceAttributes: resourceAttributeDocs([SR_RESOURCE_DOC]),
  resources: [SR_RESOURCE_DOC],
  sources: {
    'xen.pbd.target.info': 'PBD.device_config, allow-listed keys per SR type only; value fixed at 1.',
  },
  notes: [
    'Never exported: any device_config key matching /pass(word)?|secret|chap|key|token|user(name)?|credential|auth|session|cookie|private/i (chappassword, incoming_chappassword, *_secret, cifspassword, password, chapuser, username, …), any key not on the SR type’s allow-list, and anything from PBD.other_config. User info in URL-like values (//user:pw@server) is removed.',
    'SR types without an entry (vendor drivers) report xen.storage.protocol = other and no target attributes.',
  ],
});

export const METRIC_NAMES = Object.keys(metrics);
