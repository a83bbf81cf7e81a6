// Topology: from flags or a YAML file to a populated PoolDb. Deterministic for a given seed (every uuid, ref,
// size and name comes from seeded streams), so two runs with the same seed serve identical records.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { AgentError } from '../plugin-api/errors.ts';
import { NULL_REF, type FieldValue, type PoolDb, type SimObject } from './model.ts';
import { softwareVersionFor } from './options.ts';
import { Rng } from './rng.ts';

export const SR_TYPES = ['lvm', 'ext', 'nfs', 'lvmoiscsi', 'lvmohba', 'iso', 'smb'] as const;
export type SrType = (typeof SR_TYPES)[number];

const hostSpecSchema = z.object({
  name: z.string().min(1).optional(),
  vms: z.number().int().min(0).max(1000).optional(),
  halted_vms: z.number().int().min(0).max(1000).optional(),
  cpus: z.number().int().min(1).max(512).optional(),
  memory_gib: z.number().positive().max(16384).optional(),
  multipathing: z.boolean().optional(),
  bond: z.boolean().optional(),
  local_sr: z.enum(['lvm', 'ext']).optional(),
});

const srSpecSchema = z.object({
  type: z.enum(SR_TYPES),
  name: z.string().min(1).optional(),
  size_gib: z.number().positive().optional(),
  /** Paths per LUN for lvmoiscsi / lvmohba (multipath). */
  paths: z.number().int().min(1).max(8).optional(),
  /** Never scanned: physical_size / physical_utilisation = -1. */
  unscanned: z.boolean().optional(),
  /** Legacy plaintext password in device_config instead of a *_secret. */
  legacy_password: z.boolean().optional(),
});

export const topologyFileSchema = z
  .object({
    pool: z.object({ name: z.string().min(1).optional() }).strict().optional(),
    hosts: z.union([z.number().int().min(1).max(250), z.array(hostSpecSchema.strict()).min(1).max(250)]).optional(),
    vms_per_host: z.number().int().min(0).max(1000).optional(),
    halted_vms_per_host: z.number().int().min(0).max(1000).optional(),
    templates: z.number().int().min(0).max(100).optional(),
    shared_srs: z.array(srSpecSchema.strict()).optional(),
  })
  .strict();
export type TopologyFile = z.infer<typeof topologyFileSchema>;

export interface HostPlan {
  name: string;
  vms: number;
  haltedVms: number;
  cpus: number;
  memoryBytes: number;
  multipathing: boolean;
  bond: boolean;
  localSr: 'lvm' | 'ext';
}
export interface SrPlan {
  type: SrType;
  name: string;
  sizeBytes: number;
  paths: number;
  unscanned: boolean;
  legacyPassword: boolean;
}
export interface TopologyPlan {
  poolName: string;
  hosts: HostPlan[];
  templates: number;
  sharedSrs: SrPlan[];
}

const GiB = 1024 ** 3;

export const DEFAULT_SHARED_SRS: ReadonlyArray<z.infer<typeof srSpecSchema>> = [
  { type: 'nfs', name: 'NFS VM store' },
  { type: 'lvmoiscsi', name: 'iSCSI SAN (multipath)', paths: 4 },
  { type: 'lvmoiscsi', name: 'iSCSI legacy (plaintext CHAP)', paths: 2, legacy_password: true },
  { type: 'lvmohba', name: 'FC HBA LUN', paths: 2 },
  { type: 'iso', name: 'ISO library (CIFS)' },
  { type: 'smb', name: 'SMB backups', unscanned: true },
];

export function loadTopologyFile(path: string): TopologyFile {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AgentError('SIM_ERR_TOPOLOGY', `cannot read topology file ${path}`, { cause: err });
  }
  const r = topologyFileSchema.safeParse(raw ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AgentError('SIM_ERR_TOPOLOGY', `invalid topology file ${path}: ${msg}`);
  }
  return r.data;
}

