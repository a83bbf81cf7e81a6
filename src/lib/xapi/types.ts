// Contract of the XAPI client library (leaf library: imports nothing from src/ or plugins/).
// Field names are XAPI's own (snake_case, `name_label`, `resident_on`, …) so they can be checked against the
// datamodel; int64 fields are converted to JS numbers by the client, datetimes to unix milliseconds.

import type { ResponseBuffer } from './response-buffer.ts';

export type Ref = string; // 'OpaqueRef:…'
export const NULL_REF = 'OpaqueRef:NULL';

export interface PoolRecord {
  ref: Ref;
  uuid: string;
  name_label: string;
  name_description: string;
  master: Ref;
  default_SR: Ref;
  other_config: Record<string, string>;
}

export interface HostRecord {
  ref: Ref;
  uuid: string;
  name_label: string;
  name_description: string;
  address: string;
  hostname: string;
  enabled: boolean;
  software_version: Record<string, string>;
  other_config: Record<string, string>;
  multipathing: boolean;
  resident_VMs: Ref[];
  control_domain: Ref;
  metrics: Ref;
  PBDs: Ref[];
  PIFs: Ref[];
  cpu_info: Record<string, string>;
  API_version_major: number;
  API_version_minor: number;
}

export interface HostMetricsRecord {
  ref: Ref;
  uuid: string;
  memory_total: number;
  memory_free: number;
  live: boolean;
  last_updated: number;
}

export type VmPowerState = 'Halted' | 'Paused' | 'Running' | 'Suspended';

export interface VmRecord {
  ref: Ref;
  uuid: string;
  name_label: string;
  name_description: string;
  power_state: VmPowerState;
  is_a_template: boolean;
  is_default_template: boolean;
  is_a_snapshot: boolean;
  is_control_domain: boolean;
  resident_on: Ref;
  domid: number;
  metrics: Ref;
  VBDs: Ref[];
  VIFs: Ref[];
  VCPUs_max: number;
  VCPUs_at_startup: number;
  memory_static_max: number;
  memory_dynamic_max: number;
  memory_target: number;
  other_config: Record<string, string>;
  tags: string[];
}

export interface SrRecord {
  ref: Ref;
  uuid: string;
  name_label: string;
  name_description: string;
  type: string;
  content_type: string;
  shared: boolean;
  physical_size: number;
  physical_utilisation: number;
  virtual_allocation: number;
  PBDs: Ref[];
  VDIs: Ref[];
  other_config: Record<string, string>;
  sm_config: Record<string, string>;
}

export interface PbdRecord {
  ref: Ref;
  uuid: string;
  host: Ref;
  SR: Ref;
  /** May contain secrets (`*password*`, `*_secret`, chap…): never log or export without redaction. */
  device_config: Record<string, string>;
  currently_attached: boolean;
  other_config: Record<string, string>;
}

export interface VbdRecord {
  ref: Ref;
  uuid: string;
  VM: Ref;
  VDI: Ref;
  device: string;
  userdevice: string;
  type: string;
  mode: string;
  currently_attached: boolean;
}

export interface VifRecord {
  ref: Ref;
  uuid: string;
  VM: Ref;
  network: Ref;
  device: string;
  MAC: string;
  currently_attached: boolean;
}

export interface PifRecord {
  ref: Ref;
  uuid: string;
  host: Ref;
  network: Ref;
  device: string;
  IP: string;
  management: boolean;
  currently_attached: boolean;
  bond_master_of: Ref[];
  VLAN: number;
}

/** A consistent snapshot of a pool, kept current by `event.from`. Maps are keyed by OpaqueRef. */
export interface Inventory {
  /** Increases every time an event batch is applied. */
  readonly generation: number;
  readonly pool: PoolRecord | undefined;
  readonly hosts: ReadonlyMap<Ref, HostRecord>;
  readonly hostMetrics: ReadonlyMap<Ref, HostMetricsRecord>;
  readonly vms: ReadonlyMap<Ref, VmRecord>;
  readonly srs: ReadonlyMap<Ref, SrRecord>;
  readonly pbds: ReadonlyMap<Ref, PbdRecord>;
  readonly vbds: ReadonlyMap<Ref, VbdRecord>;
  readonly vifs: ReadonlyMap<Ref, VifRecord>;
  readonly pifs: ReadonlyMap<Ref, PifRecord>;
  /** uuid → ref for every class above. */
  refOfUuid(uuid: string): Ref | undefined;
}

