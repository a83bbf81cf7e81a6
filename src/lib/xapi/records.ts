// Typed records from raw XML-RPC structs. XAPI sends int64 as decimal strings and datetimes as dateTime.iso8601;
// the contract (types.ts) wants numbers and unix ms. A field missing on an older xapi gets a neutral default so a
// record always has the declared shape (e.g. `host.multipathing` only exists since XenServer 7.5).
import { parseXapiDateTime, type XmlRpcValue } from './codec.ts';
import {
  NULL_REF,
  type HostMetricsRecord,
  type HostRecord,
  type PbdRecord,
  type PifRecord,
  type PoolRecord,
  type Ref,
  type SrRecord,
  type VbdRecord,
  type VifRecord,
  type VmRecord,
} from './types.ts';

type FieldKind = 'string' | 'ref' | 'int' | 'bool' | 'datetime' | 'map' | 'strings';
type Spec<T> = { readonly [K in Exclude<keyof T, 'ref'>]-?: FieldKind };

const poolSpec: Spec<PoolRecord> = {
  uuid: 'string', name_label: 'string', name_description: 'string', master: 'ref', default_SR: 'ref', other_config: 'map',
};
const hostSpec: Spec<HostRecord> = {
  uuid: 'string', name_label: 'string', name_description: 'string', address: 'string', hostname: 'string', enabled: 'bool',
  software_version: 'map', other_config: 'map', multipathing: 'bool', resident_VMs: 'strings', control_domain: 'ref',
  metrics: 'ref', PBDs: 'strings', PIFs: 'strings', cpu_info: 'map', API_version_major: 'int', API_version_minor: 'int',
};
const hostMetricsSpec: Spec<HostMetricsRecord> = {
  uuid: 'string', memory_total: 'int', memory_free: 'int', live: 'bool', last_updated: 'datetime',
};
const vmSpec: Spec<VmRecord> = {
  uuid: 'string', name_label: 'string', name_description: 'string', power_state: 'string', is_a_template: 'bool',
  is_default_template: 'bool', is_a_snapshot: 'bool', is_control_domain: 'bool', resident_on: 'ref', domid: 'int',
  metrics: 'ref', VBDs: 'strings', VIFs: 'strings', VCPUs_max: 'int', VCPUs_at_startup: 'int', memory_static_max: 'int',
  memory_dynamic_max: 'int', memory_target: 'int', other_config: 'map', tags: 'strings',
};
const srSpec: Spec<SrRecord> = {
  uuid: 'string', name_label: 'string', name_description: 'string', type: 'string', content_type: 'string', shared: 'bool',
  physical_size: 'int', physical_utilisation: 'int', virtual_allocation: 'int', PBDs: 'strings', VDIs: 'strings',
  other_config: 'map', sm_config: 'map',
};
const pbdSpec: Spec<PbdRecord> = {
  uuid: 'string', host: 'ref', SR: 'ref', device_config: 'map', currently_attached: 'bool', other_config: 'map',
};
const vbdSpec: Spec<VbdRecord> = {
  uuid: 'string', VM: 'ref', VDI: 'ref', device: 'string', userdevice: 'string', type: 'string', mode: 'string',
  currently_attached: 'bool',
};
const vifSpec: Spec<VifRecord> = {
  uuid: 'string', VM: 'ref', network: 'ref', device: 'string', MAC: 'string', currently_attached: 'bool',
};
const pifSpec: Spec<PifRecord> = {
  uuid: 'string', host: 'ref', network: 'ref', device: 'string', IP: 'string', management: 'bool',
  currently_attached: 'bool', bond_master_of: 'strings', VLAN: 'int',
};

/**
 * One string object per content. Every decoded value is its own string on the heap, and a pool's records repeat the
 * same values thousands of times: refs (a VBD's `VM` is also a key of the VM table, every VM's `resident_on` is one of
 * the hosts) and short enum-like values (`Running`, `RW`, `xvda`). At 6,400 VMs that was 104,000 `OpaqueRef:` strings
 * (6.4 MiB) for ~40,000 distinct refs.
 */
export type Intern = (value: string) => string;

const asIs: Intern = (value) => value;

/** Values longer than this (uuids, names, descriptions) are mostly unique: not worth a table entry. */
const INTERN_MAX_LENGTH = 24;

/** A free-text value through the table only when it is short enough to repeat (refs always go through). */
function internShort(text: string, intern: Intern): string {
  return text.length <= INTERN_MAX_LENGTH ? intern(text) : text;
}

/** An intern table for one inventory load; drop it with the load so it never outlives the records it served. */
export function internTable(): Intern {
  const seen = new Map<string, string>();
  return (value) => {
    const known = seen.get(value);
    if (known !== undefined) return known;
    seen.set(value, value);
    return value;
  };
}

