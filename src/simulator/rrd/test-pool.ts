// A small mutable pool model implementing RrdPoolView, for this folder's tests and measurement script.
import type { RrdHostSpec, RrdLoadProfile, RrdPoolView, RrdVmSpec } from './contract.ts';

export const HOST_A = '4cff6b2b-a236-42e0-b388-c78a413f5f46';
export const HOST_B = '8e3ab7a1-0d1b-4c47-9f3e-2b6f5d7c9a10';
export const SR_LOCAL = 'caa66549-1d3c-4f8a-9b0e-6b1b2f3c4d5e';
export const SR_NFS = '5f2e8d1c-7a6b-4c3d-9e8f-0a1b2c3d4e5f';

export function uuidOf(n: number, tag: string): string {
  const hex = (n >>> 0).toString(16).padStart(8, '0');
  const t = Buffer.from(tag).toString('hex').padEnd(12, '0').slice(0, 12);
  return `${hex}-${t.slice(0, 4)}-4${t.slice(4, 7)}-8${t.slice(7, 10)}-${hex}${t.slice(10, 12)}00`;
}

export class FakePool implements RrdPoolView {
  readonly hostSpecs: RrdHostSpec[] = [];
  readonly vms = new Map<string, RrdVmSpec>();

  hosts(): RrdHostSpec[] {
    return this.hostSpecs;
  }

  vm(uuid: string): RrdVmSpec | undefined {
    return this.vms.get(uuid);
  }

  addHost(uuid: string, opts: Partial<RrdHostSpec> = {}): RrdHostSpec {
    const dom0 = uuidOf(this.hostSpecs.length, 'dom0');
    const h: RrdHostSpec = {
      uuid,
      isMaster: this.hostSpecs.length === 0,
      cpuCount: 4,
      pifDevices: ['eth0', 'eth1'],
      attachedSrUuids: [SR_LOCAL],
      intellicacheSrUuids: [],
      memoryTotalBytes: 64 * 2 ** 30,
      residentVmUuids: [dom0],
      ...opts,
    };
    this.vms.set(dom0, {
      uuid: dom0,
      isControlDomain: true,
      vcpus: 2,
      vbdDevices: [],
      vifDevices: [],
      hasGuestAgent: true,
      memoryBytes: 4 * 2 ** 30,
      vbdSrUuids: {},
      profile: 'control_domain',
    });
    this.hostSpecs.push(h);
    return h;
  }

  addVm(host: RrdHostSpec, uuid: string, profile: RrdLoadProfile, opts: Partial<RrdVmSpec> = {}): RrdVmSpec {
    const v: RrdVmSpec = {
      uuid,
      isControlDomain: false,
      vcpus: 2,
      vbdDevices: ['xvda'],
      vifDevices: ['0'],
      hasGuestAgent: true,
      memoryBytes: 2 * 2 ** 30,
      vbdSrUuids: { xvda: host.attachedSrUuids[0] ?? SR_LOCAL },
      profile,
      ...opts,
    };
    this.vms.set(uuid, v);
    host.residentVmUuids.push(uuid);
    return v;
  }

  /** Moves a VM's residency (migration). */
  move(uuid: string, to: RrdHostSpec): void {
    for (const h of this.hostSpecs) h.residentVmUuids = h.residentVmUuids.filter((u) => u !== uuid);
    to.residentVmUuids.push(uuid);
  }

  halt(uuid: string): void {
    for (const h of this.hostSpecs) h.residentVmUuids = h.residentVmUuids.filter((u) => u !== uuid);
  }
}

/** `n` hosts × `vmsPerHost` VMs with mixed profiles, as the simulator's default topology roughly looks. */
export function bigPool(n: number, vmsPerHost: number, cpuCount = 32): FakePool {
  const pool = new FakePool();
  const profiles: RrdLoadProfile[] = ['idle', 'steady', 'web', 'database', 'batch'];
  for (let h = 0; h < n; h++) {
    const host = pool.addHost(uuidOf(h, 'host'), { cpuCount, pifDevices: ['eth0', 'eth1', 'eth2', 'eth3', 'bond0'], attachedSrUuids: [uuidOf(h, 'locl'), SR_NFS] });
    for (let v = 0; v < vmsPerHost; v++) {
      const profile = profiles[(h * 7 + v) % profiles.length]!;
      pool.addVm(host, uuidOf(h * 1000 + v, 'vm'), profile, {
        vcpus: 1 + ((h + v) % 4),
        vbdDevices: v % 3 === 0 ? ['xvda', 'xvdb'] : ['xvda'],
        vifDevices: v % 5 === 0 ? ['0', '1'] : ['0'],
        vbdSrUuids: { xvda: SR_NFS, xvdb: uuidOf(h, 'locl') },
        hasGuestAgent: v % 4 !== 0,
      });
    }
  }
  return pool;
}
