// Seeded random life in the pool: VMs start, stop and migrate, devices hot-plug, objects get renamed, PBDs detach,
// multipath paths drop and return, SRs fill up and get cleaned. Every change goes through PoolDb, so it raises
// the same events xapi would (and the RRD engine is advanced first).
import { AgentError } from '../plugin-api/errors.ts';
import type { SimDynamicsOptions } from './api.ts';
import { NULL_REF, type PoolDb, type SimObject } from './model.ts';
import { Rng } from './rng.ts';
import { createDisk, createVif, type BuiltPool } from './topology.ts';

export interface DynamicsHost {
  readonly db: PoolDb;
  readonly built: BuiltPool;
  now(): number;
  readonly options: { timeScale: number };
}

export const DYNAMICS_ACTIONS = [
  'vm_start', 'vm_stop', 'vm_migrate', 'hotplug', 'unplug', 'rename', 'pbd_detach', 'pbd_attach', 'mpath_drop', 'mpath_restore', 'sr_grow', 'sr_cleanup',
] as const;
export type DynamicsAction = (typeof DYNAMICS_ACTIONS)[number];

const WEIGHTS: ReadonlyArray<[DynamicsAction, number]> = [
  ['vm_start', 3], ['vm_stop', 3], ['vm_migrate', 3], ['hotplug', 2], ['unplug', 2], ['rename', 1],
  ['pbd_detach', 1], ['pbd_attach', 2], ['mpath_drop', 2], ['mpath_restore', 3], ['sr_grow', 6], ['sr_cleanup', 1],
];

const GiB = 1024 ** 3;

export class Dynamics {
  private readonly _h: DynamicsHost;
  private readonly _rng: Rng;
  private readonly _opts: SimDynamicsOptions;
  private _timer: NodeJS.Timeout | undefined;
  private _paused = false;
  private _running = false;

  constructor(host: DynamicsHost, seed: number, opts: SimDynamicsOptions) {
    this._h = host;
    this._rng = new Rng(seed).fork('dynamics');
    this._opts = opts;
  }

  start(): void {
    this._running = true;
    this._schedule();
  }

  stop(): void {
    this._running = false;
    if (this._timer !== undefined) clearTimeout(this._timer);
    this._timer = undefined;
  }

  pause(paused: boolean): void {
    this._paused = paused;
  }

  private _schedule(): void {
    if (!this._running) return;
    const realMs = (this._rng.exp(this._opts.meanIntervalSeconds) / this._h.options.timeScale) * 1000;
    this._timer = setTimeout(() => {
      if (!this._paused) this._randomStep();
      this._schedule();
    }, Math.max(1, realMs));
    this._timer.unref();
  }

  private _randomStep(): void {
    // Try weighted picks until one applies (e.g. vm_start needs a halted VM).
    for (let i = 0; i < 8; i++) {
      const total = WEIGHTS.reduce((a, [, w]) => a + w, 0);
      let x = this._rng.next() * total;
      let action: DynamicsAction = 'sr_grow';
      for (const [a, w] of WEIGHTS) {
        x -= w;
        if (x < 0) {
          action = a;
          break;
        }
      }
      try {
        this.run(action);
        return;
      } catch (err) {
        if (!(err instanceof AgentError) || err.code !== 'SIM_ERR_DYNAMICS_NOT_APPLICABLE') throw err;
      }
    }
  }