function convert(kind: FieldKind, raw: XmlRpcValue | undefined, intern: Intern): unknown {
  switch (kind) {
    case 'string': {
      if (raw === undefined || raw === null) return '';
      return internShort(String(raw), intern);
    }
    case 'ref':
      return typeof raw === 'string' && raw !== '' ? intern(raw) : NULL_REF;
    case 'int':
      return toInt(raw);
    case 'bool':
      // Real xapi sends <boolean>; tolerate the string forms some proxies and old dumps use.
      return raw === true || raw === 'true' || raw === '1' || raw === 1;
    case 'datetime':
      return toUnixMs(raw);
    case 'map':
      return toStringMap(raw, intern);
    case 'strings':
      return Array.isArray(raw) ? raw.map((item) => intern(String(item))) : [];
  }
}

/** int64 arrives as a decimal string (`'404656128'`, `'-1'`); `<i4>`/`<int>` as a number. */
export function toInt(raw: XmlRpcValue | undefined): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.trim() !== '') return Number(raw);
  return 0;
}

/** dateTime → unix ms; a string form (`20240101T12:00:00Z`) is accepted too. */
export function toUnixMs(raw: XmlRpcValue | undefined): number {
  if (raw instanceof Date) return raw.getTime();
  if (typeof raw === 'string' && raw !== '') return parseXapiDateTime(raw);
  if (typeof raw === 'number') return raw;
  return 0;
}

function toStringMap(raw: XmlRpcValue | undefined, intern: Intern): Record<string, string> {
  const out: Record<string, string> = {};
  if (raw === null || raw === undefined || typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Date || Buffer.isBuffer(raw)) return out;
  for (const [key, value] of Object.entries(raw)) out[key] = value === null ? '' : internShort(String(value), intern);
  return out;
}

/** The member names a normaliser reads: what `get_all_records` decodes of each record (the projection). */
function fieldsOf<T>(spec: Spec<T>): ReadonlySet<string> {
  return new Set(Object.keys(spec));
}

function normaliser<T extends { ref: Ref }>(spec: Spec<T>): (ref: Ref, raw: XmlRpcValue, intern?: Intern) => T {
  const fields = Object.entries(spec) as [string, FieldKind][];
  // V8 turns an object that gets more than 16 properties by computed name into a slow dictionary (about 3× the
  // size, for every one of 6,400 VM records); clones of one template made by JSON.parse (fast properties) all share
  // one compact hidden class.
  const template = JSON.parse(JSON.stringify(Object.fromEntries([['ref', null], ...fields.map(([name]) => [name, null])]))) as Record<string, unknown>;
  return (ref, raw, intern = asIs) => {
    const source = raw !== null && typeof raw === 'object' && !Array.isArray(raw) && !(raw instanceof Date) && !Buffer.isBuffer(raw) ? raw : {};
    const record = { ...template };
    record['ref'] = intern(ref);
    for (const [name, kind] of fields) record[name] = convert(kind, source[name], intern);
    return Object.freeze(record) as unknown as T;
  };
}

export const normalisePool = normaliser<PoolRecord>(poolSpec);
export const normaliseHost = normaliser<HostRecord>(hostSpec);
export const normaliseHostMetrics = normaliser<HostMetricsRecord>(hostMetricsSpec);
export const normaliseVm = normaliser<VmRecord>(vmSpec);
export const normaliseSr = normaliser<SrRecord>(srSpec);
export const normalisePbd = normaliser<PbdRecord>(pbdSpec);
export const normaliseVbd = normaliser<VbdRecord>(vbdSpec);
export const normaliseVif = normaliser<VifRecord>(vifSpec);
export const normalisePif = normaliser<PifRecord>(pifSpec);

/**
 * The classes the inventory follows: wire name for `get_all_records`, lowercase name used by `event.from`, and the
 * fields the normaliser reads (the projection of `get_all_records`).
 */
export const INVENTORY_CLASSES = [
  { key: 'pool', wire: 'pool', event: 'pool', normalise: normalisePool, fields: fieldsOf(poolSpec) },
  { key: 'hosts', wire: 'host', event: 'host', normalise: normaliseHost, fields: fieldsOf(hostSpec) },
  { key: 'hostMetrics', wire: 'host_metrics', event: 'host_metrics', normalise: normaliseHostMetrics, fields: fieldsOf(hostMetricsSpec) },
  { key: 'vms', wire: 'VM', event: 'vm', normalise: normaliseVm, fields: fieldsOf(vmSpec) },
  { key: 'srs', wire: 'SR', event: 'sr', normalise: normaliseSr, fields: fieldsOf(srSpec) },
  { key: 'pbds', wire: 'PBD', event: 'pbd', normalise: normalisePbd, fields: fieldsOf(pbdSpec) },
  { key: 'vbds', wire: 'VBD', event: 'vbd', normalise: normaliseVbd, fields: fieldsOf(vbdSpec) },
  { key: 'vifs', wire: 'VIF', event: 'vif', normalise: normaliseVif, fields: fieldsOf(vifSpec) },
  { key: 'pifs', wire: 'PIF', event: 'pif', normalise: normalisePif, fields: fieldsOf(pifSpec) },
] as const;

export type InventoryClass = (typeof INVENTORY_CLASSES)[number];
export type InventoryKey = InventoryClass['key'];
