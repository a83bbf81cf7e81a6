// The embedded simulated XCP-ng pool: `startSimulator(options)` builds the model from the topology, starts one
// listener per host on its own loopback address, wires the RRD engine, the dynamics, the faults and the admin API.
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentError } from '../plugin-api/errors.ts';
import { startAdminServer, type AdminServer } from './admin-http.ts';
import type { RunningSimulator, SimAdmin, SimFault, SimHostInfo, SimulatorOptions, SimulatorReadyInfo, SimUser } from './api.ts';
import { Dynamics } from './dynamics.ts';
import { applyFault, emptyFaults, HostEndpoint, type HostFaultState, type HostHttpContext } from './http.ts';
import { NULL_REF, PoolDb } from './model.ts';
import { resolveOptions } from './options.ts';
import type { Session } from './rpc.ts';
import type { RrdEngine } from './rrd/contract.ts';
import { createPoolView, loadRrdEngineModule } from './rrd-view.ts';
import { createCa, createLeaf, type Pem } from './tls.ts';
import { buildPool, loadTopologyFile, planTopology, type BuiltPool } from './topology.ts';

export type { RunningSimulator, SimulatorOptions, SimulatorReadyInfo } from './api.ts';

const PORT_ATTEMPTS = 20;

class SimulatedPool implements HostHttpContext {
  readonly db = new PoolDb();
  readonly options: SimulatorOptions;
  built!: BuiltPool;
  engine: RrdEngine | undefined;
  readonly endpoints = new Map<string, HostEndpoint>();
  readonly faultState = new Map<string, HostFaultState>();
  readonly sessions = new Map<string, Session>();
  private readonly _realStart = performance.now();
  private readonly _simStartMs: number;
  private _port = 0;
  private _scheme: 'http' | 'https';
  private _advanceTimer: NodeJS.Timeout | undefined;
  private _lastAdvanceSec = 0;
  dynamics!: Dynamics;

  constructor(options: SimulatorOptions) {
    this.options = options;
    this._simStartMs = options.startTimeMs ?? Date.now();
    this._scheme = options.tls ? 'https' : 'http';
  }

  now(): number {
    return this._simStartMs + (performance.now() - this._realStart) * this.options.timeScale;
  }