  /** Runs one action now; `target` is a uuid (VM, PBD, SR) or, for vm_migrate, `vmUuid>hostUuid`. */
  run(action: string, target?: string): string {
    const db = this._h.db;
    return db.change(() => {
      switch (action as DynamicsAction) {
        case 'vm_start': return this._vmStart(target);
        case 'vm_stop': return this._vmStop(target);
        case 'vm_migrate': return this._vmMigrate(target);
        case 'hotplug': return this._hotplug(target);
        case 'unplug': return this._unplug(target);
        case 'rename': return this._rename(target);
        case 'pbd_detach': return this._pbd(target, false);
        case 'pbd_attach': return this._pbd(target, true);
        case 'mpath_drop': return this._mpath(target, -1);
        case 'mpath_restore': return this._mpath(target, 1);
        case 'sr_grow': return this._srGrow(target);
        case 'sr_cleanup': return this._srCleanup(target);
        default:
          throw new AgentError('SIM_ERR_DYNAMICS_UNKNOWN', `unknown dynamics action ${action}; known: ${DYNAMICS_ACTIONS.join(', ')}`);
      }
    });
  }

  // ---- helpers ----------------------------------------------------------------------------------------------
  private _choose(cls: Parameters<PoolDb['all']>[0], pred: (o: SimObject) => boolean, target: string | undefined, what: string): SimObject {
    if (target !== undefined) {
      const o = this._h.db.byUuid(cls, target);
      if (o === undefined || !pred(o)) throw new AgentError('SIM_ERR_DYNAMICS_NOT_APPLICABLE', `${what}: ${target} is not eligible`, { details: { target } });
      return o;
    }
    const candidates = [...this._h.db.all(cls)].filter(pred);
    if (candidates.length === 0) throw new AgentError('SIM_ERR_DYNAMICS_NOT_APPLICABLE', `${what}: nothing eligible`);
    return this._rng.pick(candidates);
  }

  private _newRef(): string {
    return `OpaqueRef:${this._h.built.refRng.uuid()}`;
  }

  private _isGuest(o: SimObject): boolean {
    return o.fields['is_a_template'] !== true && o.fields['is_control_domain'] !== true && o.fields['is_a_snapshot'] !== true;
  }

  private _hosts(): SimObject[] {
    return [...this._h.db.all('host')];
  }

  private _setDevicesAttached(vm: SimObject, attached: boolean): void {
    const db = this._h.db;
    for (const r of vm.fields['VBDs'] as string[]) {
      const vbd = db.get(r);
      if (vbd === undefined) continue;
      const dev = attached ? deviceName(Number(vbd.fields['userdevice'])) : '';
      db.update(r, { currently_attached: attached, device: dev });
    }
    for (const r of vm.fields['VIFs'] as string[]) db.update(r, { currently_attached: attached });
  }

  private _placeOn(vm: SimObject, hostRef: string): void {
    const db = this._h.db;
    const domid = this._h.built.nextDomid.get(hostRef) ?? 1;
    this._h.built.nextDomid.set(hostRef, domid + 1);
    const host = db.get(hostRef);
    if (host === undefined) return;
    db.update(vm.ref, { power_state: 'Running', resident_on: hostRef, domid });
    db.update(hostRef, { resident_VMs: [...(host.fields['resident_VMs'] as string[]), vm.ref] });
  }

  private _unplace(vm: SimObject): void {
    const db = this._h.db;
    const hostRef = String(vm.fields['resident_on']);
    const host = db.get(hostRef);
    if (host !== undefined) db.update(hostRef, { resident_VMs: (host.fields['resident_VMs'] as string[]).filter((r) => r !== vm.ref) });
  }

  // ---- actions ----------------------------------------------------------------------------------------------
  private _vmStart(target: string | undefined): string {
    const vm = this._choose('VM', (o) => this._isGuest(o) && o.fields['power_state'] === 'Halted', target, 'vm_start');
    const hosts = this._hosts().filter((h) => h.fields['enabled'] === true);
    const aff = String(vm.fields['affinity']);
    const host = hosts.find((h) => h.ref === aff) ?? this._rng.pick(hosts);
    this._placeOn(vm, host.ref);
    this._setDevicesAttached(vm, true);
    const vcpus = Number(vm.fields['VCPUs_at_startup']);
    this._h.db.update(String(vm.fields['metrics']), {
      memory_actual: Number(vm.fields['memory_dynamic_max']), VCPUs_number: vcpus, start_time: this._h.now(),
      VCPUs_utilisation: Object.fromEntries(Array.from({ length: vcpus }, (_, k) => [String(k), 0])), current_domain_type: String(vm.fields['domain_type']),
    });
    this._h.db.update(vm.ref, { memory_target: Number(vm.fields['memory_dynamic_max']), allowed_operations: ['clean_shutdown', 'hard_shutdown', 'pool_migrate', 'snapshot'] });
    return `vm_start ${String(vm.fields['uuid'])} on ${String(host.fields['uuid'])}`;
  }