export interface HostHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HostHttpRequest {
  /** e.g. `/rrd_updates`. */
  path: string;
  /** Query parameters; the session id is added by the client (cookie), never passed here. */
  query: Record<string, string | string[]>;
  /** Sent verbatim as `Accept`; always a single explicit type (xapi trap §8.5). */
  accept: string;
  signal: AbortSignal;
  /** Response bodies larger than this fail with XAPI_ERR_RESPONSE_TOO_LARGE. */
  maxBytes?: number;
  /**
   * Receive the body into this reused buffer as it arrives; the response's `body` is then a view of it, valid until
   * the buffer's next use. Without it the body is a fresh Buffer.
   */
  into?: ResponseBuffer;
}

/** One configured pool: one session, one inventory, keep-alive HTTPS to every host. */
export interface XapiPool {
  readonly name: string;
  /** Logs in (following HOST_IS_SLAVE / seed failover), loads the inventory, starts the event loop. */
  start(signal: AbortSignal): Promise<void>;
  /** Resolves once the first full inventory is loaded. */
  ready(signal: AbortSignal): Promise<void>;
  /** The current inventory snapshot (empty until ready). */
  inventory(): Inventory;
  /** XML-RPC call on the current master with the pool session prepended; re-logs in on SESSION_INVALID. */
  call<T = unknown>(method: string, params: unknown[], signal: AbortSignal): Promise<T>;
  /** `host.get_servertime` in unix milliseconds. */
  hostServerTime(hostRef: Ref, signal: AbortSignal): Promise<number>;
  /** HTTP GET to one host's address (from the inventory) with the pool session; re-logs in once on 401. */
  getFromHost(hostRef: Ref, request: HostHttpRequest): Promise<HostHttpResponse>;
  /** Counters for self-telemetry and benchmarks. */
  stats(): XapiPoolStats;
  /** Stops the event loop and logs out. Idempotent. */
  close(): Promise<void>;
}

export interface XapiPoolStats {
  xmlRpcCalls: number;
  logins: number;
  httpRequests: number;
  httpBytes: number;
  eventBatches: number;
  pendingEventCalls: number;
  masterAddress: string | undefined;
}

/** Structural logger (pino-compatible); the library never logs secrets or session ids. */
export interface XapiLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): XapiLogger;
}

export interface XapiTlsOptions {
  /** PEM bundle to trust in addition to (or instead of) the system CAs. */
  ca?: string | Buffer;
  /** Off by default; the caller warns loudly when it is on. */
  insecureSkipVerify: boolean;
  /** Expected certificate name when connecting by address. */
  serverName?: string;
}

export interface XapiPoolOptions {
  name: string;
  /** Seed URLs (`https://10.0.0.1`, `https://[fd00::1]:443`, `http://…`): tried in order to find the master. */
  endpoints: string[];
  username: string;
  /** Structural so the library needs nothing from the core; `Secret` fits. */
  password: { reveal(): string };
  tls: XapiTlsOptions;
  /** Per XML-RPC call and per host HTTP request. */
  requestTimeoutMs: number;
  /** At most this many host HTTP requests of this pool in flight (p-limit). */
  maxConcurrentHosts: number;
  /** Responses larger than this fail (XAPI_ERR_RESPONSE_TOO_LARGE). */
  maxResponseBytes: number;
  /** `originator` of session.login_with_password (xapi caps sessions per originator). */
  originator: string;
  logger: XapiLogger;
  /** `event.from` timeout in seconds (sent as a double). */
  eventTimeoutSeconds?: number;
}
