import { describe, expect, it } from 'vitest';
import { isSecretKey } from '../../src/lib/redact/index.ts';
import { TARGET_SPECS, describeTarget, splitSmbPath, splitTargets } from './targets.ts';

describe('storage target helpers', () => {
  it('splits a multihomed iSCSI target list, trimming and de-duplicating', () => {
    expect(splitTargets('10.0.0.1, 10.0.1.1,,10.0.0.1')).toEqual(['10.0.0.1', '10.0.1.1']);
    expect(splitTargets('')).toEqual([]);
    expect(splitTargets(undefined)).toEqual([]);
  });

  it.each([
    ['//fs/vms', { server: 'fs', share: 'vms' }],
    ['\\\\fs\\vms\\sub', { server: 'fs', share: 'vms/sub' }],
    ['//fs', { server: 'fs' }],
    ['fs', { server: 'fs' }],
  ])('splits SMB path %j', (raw, expected) => {
    expect(splitSmbPath(raw)).toEqual(expected);
  });

  it('allow-lists no key that the deny-list considers secret', () => {
    for (const [type, spec] of Object.entries(TARGET_SPECS)) {
      for (const key of spec.allowedKeys) expect(isSecretKey(key), `${type}.${key}`).toBe(false);
    }
  });

  it('gives one attribute set per iSCSI portal with the shared IQN, port and SCSI id', () => {
    expect(describeTarget('lvmoiscsi', { target: 'a,b', targetIQN: 'iqn.x', port: '3260', SCSIid: '36', chappassword: 'p' })).toEqual([
      { 'xen.storage.protocol': 'iscsi', 'xen.storage.iscsi.target': 'a', 'xen.storage.iscsi.iqn': 'iqn.x', 'xen.storage.iscsi.port': 3260, 'xen.storage.scsi_id': '36' },
      { 'xen.storage.protocol': 'iscsi', 'xen.storage.iscsi.target': 'b', 'xen.storage.iscsi.iqn': 'iqn.x', 'xen.storage.iscsi.port': 3260, 'xen.storage.scsi_id': '36' },
    ]);
  });

  it('reports unknown SR types as protocol other without reading device_config', () => {
    expect(describeTarget('vendor-x', { server: 'x', path: '/y' })).toEqual([{ 'xen.storage.protocol': 'other' }]);
  });

  it('does not treat an inherited property name as an SR type', () => {
    expect(describeTarget('constructor', { device: '/dev/x' })).toEqual([{ 'xen.storage.protocol': 'other' }]);
  });

  it('cuts very long values', () => {
    const [attributes] = describeTarget('nfs', { server: 'n', serverpath: `/${'x'.repeat(1000)}` });
    expect(String(attributes!['xen.storage.nfs.path'])).toHaveLength(256);
  });
});