  private _vmStop(target: string | undefined): string {
    const vm = this._choose('VM', (o) => this._isGuest(o) && o.fields['power_state'] === 'Running', target, 'vm_stop');
    this._unplace(vm);
    this._setDevicesAttached(vm, false);
    this._h.db.update(vm.ref, { power_state: 'Halted', resident_on: NULL_REF, domid: -1, memory_target: 0, allowed_operations: ['start', 'export', 'destroy', 'snapshot'] });
    this._h.db.update(String(vm.fields['metrics']), { memory_actual: 0, VCPUs_number: 0, VCPUs_utilisation: {}, current_domain_type: 'unspecified' });
    return `vm_stop ${String(vm.fields['uuid'])}`;
  }

  private _migratable(vm: SimObject): boolean {
    const db = this._h.db;
    return (vm.fields['VBDs'] as string[]).every((r) => {
      const vdi = db.get(String(db.get(r)?.fields['VDI']));
      if (vdi === undefined) return true;
      return db.get(String(vdi.fields['SR']))?.fields['shared'] === true;
    });
  }

  private _vmMigrate(target: string | undefined): string {
    const [vmUuid, hostUuid] = (target ?? '').split('>');
    const vm = this._choose('VM', (o) => this._isGuest(o) && o.fields['power_state'] === 'Running' && this._migratable(o), vmUuid || undefined, 'vm_migrate');
    const from = String(vm.fields['resident_on']);
    const others = this._hosts().filter((h) => h.ref !== from && h.fields['enabled'] === true);
    const dest = hostUuid ? this._h.db.byUuid('host', hostUuid) : others.length > 0 ? this._rng.pick(others) : undefined;
    if (dest === undefined || dest.ref === from) throw new AgentError('SIM_ERR_DYNAMICS_NOT_APPLICABLE', 'vm_migrate: no destination host');
    this._unplace(vm);
    this._placeOn(vm, dest.ref);
    this._h.db.update(vm.ref, { affinity: dest.ref });
    return `vm_migrate ${String(vm.fields['uuid'])} to ${String(dest.fields['uuid'])}`;
  }

  private _hotplug(target: string | undefined): string {
    const db = this._h.db;
    const vm = this._choose('VM', (o) => this._isGuest(o) && o.fields['power_state'] === 'Running', target, 'hotplug');
    const uuid = (): string => this._h.built.refRng.uuid();
    if (this._rng.chance(0.5)) {
      const used = new Set((vm.fields['VBDs'] as string[]).map((r) => String(db.get(r)?.fields['userdevice'])));
      let n = 1;
      while (used.has(String(n))) n++;
      const srs = [...db.all('SR')].filter((s) => s.fields['shared'] === true && ['nfs', 'lvmoiscsi', 'lvmohba'].includes(String(s.fields['type'])));
      if (srs.length === 0) throw new AgentError('SIM_ERR_DYNAMICS_NOT_APPLICABLE', 'hotplug: no shared disk SR');
      const sr = this._rng.pick(srs);
      const vbd = createDisk(db, () => this._newRef(), uuid, this._rng, {
        vm: vm.ref, sr: sr.ref, device: deviceName(n), userdevice: String(n), size: 10 * GiB * this._rng.int(1, 10), attached: true, name: `hotplug disk ${n}`,
      });
      db.update(vm.ref, { VBDs: [...(vm.fields['VBDs'] as string[]), vbd] });
      db.update(sr.ref, { VDIs: [...(sr.fields['VDIs'] as string[])] });
      db.update(vbd, { other_config: { owner: '', 'sim-hotplug': 'true' } });
      return `hotplug vbd ${String(db.get(vbd)?.fields['uuid'])} ${deviceName(n)} on vm ${String(vm.fields['uuid'])}`;
    }
    const used = new Set((vm.fields['VIFs'] as string[]).map((r) => String(db.get(r)?.fields['device'])));
    let n = 0;
    while (used.has(String(n))) n++;
    const net = this._rng.pick(this._h.built.networks.slice(0, 2));
    const vif = createVif(db, () => this._newRef(), uuid, this._rng, { vm: vm.ref, network: net, device: String(n), attached: true });
    db.update(vm.ref, { VIFs: [...(vm.fields['VIFs'] as string[]), vif] });
    db.update(vif, { other_config: { 'sim-hotplug': 'true' } });
    const netObj = db.get(net);
    if (netObj !== undefined) db.update(net, { VIFs: [...(netObj.fields['VIFs'] as string[])] });
    return `hotplug vif ${String(db.get(vif)?.fields['uuid'])} device ${n} on vm ${String(vm.fields['uuid'])}`;
  }