export function planTopology(args: { hosts: number; vmsPerHost: number; seed: number; file?: TopologyFile }): TopologyPlan {
  const f = args.file ?? {};
  const rng = new Rng(args.seed).fork('plan');
  const vmsPerHost = f.vms_per_host ?? args.vmsPerHost;
  const halted = f.halted_vms_per_host ?? Math.min(2, Math.ceil(vmsPerHost / 4));
  const specs = typeof f.hosts === 'number' || f.hosts === undefined ? Array.from({ length: typeof f.hosts === 'number' ? f.hosts : args.hosts }, () => ({})) : f.hosts;
  const hosts: HostPlan[] = specs.map((s: z.infer<typeof hostSpecSchema>, i) => ({
    name: s.name ?? `xcp-sim-${String(i + 1).padStart(2, '0')}`,
    vms: s.vms ?? vmsPerHost,
    haltedVms: s.halted_vms ?? halted,
    cpus: s.cpus ?? rng.pick([8, 16, 24, 32]),
    memoryBytes: Math.round((s.memory_gib ?? rng.pick([128, 256, 384, 512])) * GiB),
    // Most hosts run multipathing; every fourth does not (an iSCSI PBD without mpath-* keys).
    multipathing: s.multipathing ?? i % 4 !== 3,
    bond: s.bond ?? i % 3 === 1,
    localSr: s.local_sr ?? (i % 2 === 0 ? 'lvm' : 'ext'),
  }));
  const names = new Set<string>();
  for (const h of hosts) {
    if (names.has(h.name)) throw new AgentError('SIM_ERR_TOPOLOGY', `duplicate host name ${h.name}`);
    names.add(h.name);
  }
  const sharedSrs = (f.shared_srs ?? DEFAULT_SHARED_SRS).map((s, i) => ({
    type: s.type,
    name: s.name ?? `${s.type} SR ${i + 1}`,
    sizeBytes: Math.round((s.size_gib ?? (s.type === 'iso' ? 200 : rng.pick([1024, 2048, 4096]))) * GiB),
    paths: s.paths ?? (s.type === 'lvmoiscsi' || s.type === 'lvmohba' ? 2 : 1),
    unscanned: s.unscanned ?? false,
    legacyPassword: s.legacy_password ?? false,
  }));
  return { poolName: f.pool?.name ?? 'sim-pool', hosts, templates: f.templates ?? 3, sharedSrs };
}

/** Runtime facts about the pool the rest of the simulator needs besides the DB. */
export interface BuiltPool {
  poolRef: string;
  hostRefs: string[];
  /** host ref -> management PIF ref */
  managementPif: Map<string, string>;
  /** VM ref -> whether the guest agent is present (RRD `memory_internal_free`). */
  guestAgent: Map<string, boolean>;
  /** SR ref -> SCSIid list for multipathed SRs. */
  scsiIds: Map<string, string[]>;
  /** SR ref -> paths per LUN. */
  srPaths: Map<string, number>;
  networks: string[];
  /** Next domid per host. */
  nextDomid: Map<string, number>;
  refRng: Rng;
}

const TEMPLATE_NAMES = ['Debian Bookworm 12', 'Rocky Linux 9', 'Windows Server 2022 (64-bit)', 'Ubuntu Noble Numbat 24.04', 'Other install media'];
const VM_ROLES = ['web', 'db', 'app', 'cache', 'batch', 'mail', 'ci', 'proxy'];