  // ---- RpcContext / HostHttpContext -------------------------------------------------------------------------
  masterRef(): string {
    return String([...this.db.all('pool')][0]?.fields['master'] ?? NULL_REF);
  }
  hostAddress(hostRef: string): string {
    return String(this.db.get(hostRef)?.fields['address'] ?? '');
  }
  hostUuid(hostRef: string): string {
    return String(this.db.get(hostRef)?.fields['uuid'] ?? '');
  }
  hostUrl(hostRef: string): string {
    return `${this._scheme}://${this.hostAddress(hostRef)}:${this._port}`;
  }
  hostTimeMs(hostRef: string): number {
    return this.now() + (this.faultState.get(hostRef)?.skewSeconds ?? 0) * 1000;
  }
  managementPif(hostRef: string): string {
    return this.built.managementPif.get(hostRef) ?? NULL_REF;
  }
  faults(hostRef: string): HostFaultState {
    let f = this.faultState.get(hostRef);
    if (f === undefined) {
      f = emptyFaults();
      this.faultState.set(hostRef, f);
    }
    return f;
  }
  users(): readonly SimUser[] {
    return this.options.users;
  }
  authFailureDelayMs(): number {
    return this.options.authFailureDelayMs;
  }
  session(ref: string, touch = true): Session | undefined {
    const s = this.sessions.get(ref);
    if (s === undefined) return undefined;
    const nowReal = Date.now();
    if (nowReal - s.lastActiveRealMs > this.options.sessionIdleTimeoutSeconds * 1000) {
      this.sessions.delete(ref);
      return undefined;
    }
    if (touch) s.lastActiveRealMs = nowReal;
    return s;
  }
  login(user: SimUser, originator: string, hostRef: string): Session {
    const s: Session = { ref: `OpaqueRef:${randomUUID()}`, uuid: randomUUID(), user, originator, hostRef, lastActiveRealMs: Date.now() };
    this.sessions.set(s.ref, s);
    return s;
  }
  logout(ref: string): void {
    this.sessions.delete(ref);
  }
  async checkPassword(user: string, password: string): Promise<boolean> {
    if (this.options.users.some((u) => u.username === user && u.password === password)) return true;
    await new Promise((r) => setTimeout(r, this.options.authFailureDelayMs));
    return false;
  }
  vmResidentHost(vmUuid: string): string | undefined {
    const vm = this.db.byUuid('VM', vmUuid);
    const h = vm?.fields['resident_on'];
    return typeof h === 'string' && h !== NULL_REF ? h : undefined;
  }
  rrdEngine(): RrdEngine | undefined {
    this.advanceRrd();
    return this.engine;
  }
  advanceRrd(): void {
    if (this.engine === undefined) return;
    const sec = Math.floor(this.now() / 1000);
    if (sec < this._lastAdvanceSec) return;
    this._lastAdvanceSec = sec;
    this.engine.advance(sec);
  }
  setMultipathing(hostRef: string, value: boolean): void {
    this.db.change(() => {
      const h = this.db.get(hostRef);
      if (h === undefined) return;
      this.db.update(hostRef, { multipathing: value, other_config: { ...(h.fields['other_config'] as Record<string, string>), multipathing: String(value) } });
      for (const pbdRef of h.fields['PBDs'] as string[]) {
        const pbd = this.db.get(pbdRef);
        if (pbd === undefined) continue;
        const scsi = this.built.scsiIds.get(String(pbd.fields['SR'])) ?? [];
        if (scsi.length === 0) continue;
        const other = Object.fromEntries(Object.entries(pbd.fields['other_config'] as Record<string, string>).filter(([k]) => !k.startsWith('mpath-') && k !== 'multipathed'));
        if (value && pbd.fields['currently_attached'] === true) {
          const p = this.built.srPaths.get(String(pbd.fields['SR'])) ?? 2;
          for (const id of scsi) other[`mpath-${id}`] = `[${p}, ${p}]`;
          other['multipathed'] = 'true';
        }
        this.db.set(pbdRef, 'other_config', other);
      }
    });
  }
  waitForChange(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const off = this.db.onChange(done);
      signal.addEventListener('abort', done);
    });
  }

  // ---- lifecycle --------------------------------------------------------------------------------------------
  async start(): Promise<void> {
    const o = this.options;
    const file = o.topologyFile === undefined ? undefined : loadTopologyFile(o.topologyFile);
    const plan = planTopology({ hosts: o.hosts, vmsPerHost: o.vmsPerHost, seed: o.seed, ...(file === undefined ? {} : { file }) });
    this.built = buildPool(this.db, plan, { seed: o.seed, addressPrefix: o.addressPrefix, xapiVersion: o.xapiVersion, minMaxRras: o.minMaxRras, nowMs: this.now() });

    const mod = await loadRrdEngineModule();
    if (mod !== undefined) {
      this.engine = mod.createRrdEngine({
        seed: o.seed, view: createPoolView(this.db, this.built.guestAgent), profile: mod.wireProfileFor(o.xapiVersion),
        minMaxRras: o.minMaxRras, historyStartSec: Math.floor(this.now() / 1000) - o.historySeconds,
      });
      this.advanceRrd();
      // History before a change reflects the state before it.
      this.db.beforeChange = () => this.advanceRrd();
      // One simulated RRD step; clamped to what a Node timer can hold (a tiny time scale would overflow to 1 ms).
      const everyMs = Math.min(2 ** 31 - 1, Math.max(100, 5000 / o.timeScale));
      this._advanceTimer = setInterval(() => this.advanceRrd(), everyMs);
      this._advanceTimer.unref();
    }

    let tls: Map<string, Pem> | undefined;
    let caFile: string | null = null;
    if (o.tls) {
      const dir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'xen-sim-'));
      mkdirSync(dir, { recursive: true });
      const ca = await createCa(plan.poolName);
      caFile = join(dir, 'ca.pem');
      writeFileSync(caFile, ca.cert);
      writeFileSync(join(dir, 'ca-key.pem'), ca.key, { mode: 0o600 });
      tls = new Map();
      for (const ref of this.built.hostRefs) tls.set(ref, await createLeaf(ca, String(this.db.get(ref)?.fields['hostname']), this.hostAddress(ref)));
    }
    for (const ref of this.built.hostRefs) this.endpoints.set(ref, new HostEndpoint(this, ref, this.hostAddress(ref), tls?.get(ref)));
    await this._listenAll(o.port);
    this.caFile = caFile;
    this.dynamics = new Dynamics(this, o.seed, o.dynamics);
    if (o.dynamics.enabled) this.dynamics.start();
  }

  caFile: string | null = null;

  private async _listenAll(requested: number): Promise<void> {
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      let port = requested;
      try {
        for (const ep of this.endpoints.values()) port = await ep.listen(port);
        this._port = port;
        return;
      } catch (err) {
        await Promise.all([...this.endpoints.values()].map((ep) => ep.close()));
        const code = (err as { code?: string }).code;
        if (code !== 'EADDRINUSE' || requested !== 0) {
          throw new AgentError('SIM_ERR_LISTEN', `cannot listen on ${this.options.addressPrefix}.x:${requested}`, { cause: err, details: { code } });
        }
      }
    }
    throw new AgentError('SIM_ERR_LISTEN', `no port free on every host address after ${PORT_ATTEMPTS} attempts`);
  }

  get port(): number {
    return this._port;
  }

  readyInfo(adminUrl: string | null): SimulatorReadyInfo {
    const pool = [...this.db.all('pool')][0];
    const master = this.masterRef();
    const hosts: SimHostInfo[] = this.built.hostRefs.map((ref) => ({
      uuid: this.hostUuid(ref), name: String(this.db.get(ref)?.fields['name_label']), address: this.hostAddress(ref), url: this.hostUrl(ref), master: ref === master,
    }));
    return {
      event: 'ready', pool_name: String(pool?.fields['name_label'] ?? ''), pool_uuid: String(pool?.fields['uuid'] ?? ''), master_url: this.hostUrl(master), hosts,
      users: this.options.users.map((u) => ({ ...u })), ca_file: this.caFile, admin_url: adminUrl, xapi_version: this.options.xapiVersion, time_scale: this.options.timeScale,
    };
  }

  hostRefByUuid(uuid: string): string {
    const h = this.db.byUuid('host', uuid);
    if (h === undefined) throw new AgentError('SIM_ERR_UNKNOWN_HOST', `no host with uuid ${uuid}`, { details: { uuid } });
    return h.ref;
  }

  setFault(hostUuid: string, fault: SimFault): void {
    const ref = this.hostRefByUuid(hostUuid);
    const state = this.faults(ref);
    applyFault(state, fault);
    if (fault.kind === 'clock_skew') this._syncClockOffset(ref);
    const ep = this.endpoints.get(ref);
    if (fault.kind === 'down' && ep !== undefined) void ep.close();
  }

  clearFaults(hostUuid?: string): void {
    const refs = hostUuid === undefined ? this.built.hostRefs : [this.hostRefByUuid(hostUuid)];
    for (const ref of refs) {
      const wasDown = this.faults(ref).down;
      this.faultState.set(ref, emptyFaults());
      this._syncClockOffset(ref);
      const ep = this.endpoints.get(ref);
      if (ep === undefined) continue;
      ep.releaseHung();
      if (wasDown && !ep.listening) {
        // Re-listen on the same address and port; a failure leaves the host down (reported, not thrown).
        ep.listen(this._port).catch(() => {
          this.faults(ref).down = true;
        });
      }
    }
  }

  /** Awaitable form used by the admin endpoint and tests (the listener is back once this resolves). */
  async clearFaultsAsync(hostUuid?: string): Promise<void> {
    const refs = hostUuid === undefined ? this.built.hostRefs : [this.hostRefByUuid(hostUuid)];
    const relisten: HostEndpoint[] = [];
    for (const ref of refs) {
      const ep = this.endpoints.get(ref);
      if (ep !== undefined && !ep.listening && this.faults(ref).down) relisten.push(ep);
    }
    for (const ref of refs) {
      this.faultState.set(ref, emptyFaults());
      this._syncClockOffset(ref);
      this.endpoints.get(ref)?.releaseHung();
    }
    await Promise.all(relisten.map((ep) => ep.listen(this._port)));
  }

  /** One clock per host: the RRD engine stamps this host's data with the same skew as host.get_servertime. */
  private _syncClockOffset(hostRef: string): void {
    this.engine?.setClockOffset(this.hostUuid(hostRef), this.faults(hostRef).skewSeconds);
  }

  failover(newMasterUuid: string): void {
    const ref = this.hostRefByUuid(newMasterUuid);
    const pool = [...this.db.all('pool')][0];
    if (pool === undefined || pool.fields['master'] === ref) return;
    this.db.set(pool.ref, 'master', ref);
  }

  invalidateSessions(): void {
    this.sessions.clear();
  }

  faultSummary(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [ref, f] of this.faultState) out[this.hostUuid(ref)] = { ...f };
    return out;
  }

  async stop(): Promise<void> {
    this.dynamics?.stop();
    if (this._advanceTimer !== undefined) clearInterval(this._advanceTimer);
    await Promise.all([...this.endpoints.values()].map((ep) => ep.close()));
  }
}