  private _unplug(target: string | undefined): string {
    const db = this._h.db;
    const hot = (r: string): boolean => (db.get(r)?.fields['other_config'] as Record<string, string> | undefined)?.['sim-hotplug'] === 'true';
    const vm = this._choose('VM', (o) => this._isGuest(o) && [...(o.fields['VBDs'] as string[]), ...(o.fields['VIFs'] as string[])].some(hot), target, 'unplug');
    const dev = this._rng.pick([...(vm.fields['VBDs'] as string[]), ...(vm.fields['VIFs'] as string[])].filter(hot));
    const obj = db.get(dev);
    if (obj === undefined) throw new AgentError('SIM_ERR_DYNAMICS_NOT_APPLICABLE', 'unplug: device vanished');
    if (obj.cls === 'VBD') {
      const vdiRef = String(obj.fields['VDI']);
      const vdi = db.get(vdiRef);
      db.update(vm.ref, { VBDs: (vm.fields['VBDs'] as string[]).filter((r) => r !== dev) });
      db.remove(dev);
      if (vdi !== undefined) {
        const sr = db.get(String(vdi.fields['SR']));
        if (sr !== undefined) db.update(sr.ref, { VDIs: (sr.fields['VDIs'] as string[]).filter((r) => r !== vdiRef) });
        db.remove(vdiRef);
      }
    } else {
      db.update(vm.ref, { VIFs: (vm.fields['VIFs'] as string[]).filter((r) => r !== dev) });
      const net = db.get(String(obj.fields['network']));
      if (net !== undefined) db.update(net.ref, { VIFs: (net.fields['VIFs'] as string[]).filter((r) => r !== dev) });
      db.remove(dev);
    }
    return `unplug ${obj.cls} ${String(obj.fields['uuid'])} from vm ${String(vm.fields['uuid'])}`;
  }

  private _rename(target: string | undefined): string {
    const vm = this._choose('VM', (o) => this._isGuest(o), target, 'rename');
    const base = String(vm.fields['name_label']).replace(/ \(renamed \d+\)$/, '');
    const name = `${base} (renamed ${this._rng.int(1, 999)})`;
    this._h.db.set(vm.ref, 'name_label', name);
    return `rename ${String(vm.fields['uuid'])} to ${name}`;
  }

