// The RRD engine's read-only view of the pool model (contract: rrd/contract.ts), and the loader of the engine.
import type { RrdEngine, RrdEngineOptions, RrdHostSpec, RrdLoadProfile, RrdPoolView, RrdVmSpec, XapiWireProfile } from './rrd/contract.ts';
import type { PoolDb } from './model.ts';

const PROFILE_BY_ROLE: Readonly<Record<string, RrdLoadProfile>> = {
  web: 'web', proxy: 'web', db: 'database', cache: 'database', batch: 'batch', ci: 'batch', app: 'steady', mail: 'idle',
};

export function createPoolView(db: PoolDb, guestAgent: ReadonlyMap<string, boolean>): RrdPoolView {
  return {
    generation: () => db.generation,
    hosts(): RrdHostSpec[] {
      const master = [...db.all('pool')][0]?.fields['master'];
      const out: RrdHostSpec[] = [];
      for (const h of db.all('host')) {
        const pifDevices: string[] = [];
        for (const p of h.fields['PIFs'] as string[]) {
          const pif = db.get(p);
          if (pif !== undefined && pif.fields['currently_attached'] === true) pifDevices.push(String(pif.fields['device']));
        }
        const attached: string[] = [];
        for (const pbdRef of h.fields['PBDs'] as string[]) {
          const pbd = db.get(pbdRef);
          if (pbd?.fields['currently_attached'] !== true) continue;
          const sr = db.get(String(pbd.fields['SR']));
          if (sr !== undefined && (sr.fields['VDIs'] as string[]).length > 0) attached.push(String(sr.fields['uuid']));
        }
        const metrics = db.get(String(h.fields['metrics']));
        const resident = (h.fields['resident_VMs'] as string[]).map((r) => db.get(r)?.fields['uuid']).filter((u): u is string => typeof u === 'string');
        out.push({
          uuid: String(h.fields['uuid']),
          isMaster: h.ref === master,
          cpuCount: Number((h.fields['cpu_info'] as Record<string, string>)['cpu_count'] ?? '1'),
          pifDevices,
          attachedSrUuids: attached,
          intellicacheSrUuids: [],
          memoryTotalBytes: Number(metrics?.fields['memory_total'] ?? 0),
          residentVmUuids: resident,
        });
      }
      return out;
    },
    vm(uuid: string): RrdVmSpec | undefined {
      const vm = db.byUuid('VM', uuid);
      if (vm === undefined) return undefined;
      const vbdDevices: string[] = [];
      const vbdSrUuids: Record<string, string> = {};
      for (const r of vm.fields['VBDs'] as string[]) {
        const vbd = db.get(r);
        if (vbd === undefined || vbd.fields['currently_attached'] !== true || vbd.fields['empty'] === true) continue;
        const dev = String(vbd.fields['device']);
        if (dev === '') continue;
        vbdDevices.push(dev);
        const vdi = db.get(String(vbd.fields['VDI']));
        const sr = vdi === undefined ? undefined : db.get(String(vdi.fields['SR']));
        if (sr !== undefined) vbdSrUuids[dev] = String(sr.fields['uuid']);
      }
      const vifDevices: string[] = [];
      for (const r of vm.fields['VIFs'] as string[]) {
        const vif = db.get(r);
        if (vif !== undefined && vif.fields['currently_attached'] === true) vifDevices.push(String(vif.fields['device']));
      }
      const isDom0 = vm.fields['is_control_domain'] === true;
      const role = (vm.fields['other_config'] as Record<string, string>)['sim-profile'] ?? '';
      return {
        uuid,
        isControlDomain: isDom0,
        vcpus: Number(vm.fields['VCPUs_at_startup']),
        vbdDevices,
        vifDevices,
        hasGuestAgent: isDom0 || (guestAgent.get(vm.ref) ?? false),
        memoryBytes: Number(vm.fields['memory_dynamic_max']),
        vbdSrUuids,
        profile: isDom0 ? 'control_domain' : (PROFILE_BY_ROLE[role] ?? 'steady'),
      };
    },
  };
}

export interface RrdEngineModule {
  createRrdEngine(options: RrdEngineOptions): RrdEngine;
  wireProfileFor(version: string): XapiWireProfile;
}

/**
 * The engine is developed in parallel (src/simulator/rrd/index.ts); load it if present so the XAPI side works and
 * is testable without it. The path is a variable so the type checker does not require the file to exist.
 */
export async function loadRrdEngineModule(): Promise<RrdEngineModule | undefined> {
  const path = './rrd/index.ts';
  try {
    const mod = (await import(path)) as Partial<RrdEngineModule>;
    if (typeof mod.createRrdEngine === 'function' && typeof mod.wireProfileFor === 'function') return mod as RrdEngineModule;
    return undefined;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('rrd/index.ts')) return undefined;
    throw err;
  }
}
