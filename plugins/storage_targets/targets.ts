// Storage target description per SR type, from PBD.device_config (xapi notes §5.2, SM drivers' CONFIGURATION).
//
// Two guards keep secrets out (notes §5.3): each SR type has an allow-list of the device_config keys it may
// read, and `pickAllowed` from src/lib/redact drops any of them that looks secret anyway (and strips URL user
// info from values). Nothing else of device_config — and nothing of other_config — is ever read here.

import { pickAllowed } from '../../src/lib/redact/index.ts';

export type StorageProtocol = 'iscsi' | 'fc' | 'nfs' | 'smb' | 'iso' | 'local' | 'other';

export type TargetAttributes = Record<string, string | number>;

interface TargetSpec {
  readonly protocol: StorageProtocol | ((config: Readonly<Record<string, string>>) => StorageProtocol);
  /** device_config keys this SR type may read; everything else is ignored. */
  readonly allowedKeys: readonly string[];
  /** One attribute set per series (several for a multihomed iSCSI target). */
  readonly describe: (config: Readonly<Record<string, string>>) => TargetAttributes[];
}

/** Longer values are cut: attributes are labels, not storage for arbitrary strings. */
const MAX_VALUE_LENGTH = 256;

function put(out: TargetAttributes, key: string, value: string | undefined): void {
  if (value === undefined) return;
  const trimmed = value.trim();
  if (trimmed.length === 0) return;
  out[key] = trimmed.length > MAX_VALUE_LENGTH ? trimmed.slice(0, MAX_VALUE_LENGTH) : trimmed;
}

function putPort(out: TargetAttributes, key: string, value: string | undefined): void {
  if (value === undefined) return;
  if (/^\d{1,5}$/.test(value.trim())) out[key] = Number(value.trim());
  else put(out, key, value);
}

/** `a,b, a` → [a, b]: the comma list of a multihomed iSCSI `target`, each portal once, in the given order. */
export function splitTargets(value: string | undefined): string[] {
  if (value === undefined) return [];
  const seen = new Set<string>();
  for (const part of value.split(',')) {
    const address = part.trim();
    if (address.length > 0) seen.add(address);
  }
  return [...seen];
}

/** `//server/share/dir` or `\\server\share` → server and share (share keeps sub-directories). */
export function splitSmbPath(value: string | undefined): { server?: string; share?: string } {
  if (value === undefined) return {};
  const normalised = value.trim().replace(/\\/g, '/');
  const match = /^\/\/([^/]+)(?:\/(.*))?$/.exec(normalised);
  if (!match) return { server: normalised };
  return { server: match[1], ...(match[2] ? { share: match[2] } : {}) };
}

function iscsi(config: Readonly<Record<string, string>>): TargetAttributes[] {
  const common: TargetAttributes = {};
  put(common, 'xen.storage.iscsi.iqn', config.targetIQN);
  putPort(common, 'xen.storage.iscsi.port', config.port);
  put(common, 'xen.storage.scsi_id', config.SCSIid ?? config.ScsiId);
  const targets = splitTargets(config.target);
  if (targets.length === 0) return [common];
  return targets.map((address) => ({ ...common, 'xen.storage.iscsi.target': address }));
}

function fc(config: Readonly<Record<string, string>>): TargetAttributes[] {
  const out: TargetAttributes = {};
  put(out, 'xen.storage.scsi_id', config.SCSIid ?? config.ScsiId);
  return [out];
}

function nfs(config: Readonly<Record<string, string>>): TargetAttributes[] {
  const out: TargetAttributes = {};
  put(out, 'xen.storage.nfs.server', config.server);
  put(out, 'xen.storage.nfs.path', config.serverpath);
  put(out, 'xen.storage.nfs.version', config.nfsversion);
  return [out];
}

function smb(config: Readonly<Record<string, string>>): TargetAttributes[] {
  const out: TargetAttributes = {};
  const { server, share } = splitSmbPath(config.server);
  put(out, 'xen.storage.smb.server', server);
  put(out, 'xen.storage.smb.share', share);
  put(out, 'xen.storage.smb.version', config.vers);
  return [out];
}