  private _pbd(target: string | undefined, attach: boolean): string {
    const db = this._h.db;
    const shared = (o: SimObject): boolean => db.get(String(o.fields['SR']))?.fields['shared'] === true;
    const pbd = this._choose('PBD', (o) => shared(o) && o.fields['currently_attached'] === !attach, target, attach ? 'pbd_attach' : 'pbd_detach');
    const srRef = String(pbd.fields['SR']);
    const other = Object.fromEntries(Object.entries(pbd.fields['other_config'] as Record<string, string>).filter(([k]) => !k.startsWith('mpath-') && k !== 'multipathed'));
    const host = db.get(String(pbd.fields['host']));
    const scsi = this._h.built.scsiIds.get(srRef) ?? [];
    if (attach && host?.fields['multipathing'] === true && scsi.length > 0) {
      const p = this._h.built.srPaths.get(srRef) ?? 2;
      for (const id of scsi) other[`mpath-${id}`] = `[${p}, ${p}]`;
      other['multipathed'] = 'true';
    }
    db.update(pbd.ref, { currently_attached: attach, other_config: other });
    return `${attach ? 'pbd_attach' : 'pbd_detach'} ${String(pbd.fields['uuid'])}`;
  }

  private _mpath(target: string | undefined, delta: number): string {
    const db = this._h.db;
    const parse = (o: SimObject): Array<[string, number, number]> =>
      Object.entries(o.fields['other_config'] as Record<string, string>).flatMap(([k, v]) => {
        const m = /^\[(\d+), (\d+)\]$/.exec(v);
        return k.startsWith('mpath-') && m !== null ? [[k, Number(m[1]), Number(m[2])] as [string, number, number]] : [];
      });
    const eligible = (o: SimObject): boolean => parse(o).some(([, c, mx]) => (delta < 0 ? c > 0 : c < mx));
    const pbd = this._choose('PBD', eligible, target, delta < 0 ? 'mpath_drop' : 'mpath_restore');
    const other = { ...(pbd.fields['other_config'] as Record<string, string>) };
    const entries = parse(pbd).filter(([, c, mx]) => (delta < 0 ? c > 0 : c < mx));
    const [key, count, max] = this._rng.pick(entries);
    const next = delta < 0 ? count - 1 : max;
    other[key] = `[${next}, ${max}]`;
    db.set(pbd.ref, 'other_config', other);
    return `${delta < 0 ? 'mpath_drop' : 'mpath_restore'} ${String(pbd.fields['uuid'])} ${key} [${next}, ${max}]`;
  }

  private _srGrow(target: string | undefined): string {
    const sr = this._choose('SR', (o) => Number(o.fields['physical_size']) > 0 && o.fields['content_type'] !== 'iso', target, 'sr_grow');
    const size = Number(sr.fields['physical_size']);
    const used = Number(sr.fields['physical_utilisation']);
    // Growth past 95 % triggers a clean-up, so usage crosses an 85 % threshold both ways over time.
    if (used / size > 0.95) return this._srCleanup(String(sr.fields['uuid']));
    const next = Math.min(size, used + Math.round(size * (0.02 + this._rng.next() * 0.06)));
    this._h.db.update(sr.ref, { physical_utilisation: next, virtual_allocation: Math.max(Number(sr.fields['virtual_allocation']), Math.round(next * 1.3)) });
    return `sr_grow ${String(sr.fields['uuid'])} to ${((next / size) * 100).toFixed(1)}%`;
  }

  private _srCleanup(target: string | undefined): string {
    const sr = this._choose('SR', (o) => Number(o.fields['physical_size']) > 0 && Number(o.fields['physical_utilisation']) / Number(o.fields['physical_size']) > 0.6, target, 'sr_cleanup');
    const size = Number(sr.fields['physical_size']);
    const next = Math.round(size * (0.35 + this._rng.next() * 0.2));
    this._h.db.update(sr.ref, { physical_utilisation: next });
    return `sr_cleanup ${String(sr.fields['uuid'])} to ${((next / size) * 100).toFixed(1)}%`;
  }
}

/** xvda, xvdb, … for userdevice 0, 1, … */
export function deviceName(userdevice: number): string {
  return `xvd${String.fromCharCode(97 + Math.max(0, Math.min(25, userdevice)))}`;
}
