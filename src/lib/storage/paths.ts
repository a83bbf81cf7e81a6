// Multipath path counts as the storage manager writes them (xapi notes §5.1, SM `mpathcount.py`):
// `PBD.other_config["mpath-<SCSIid>"]` and `host.other_config["mpath-boot"]` hold `str([active, max])`, a Python
// list repr such as "[2, 4]". `max` is a high-water mark of the paths ever seen, so active < max means degraded.

export interface PathCount {
  readonly active: number;
  readonly max: number;
}

const PATH_COUNT = /^\[(\d+), ?(\d+)\]$/;

export const MPATH_KEY_PREFIX = 'mpath-';
export const MPATH_BOOT_KEY = 'mpath-boot';

/** Parses "[active, max]"; undefined for empty or malformed values (a counted parse error for the caller). */
export function parsePathCount(value: string | undefined): PathCount | undefined {
  if (typeof value !== 'string') return undefined;
  const match = PATH_COUNT.exec(value);
  if (!match) return undefined;
  const active = Number(match[1]);
  const max = Number(match[2]);
  if (!Number.isSafeInteger(active) || !Number.isSafeInteger(max)) return undefined;
  return { active, max };
}

export interface MpathEntry {
  /** The LUN's SCSI id (the key without the `mpath-` prefix). */
  readonly scsiId: string;
  readonly key: string;
  readonly raw: string;
}

/** Every `mpath-<SCSIid>` entry of a PBD's other_config, sorted by SCSI id. */
export function mpathEntries(otherConfig: Readonly<Record<string, string>> | undefined): MpathEntry[] {
  const out: MpathEntry[] = [];
  if (!otherConfig) return out;
  for (const [key, raw] of Object.entries(otherConfig)) {
    if (!key.startsWith(MPATH_KEY_PREFIX) || key === MPATH_BOOT_KEY) continue;
    const scsiId = key.slice(MPATH_KEY_PREFIX.length);
    if (scsiId.length === 0) continue;
    out.push({ scsiId, key, raw: typeof raw === 'string' ? raw : '' });
  }
  return out.sort((a, b) => (a.scsiId < b.scsiId ? -1 : a.scsiId > b.scsiId ? 1 : 0));
}

/** A description of a bad value that is safe to log: its shape, never its content. */
export function describeBadValue(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string') return { valueType: typeof raw };
  return { valueType: 'string', valueLength: raw.length };
}
