// Public contract of the embedded simulated XCP-ng pool. `xen-otel-agent simulate`, the agent's `simulator:` pool
// option, the tests and the benchmarks all start it through `startSimulator` (src/simulator/index.ts).

export type SimRole = 'pool-admin' | 'pool-operator' | 'vm-power-admin' | 'vm-admin' | 'vm-operator' | 'read-only';

export interface SimUser {
  username: string;
  password: string;
  role: SimRole;
}

export interface SimDynamicsOptions {
  /** Master switch; on by default. */
  enabled: boolean;
  /** Mean simulated seconds between two random model changes (VM start/stop/migrate, hot-plug, rename, PBD…). */
  meanIntervalSeconds: number;
}

export interface SimulatorOptions {
  hosts: number;
  vmsPerHost: number;
  seed: number;
  /**
   * xapi package version every host reports and whose wire behaviour it reproduces, e.g. `26.17.0` (current),
   * `26.4.0` (XCP-ng 8.3), `24.10.0` (JSON with data nested in meta), `1.249.0` (CH / XCP-ng 8.2 era).
   * Presets accepted: `current`, `xcp-ng-8.3`, `ch-8.2`.
   */
  xapiVersion: string;
  /** HTTPS with a generated CA (default) or plain HTTP. */
  tls: boolean;
  /** Simulated seconds per real second (1 = real time). */
  timeScale: number;
  /** Simulated unix time (ms) at start; default: the real clock. */
  startTimeMs?: number;
  /** TCP port shared by every host address; 0 = pick a free one. */
  port: number;
  /** First three octets of the loopback addresses, hosts get .2, .3, …; default `127.0.0`. */
  addressPrefix: string;
  /** Where the CA certificate (and keys) are written; default: a fresh temporary directory. */
  stateDir?: string;
  /** Pool `other_config:create_min_max_in_new_VM_RRDs` (MIN/MAX RRAs for pdp>1 archives). */
  minMaxRras: boolean;
  /** Seconds of RRD history generated before the pool starts serving (so a first poll has data). */
  historySeconds: number;
  users: SimUser[];
  dynamics: SimDynamicsOptions;
  /** Admin HTTP endpoint for tests and demos (on 127.0.0.1); 0 = pick a free port; null = none. */
  adminPort: number | null;
  /** Real-time seconds a session may stay unused before SESSION_INVALID (xapi: 86400). */
  sessionIdleTimeoutSeconds: number;
  /** Delay before SESSION_AUTHENTICATION_FAILED (xapi: 5 s, real time). */
  authFailureDelayMs: number;
  /** Optional path to a YAML topology file (overrides hosts / vmsPerHost). */
  topologyFile?: string;
}

export interface SimHostInfo {
  uuid: string;
  name: string;
  address: string;
  /** `https://127.0.0.2:PORT` */
  url: string;
  master: boolean;
}

/** Printed as one JSON line on stdout when the pool is ready. */
export interface SimulatorReadyInfo {
  event: 'ready';
  pool_name: string;
  pool_uuid: string;
  master_url: string;
  hosts: SimHostInfo[];
  users: SimUser[];
  /** PEM file clients should trust (null with --no-tls). */
  ca_file: string | null;
  admin_url: string | null;
  xapi_version: string;
  time_scale: number;
}

export type SimFault =
  | { kind: 'down' } // connection refused (listener closed)
  | { kind: 'slow'; delayMs: number } // every response delayed
  | { kind: 'hang' } // accept, never answer
  | { kind: 'http500'; count: number } // next N requests answer HTTP 500
  | { kind: 'truncate'; count: number } // next N /rrd_updates bodies cut in half
  | { kind: 'malformed'; count: number } // next N /rrd_updates bodies garbage
  | { kind: 'xo_lite' } // GET / answers the XO Lite HTML page (XCP-ng 8.3)
  | { kind: 'clock_skew'; seconds: number }; // host time offset

export interface SimAdmin {
  setFault(hostUuid: string, fault: SimFault): void;
  clearFaults(hostUuid?: string): void;
  /** Makes another host the master; the old master answers HOST_IS_SLAVE from then on. */
  failover(newMasterUuid: string): void;
  invalidateSessions(): void;
  /** Runs one dynamics action now: 'vm_start' | 'vm_stop' | 'vm_migrate' | 'hotplug' | 'rename' | 'pbd_detach' | … */
  triggerDynamics(action: string, target?: string): string;
  pauseDynamics(paused: boolean): void;
}

export interface RunningSimulator {
  readonly info: SimulatorReadyInfo;
  readonly admin: SimAdmin;
  /** Simulated now, unix ms. */
  now(): number;
  /**
   * Ground truth for tests: the value `/rrd_updates` serves for this column at `tSec` (float32-rounded), or
   * NaN. `owner` is `host` or `vm`; `cf` defaults to AVERAGE, `stepSeconds` to 5. `tSec` is on the clock of the
   * host that serves the data (a `clock_skew` fault shifts it: the host for host data, the resident host for a VM).
   */
  rrdValue(owner: 'host' | 'vm' | 'sr', uuid: string, dsName: string, tSec: number, cf?: string, stepSeconds?: number): number;
  stop(): Promise<void>;
}