export function buildPool(db: PoolDb, plan: TopologyPlan, opts: { seed: number; addressPrefix: string; xapiVersion: string; minMaxRras: boolean; nowMs: number }): BuiltPool {
  const root = new Rng(opts.seed);
  const ids = root.fork('ids');
  const rnd = root.fork('values');
  const newRef = (): string => `OpaqueRef:${ids.uuid()}`;
  const uuid = (): string => ids.uuid();
  const now = opts.nowMs;
  const built: BuiltPool = {
    poolRef: newRef(), hostRefs: [], managementPif: new Map(), guestAgent: new Map(), scsiIds: new Map(), srPaths: new Map(),
    networks: [], nextDomid: new Map(), refRng: root.fork('runtime-refs'),
  };
  const hostRefs = plan.hosts.map(() => newRef());
  built.hostRefs = hostRefs;
  const masterRef = hostRefs[0] ?? NULL_REF;
  const add = (cls: Parameters<PoolDb['add']>[0], ref: string, v: Record<string, FieldValue>): SimObject => db.add(cls, ref, v);
  const push = (ref: string, field: string, item: string): void => {
    const o = db.get(ref);
    if (o !== undefined) (o.fields[field] as string[]).push(item);
  };

  // Networks: eth0 (management), eth1, and a bond network for hosts with a bond.
  const netDefs = [
    { label: 'Pool-wide network associated with eth0', bridge: 'xenbr0' },
    { label: 'Pool-wide network associated with eth1', bridge: 'xenbr1' },
    { label: 'Bond 2+3', bridge: 'xapi1' },
  ];
  const netRefs = netDefs.map((n) => {
    const ref = newRef();
    add('network', ref, {
      uuid: uuid(), name_label: n.label, bridge: n.bridge, MTU: 1500, managed: true, default_locking_mode: 'unlocked',
      allowed_operations: [], other_config: { automatic: 'true' }, purpose: [],
    });
    return ref;
  });
  built.networks = netRefs;

  // Shared SRs.
  const sharedSrRefs: string[] = [];
  const secrets: string[] = [];
  const newSecret = (label: string): string => {
    const ref = newRef();
    const id = uuid();
    add('secret', ref, { uuid: id, value: `SIMSECRET-${label}-${ids.hex(8)}`, other_config: {} });
    secrets.push(ref);
    return id;
  };
  const sharedDeviceConfig = new Map<string, Record<string, string>>();
  plan.sharedSrs.forEach((s, i) => {
    const ref = newRef();
    const srUuid = uuid();
    const sm: Record<string, string> = {};
    const dc: Record<string, string> = {};
    const nLuns = s.type === 'lvmoiscsi' || s.type === 'lvmohba' ? 1 : 0;
    const scsi = Array.from({ length: nLuns }, () => `36001405${ids.hex(25)}`);
    switch (s.type) {
      case 'nfs':
        Object.assign(dc, { server: `nfs-${i + 1}.sim.invalid`, serverpath: `/export/xcp/${srUuid.slice(0, 8)}`, nfsversion: '4.1', options: '' });
        break;
      case 'lvmoiscsi': {
        Object.assign(sm, { SCSIid: scsi.join(','), multipathable: 'true', allocation: 'thick', use_vhd: 'true', datatype: 'LVM', disktype: 'LVM', target: `10.0.${i}.10`, targetIQN: `iqn.2010-01.invalid.sim:storage.lun${i}` });
        Object.assign(dc, { target: `10.0.${i}.10,10.0.${i}.11`, targetIQN: `iqn.2010-01.invalid.sim:storage.lun${i}`, port: '3260', SCSIid: scsi.join(','), multihomed: 'true', chapuser: `SIMSECRET-chapuser-${i}` });
        if (s.legacyPassword) dc['chappassword'] = `SIMSECRET-chap-plaintext-${ids.hex(6)}`;
        else dc['chappassword_secret'] = newSecret('chap');
        break;
      }
      case 'lvmohba':
        Object.assign(sm, { SCSIid: scsi.join(','), multipathable: 'true', allocation: 'thick', use_vhd: 'true', devserial: `scsi-${scsi[0] ?? ''}` });
        Object.assign(dc, { SCSIid: scsi.join(',') });
        break;
      case 'iso':
        Object.assign(dc, { location: `//iso-${i + 1}.sim.invalid/isos`, type: 'cifs', vers: '3.0', username: `SIMSECRET-isouser-${i}`, cifspassword_secret: newSecret('cifs') });
        break;
      case 'smb':
        Object.assign(dc, { server: `//smb-${i + 1}.sim.invalid/backup`, username: `SIMSECRET-smbuser-${i}`, password: `SIMSECRET-smb-plaintext-${ids.hex(6)}` });
        break;
      default:
        break;
    }
    built.scsiIds.set(ref, scsi);
    built.srPaths.set(ref, s.paths);
    sharedDeviceConfig.set(ref, dc);
    const used = Math.round(s.sizeBytes * (0.2 + rnd.next() * 0.5));
    add('SR', ref, {
      uuid: srUuid, name_label: s.name, name_description: `${s.type} shared storage`, type: s.type,
      content_type: s.type === 'iso' ? 'iso' : 'user', shared: true, sm_config: sm,
      physical_size: s.unscanned ? -1 : s.sizeBytes, physical_utilisation: s.unscanned ? -1 : used,
      virtual_allocation: s.unscanned ? 0 : Math.round(used * 1.4),
      other_config: s.type === 'iso' ? { auto_poweron: 'false' } : { 'auto-scan': s.type === 'nfs' ? 'true' : 'false' },
      allowed_operations: ['unplug', 'plug', 'PBD_create', 'update', 'PBD_destroy', 'vdi_create', 'scan', 'vdi_destroy'],
      current_operations: {}, clustered: false, is_tools_sr: false, introduced_by: NULL_REF,
    });
    sharedSrRefs.push(ref);
  });
  const diskSrs = sharedSrRefs.filter((r) => ['nfs', 'lvmoiscsi', 'lvmohba'].includes(String(db.get(r)?.fields['type'])));

  // Pool.
  add('pool', built.poolRef, {
    uuid: uuid(), name_label: plan.poolName, name_description: 'Simulated XCP-ng pool', master: masterRef,
    default_SR: diskSrs[0] ?? NULL_REF, suspend_image_SR: diskSrs[0] ?? NULL_REF, crash_dump_SR: diskSrs[0] ?? NULL_REF,
    other_config: opts.minMaxRras ? { create_min_max_in_new_VM_RRDs: 'true', memory_ratio_hvm: '0.25' } : { memory_ratio_hvm: '0.25' },
    ha_cluster_stack: 'xhad', restrictions: { restrict_vlan: 'false', restrict_pooling: 'false' }, cpu_info: { cpu_count: '0', socket_count: '0', vendor: 'GenuineIntel' },
    tls_verification_enabled: true, telemetry_frequency: 'weekly', update_sync_frequency: 'weekly', migration_compression: false,
    repository_proxy_password: NULL_REF, telemetry_uuid: NULL_REF, local_auth_max_threads: 8, ext_auth_max_threads: 1,
  });

  const templateRefs: string[] = [];
  for (let t = 0; t < plan.templates; t++) {
    const ref = newRef();
    const mref = newRef();
    add('VM_metrics', mref, { uuid: uuid(), memory_actual: 0, VCPUs_number: 0, current_domain_type: 'unspecified', last_updated: 0 });
    add('VM', ref, {
      uuid: uuid(), name_label: TEMPLATE_NAMES[t % TEMPLATE_NAMES.length] ?? 'template', name_description: 'Template', power_state: 'Halted',
      is_a_template: true, is_default_template: true, resident_on: NULL_REF, affinity: NULL_REF, domid: -1, metrics: mref, guest_metrics: NULL_REF,
      memory_static_max: 2 * GiB, memory_dynamic_max: 2 * GiB, memory_dynamic_min: 2 * GiB, memory_static_min: 512 * 1024 ** 2, memory_target: 0,
      VCPUs_max: 2, VCPUs_at_startup: 2, domain_type: 'hvm', other_config: { default_template: 'true' }, actions_after_shutdown: 'destroy',
      actions_after_reboot: 'restart', actions_after_crash: 'restart', actions_after_softreboot: 'soft_reboot', HVM_shadow_multiplier: 1,
      user_version: 1,
    });
    templateRefs.push(ref);
  }

  let vmCounter = 0;
  plan.hosts.forEach((h, hi) => {
    const href = hostRefs[hi] ?? NULL_REF;
    const address = `${opts.addressPrefix}.${hi + 2}`;
    const { sv, apiMinor } = softwareVersionFor(opts.xapiVersion, h.name);
    const iqn = `iqn.2024-01.invalid.sim:${h.name}`;
    const metricsRef = newRef();
    const free = Math.round(h.memoryBytes * (0.3 + rnd.next() * 0.4));
    add('host_metrics', metricsRef, { uuid: uuid(), memory_total: h.memoryBytes, memory_free: free, live: true, last_updated: now, other_config: {} });

    // PIFs: eth0 management, eth1, optional bond0 over eth2+eth3.
    const pifRefs: string[] = [];
    const mkPif = (device: string, net: string, extra: Record<string, FieldValue>): string => {
      const ref = newRef();
      add('PIF', ref, {
        uuid: uuid(), device, network: net, host: href, MAC: `52:54:00:${ids.hex(2)}:${ids.hex(2)}:${ids.hex(2)}`, MTU: 1500, VLAN: -1,
        metrics: NULL_REF, physical: true, currently_attached: true, ip_configuration_mode: 'None', bond_slave_of: NULL_REF,
        VLAN_master_of: NULL_REF, ipv6_configuration_mode: 'None', primary_address_type: 'IPv4', managed: true,
        properties: { gro: 'on' }, capabilities: ['fcoe'], igmp_snooping_status: 'unknown', PCI: NULL_REF, other_config: {}, ...extra,
      });
      pifRefs.push(ref);
      push(net, 'PIFs', ref);
      return ref;
    };
    const mgmt = mkPif('eth0', netRefs[0] ?? NULL_REF, { management: true, ip_configuration_mode: 'Static', IP: address, netmask: '255.0.0.0', gateway: '', DNS: '' });
    built.managementPif.set(href, mgmt);
    mkPif('eth1', netRefs[1] ?? NULL_REF, {});
    if (h.bond) {
      mkPif('eth2', netRefs[2] ?? NULL_REF, { currently_attached: false });
      mkPif('eth3', netRefs[2] ?? NULL_REF, { currently_attached: false });
      mkPif('bond0', netRefs[2] ?? NULL_REF, { physical: false, MAC: `52:54:00:${ids.hex(2)}:${ids.hex(2)}:${ids.hex(2)}`, properties: {}, capabilities: [] });
    }

    // Local SR + its single PBD.
    const localSr = newRef();
    const localSize = (h.localSr === 'lvm' ? 900 : 450) * GiB;
    const localUsed = Math.round(localSize * (0.1 + rnd.next() * 0.5));
    add('SR', localSr, {
      uuid: uuid(), name_label: h.localSr === 'lvm' ? 'Local storage' : 'Local EXT storage', name_description: `${h.localSr} local storage on ${h.name}`,
      type: h.localSr, content_type: 'user', shared: false, physical_size: localSize, physical_utilisation: localUsed, virtual_allocation: Math.round(localUsed * 1.2),
      sm_config: h.localSr === 'lvm' ? { allocation: 'thick', use_vhd: 'true', devserial: `scsi-${ids.hex(16)}` } : { devserial: `scsi-${ids.hex(16)}` },
      other_config: { 'i18n-key': 'local-storage' }, allowed_operations: ['vdi_create', 'scan', 'vdi_destroy', 'plug', 'unplug'], introduced_by: NULL_REF,
    });
    const pbdRefs: string[] = [];
    const mkPbd = (sr: string, dc: Record<string, string>, other: Record<string, string>): void => {
      const ref = newRef();
      add('PBD', ref, { uuid: uuid(), host: href, SR: sr, device_config: dc, currently_attached: true, other_config: other });
      pbdRefs.push(ref);
      push(sr, 'PBDs', ref);
    };
    mkPbd(localSr, { device: `/dev/disk/by-id/scsi-${ids.hex(16)}-part3` }, { storage_driver_domain: 'OpaqueRef:NULL' });
    for (const sr of sharedSrRefs) {
      const other: Record<string, string> = { storage_driver_domain: 'OpaqueRef:NULL' };
      const scsi = built.scsiIds.get(sr) ?? [];
      if (h.multipathing && scsi.length > 0) {
        const p = built.srPaths.get(sr) ?? 2;
        for (const id of scsi) other[`mpath-${id}`] = `[${p}, ${p}]`;
        other['multipathed'] = 'true';
      }
      mkPbd(sr, { ...(sharedDeviceConfig.get(sr) ?? {}) }, other);
    }

    // dom0.
    const dom0 = newRef();
    const dom0Metrics = newRef();
    const dom0Mem = 4 * GiB;
    add('VM_metrics', dom0Metrics, { uuid: uuid(), memory_actual: dom0Mem, VCPUs_number: Math.min(h.cpus, 16), VCPUs_utilisation: { '0': 0 }, start_time: now - 86400_000, install_time: now - 86400_000 * 30, last_updated: 0, current_domain_type: 'pv', state: [] });
    add('VM', dom0, {
      uuid: uuid(), name_label: `Control domain on host: ${h.name}`, name_description: 'The domain which manages physical devices and manages other domains',
      power_state: 'Running', is_control_domain: true, resident_on: href, affinity: href, domid: 0, metrics: dom0Metrics, guest_metrics: NULL_REF,
      memory_static_max: dom0Mem, memory_dynamic_max: dom0Mem, memory_dynamic_min: dom0Mem, memory_static_min: dom0Mem, memory_target: dom0Mem,
      memory_overhead: 50 * 1024 ** 2, VCPUs_max: Math.min(h.cpus, 16), VCPUs_at_startup: Math.min(h.cpus, 16), domain_type: 'pv',
      other_config: { storage_driver_domain: dom0, is_system_domain: 'true', perfmon: '' }, actions_after_shutdown: 'destroy', actions_after_reboot: 'restart',
      actions_after_crash: 'restart', actions_after_softreboot: 'soft_reboot', HVM_shadow_multiplier: 1, allowed_operations: ['metadata_export', 'changing_dynamic_range'],
    });
    built.guestAgent.set(dom0, true);

    const other: Record<string, string> = {
      agent_start_time: `${Math.floor(now / 1000) - 3600}.`, boot_time: `${Math.floor(now / 1000) - 86400}.`, iscsi_iqn: iqn,
      multipathing: h.multipathing ? 'true' : 'false', multipathhandle: 'dmp',
    };
    if (h.multipathing && hi % 2 === 0) other['mpath-boot'] = '[2, 2]';
    add('host', href, {
      uuid: uuid(), name_label: h.name, name_description: 'Default install', memory_overhead: 404656128,
      allowed_operations: ['vm_migrate', 'provision', 'vm_resume', 'evacuate', 'vm_start'], current_operations: {},
      API_version_major: 2, API_version_minor: apiMinor, API_version_vendor: 'XenSource', API_version_vendor_implementation: {},
      enabled: true, software_version: sv, other_config: other, capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64', ''],
      cpu_configuration: {}, sched_policy: 'credit', supported_bootloaders: ['pygrub', 'eliloader'], resident_VMs: [dom0], logging: {},
      PIFs: pifRefs, suspend_image_sr: localSr, crash_dump_sr: localSr, PBDs: pbdRefs,
      cpu_info: { cpu_count: String(h.cpus), socket_count: String(h.cpus >= 16 ? 2 : 1), vendor: 'GenuineIntel', speed: '2999.998', modelname: 'Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz', family: '6', model: '85', stepping: '7', flags: 'fpu de tsc msr pae mce cx8 apic sep mca cmov pat clflush mmx fxsr sse sse2 ht syscall nx lm' },
      hostname: h.name, address, metrics: metricsRef, license_params: { sku_type: 'xcp-ng', restrict_pooling: 'false' }, edition: 'xcp-ng',
      license_server: { address: 'localhost', port: '27000' }, bios_strings: { 'bios-vendor': 'SimBIOS', 'system-manufacturer': 'Simulated' }, power_on_mode: '',
      local_cache_sr: NULL_REF, chipset_info: { iommu: 'true' }, display: 'enabled', virtual_hardware_platform_versions: [0, 1, 2] as unknown as string[],
      control_domain: dom0, iscsi_iqn: iqn, multipathing: h.multipathing, editions: ['xcp-ng'], tls_verification_enabled: true,
      last_software_update: now - 86400_000 * 7, https_only: false, latest_synced_updates_applied: 'unknown', numa_affinity_policy: 'default_policy',
      external_auth_type: '', external_auth_service_name: '', ssl_legacy: false,
    });

    // Guest VMs: running ones resident here, plus some halted ones.
    let domid = 1;
    const mkVm = (running: boolean): void => {
      vmCounter++;
      const ref = newRef();
      const mref = newRef();
      const vcpus = rnd.pick([1, 2, 2, 4, 4, 8]);
      const mem = rnd.pick([1, 2, 4, 8, 16]) * GiB;
      const role = rnd.pick(VM_ROLES);
      const agent = rnd.chance(0.8);
      built.guestAgent.set(ref, agent);
      const dt = rnd.pick(['hvm', 'hvm', 'pvh', 'pv']);
      add('VM_metrics', mref, {
        uuid: uuid(), memory_actual: running ? mem : 0, VCPUs_number: running ? vcpus : 0, VCPUs_utilisation: running ? Object.fromEntries(Array.from({ length: vcpus }, (_, k) => [String(k), 0])) : {},
        start_time: running ? now - rnd.int(600, 864000) * 1000 : 0, install_time: now - 86400_000 * rnd.int(10, 400), last_updated: 0,
        current_domain_type: running ? dt : 'unspecified', state: [], hvm: running && dt === 'hvm',
      });
      const vbds: string[] = [];
      const vifs: string[] = [];
      add('VM', ref, {
        uuid: uuid(), name_label: `${role}-${String(vmCounter).padStart(3, '0')}`, name_description: `${role} server`, power_state: running ? 'Running' : 'Halted',
        user_version: 1, resident_on: running ? href : NULL_REF, affinity: href, domid: running ? domid++ : -1, metrics: mref, guest_metrics: NULL_REF,
        memory_static_max: mem, memory_dynamic_max: mem, memory_dynamic_min: mem, memory_static_min: 512 * 1024 ** 2, memory_target: running ? mem : 0,
        memory_overhead: Math.round(mem / 128), VCPUs_max: vcpus, VCPUs_at_startup: vcpus, domain_type: dt, VBDs: vbds, VIFs: vifs,
        other_config: { base_template_name: TEMPLATE_NAMES[vmCounter % TEMPLATE_NAMES.length] ?? '', 'sim-profile': role }, tags: [role],
        actions_after_shutdown: 'destroy', actions_after_reboot: 'restart', actions_after_crash: 'restart', actions_after_softreboot: 'soft_reboot',
        HVM_shadow_multiplier: 1, HVM_boot_policy: dt === 'hvm' ? 'BIOS order' : '', platform: { 'device-model': 'qemu-upstream-compat' },
        allowed_operations: running ? ['clean_shutdown', 'hard_shutdown', 'pool_migrate', 'snapshot'] : ['start', 'export', 'destroy', 'snapshot'],
        hardware_platform_version: 2, has_vendor_device: false, generation_id: '',
      });
      // Disks: system disk on a shared SR (migratable), a data disk on local storage for some.
      const disks: Array<{ sr: string; device: string; size: number }> = [{ sr: diskSrs.length > 0 ? rnd.pick(diskSrs) : localSr, device: 'xvda', size: rnd.pick([20, 32, 50]) * GiB }];
      if (rnd.chance(0.3)) disks.push({ sr: diskSrs.length > 0 && rnd.chance(0.7) ? rnd.pick(diskSrs) : localSr, device: 'xvdb', size: rnd.pick([100, 200, 500]) * GiB });
      disks.forEach((d, k) => {
        vbds.push(createDisk(db, newRef, uuid, rnd, { vm: ref, sr: d.sr, device: d.device, userdevice: String(k), size: d.size, attached: running, name: `${role}-${vmCounter} disk ${k}` }));
      });
      const nVifs = rnd.chance(0.25) ? 2 : 1;
      for (let k = 0; k < nVifs; k++) vifs.push(createVif(db, newRef, uuid, ids, { vm: ref, network: netRefs[k] ?? NULL_REF, device: String(k), attached: running }));
      if (running) push(href, 'resident_VMs', ref);
    };
    for (let k = 0; k < h.vms; k++) mkVm(true);
    for (let k = 0; k < h.haltedVms; k++) mkVm(false);
    built.nextDomid.set(href, domid);
  });
  return built;
}