function iso(config: Readonly<Record<string, string>>): TargetAttributes[] {
  const out: TargetAttributes = {};
  put(out, 'xen.storage.iso.location', config.location);
  put(out, 'xen.storage.iso.type', config.type);
  put(out, 'xen.storage.nfs.version', config.nfsversion);
  put(out, 'xen.storage.smb.version', config.vers);
  return [out];
}

function local(config: Readonly<Record<string, string>>): TargetAttributes[] {
  const out: TargetAttributes = {};
  put(out, 'xen.storage.local.device', config.device ?? config.location);
  return [out];
}

const ISCSI_KEYS = ['target', 'targetIQN', 'port', 'SCSIid'] as const;
const FC_KEYS = ['SCSIid'] as const;
const LOCAL_KEYS = ['device', 'location'] as const;

const iscsiSpec: TargetSpec = { protocol: 'iscsi', allowedKeys: ISCSI_KEYS, describe: iscsi };
const fcSpec: TargetSpec = { protocol: 'fc', allowedKeys: FC_KEYS, describe: fc };
const localSpec: TargetSpec = { protocol: 'local', allowedKeys: LOCAL_KEYS, describe: local };
const smbSpec: TargetSpec = { protocol: 'smb', allowedKeys: ['server', 'vers'], describe: smb };

/** SR type → how to describe its target. Types not listed report protocol `other` and no target attributes. */
export const TARGET_SPECS: Readonly<Record<string, TargetSpec>> = {
  lvmoiscsi: iscsiSpec,
  lvhdoiscsi: iscsiSpec,
  iscsi: iscsiSpec,
  ocfsoiscsi: iscsiSpec,
  lvmohba: fcSpec,
  lvhdohba: fcSpec,
  hba: fcSpec,
  rawhba: fcSpec,
  ocfsohba: fcSpec,
  gfs2: {
    // gfs2 keys are UNCONFIRMED in the notes (closed source); `provider` says which transport it uses.
    protocol: (config) => (config.provider === 'iscsi' ? 'iscsi' : config.provider === 'hba' ? 'fc' : 'other'),
    allowedKeys: ['provider', 'target', 'targetIQN', 'port', 'SCSIid', 'ScsiId'],
    describe: (config) => (config.provider === 'iscsi' ? iscsi(config) : fc(config)),
  },
  nfs: { protocol: 'nfs', allowedKeys: ['server', 'serverpath', 'nfsversion'], describe: nfs },
  smb: smbSpec,
  cifs: smbSpec,
  iso: { protocol: 'iso', allowedKeys: ['location', 'type', 'nfsversion', 'vers'], describe: iso },
  lvm: localSpec,
  ext: localSpec,
  ext4: localSpec,
  xfs: localSpec,
  btrfs: localSpec,
  zfs: localSpec,
  file: localSpec,
  largeblock: localSpec,
  udev: localSpec,
};

const otherSpec: TargetSpec = { protocol: 'other', allowedKeys: [], describe: () => [{}] };

/** The target attribute sets of one PBD: `xen.storage.protocol` plus the type's attributes, one set per series. */
export function describeTarget(srType: string, deviceConfig: Readonly<Record<string, string>> | undefined): TargetAttributes[] {
  const spec = Object.hasOwn(TARGET_SPECS, srType) ? TARGET_SPECS[srType]! : otherSpec;
  const safe = pickAllowed(deviceConfig, spec.allowedKeys);
  const protocol = typeof spec.protocol === 'function' ? spec.protocol(safe) : spec.protocol;
  return spec.describe(safe).map((attributes) => ({ 'xen.storage.protocol': protocol, ...attributes }));
}

/** Every target attribute key any SR type can produce (for the metric table). */
export const TARGET_ATTRIBUTE_KEYS = [
  'xen.storage.protocol',
  'xen.storage.iscsi.target',
  'xen.storage.iscsi.iqn',
  'xen.storage.iscsi.port',
  'xen.storage.scsi_id',
  'xen.storage.nfs.server',
  'xen.storage.nfs.path',
  'xen.storage.nfs.version',
  'xen.storage.smb.server',
  'xen.storage.smb.share',
  'xen.storage.smb.version',
  'xen.storage.iso.location',
  'xen.storage.iso.type',
  'xen.storage.local.device',
] as const;