export async function startSimulator(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const resolved = resolveOptions(options);
  const pool = new SimulatedPool(resolved);
  await pool.start();
  let admin: AdminServer | undefined;
  const simAdmin: SimAdmin = {
    setFault: (hostUuid, fault) => pool.setFault(hostUuid, fault),
    clearFaults: (hostUuid) => pool.clearFaults(hostUuid),
    failover: (uuid) => pool.failover(uuid),
    invalidateSessions: () => pool.invalidateSessions(),
    triggerDynamics: (action, target) => pool.dynamics.run(action, target),
    pauseDynamics: (paused) => pool.dynamics.pause(paused),
  };
  try {
    if (resolved.adminPort !== null) admin = await startAdminServer(pool, simAdmin, resolved.adminPort);
  } catch (err) {
    await pool.stop();
    throw err;
  }
  const info = pool.readyInfo(admin?.url ?? null);
  let stopped: Promise<void> | undefined;
  return {
    info,
    admin: simAdmin,
    now: () => pool.now(),
    rrdValue: (owner, uuid, ds, tSec, cf, step) => {
      pool.advanceRrd();
      return pool.engine === undefined ? NaN : pool.engine.value(owner, uuid, ds, tSec, cf, step);
    },
    stop: () => {
      stopped ??= (async () => {
        await admin?.close();
        await pool.stop();
      })();
      return stopped;
    },
  };
}