export function createDisk(
  db: PoolDb, newRef: () => string, uuid: () => string, rnd: Rng,
  d: { vm: string; sr: string; device: string; userdevice: string; size: number; attached: boolean; name: string },
): string {
  const vdi = newRef();
  const vbd = newRef();
  db.add('VDI', vdi, {
    uuid: uuid(), name_label: d.name, name_description: '', SR: d.sr, VBDs: [vbd], virtual_size: d.size,
    physical_utilisation: Math.round(d.size * (0.2 + rnd.next() * 0.6)), type: 'user', sharable: false, read_only: false,
    location: uuid(), managed: true, missing: false, parent: NULL_REF, snapshot_of: NULL_REF, on_boot: 'persist', metadata_of_pool: NULL_REF,
    allowed_operations: ['snapshot', 'clone', 'copy', 'resize'], sm_config: { 'vhd-parent': '' }, other_config: {}, storage_lock: false,
  });
  const sr = db.get(d.sr);
  if (sr !== undefined) (sr.fields['VDIs'] as string[]).push(vdi);
  db.add('VBD', vbd, {
    uuid: uuid(), VM: d.vm, VDI: vdi, device: d.attached ? d.device : '', userdevice: d.userdevice, bootable: d.userdevice === '0', mode: 'RW', type: 'Disk',
    unpluggable: d.userdevice !== '0', empty: false, currently_attached: d.attached, other_config: { owner: '' }, metrics: NULL_REF,
    allowed_operations: ['attach'], current_operations: {}, status_code: 0, qos_supported_algorithms: [],
  });
  return vbd;
}

export function createVif(
  db: PoolDb, newRef: () => string, uuid: () => string, ids: Rng,
  v: { vm: string; network: string; device: string; attached: boolean },
): string {
  const ref = newRef();
  db.add('VIF', ref, {
    uuid: uuid(), device: v.device, network: v.network, VM: v.vm, MAC: `b6:${ids.hex(2)}:${ids.hex(2)}:${ids.hex(2)}:${ids.hex(2)}:${ids.hex(2)}`, MTU: 1500,
    currently_attached: v.attached, MAC_autogenerated: true, locking_mode: 'network_default', metrics: NULL_REF, other_config: {},
    ipv4_configuration_mode: 'None', ipv6_configuration_mode: 'None', qos_supported_algorithms: ['ratelimit'], allowed_operations: ['attach'],
  });
  const net = db.get(v.network);
  if (net !== undefined) (net.fields['VIFs'] as string[]).push(ref);
  return ref;
}
