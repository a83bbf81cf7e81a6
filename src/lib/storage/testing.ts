// Test doubles for the storage receivers' pure mapping tests: an in-memory XapiPool over an Inventory built from
// testdata records, and a logger that keeps every line. Not used by production code.

import { expect } from 'vitest';
import type {
  HostMetricsRecord,
  HostRecord,
  Inventory,
  PbdRecord,
  PifRecord,
  PoolRecord,
  Ref,
  SrRecord,
  VbdRecord,
  VifRecord,
  VmRecord,
  XapiPool,
  XapiPoolStats,
} from '../xapi/types.ts';
import { toGolden } from './golden.ts';

/** Records as testdata holds them: `get_all_records`-like maps keyed by ref; missing fields get defaults. */
export interface InventoryFixture {
  pool?: Partial<PoolRecord> & { uuid: string };
  hosts?: Record<Ref, Partial<HostRecord>>;
  srs?: Record<Ref, Partial<SrRecord>>;
  pbds?: Record<Ref, Partial<PbdRecord>>;
}

const hostDefaults: Omit<HostRecord, 'ref' | 'uuid'> = {
  name_label: '',
  name_description: '',
  address: '',
  hostname: '',
  enabled: true,
  software_version: {},
  other_config: {},
  multipathing: false,
  resident_VMs: [],
  control_domain: 'OpaqueRef:NULL',
  metrics: 'OpaqueRef:NULL',
  PBDs: [],
  PIFs: [],
  cpu_info: {},
  API_version_major: 2,
  API_version_minor: 21,
};

const srDefaults: Omit<SrRecord, 'ref' | 'uuid'> = {
  name_label: '',
  name_description: '',
  type: 'lvm',
  content_type: 'user',
  shared: false,
  physical_size: 0,
  physical_utilisation: 0,
  virtual_allocation: 0,
  PBDs: [],
  VDIs: [],
  other_config: {},
  sm_config: {},
};

const pbdDefaults: Omit<PbdRecord, 'ref' | 'uuid' | 'host' | 'SR'> = {
  device_config: {},
  currently_attached: true,
  other_config: {},
};

function withRefs<T>(records: Record<Ref, Partial<T>> | undefined, defaults: object): Map<Ref, T> {
  const out = new Map<Ref, T>();
  for (const [ref, record] of Object.entries(records ?? {})) out.set(ref, { ...defaults, ...record, ref } as T);
  return out;
}

export function inventoryFrom(fixture: InventoryFixture, generation = 1): Inventory {
  const pool: PoolRecord | undefined = fixture.pool
    ? {
        ref: 'OpaqueRef:pool',
        name_label: '',
        name_description: '',
        master: 'OpaqueRef:NULL',
        default_SR: 'OpaqueRef:NULL',
        other_config: {},
        ...fixture.pool,
      }
    : undefined;
  const hosts = withRefs<HostRecord>(fixture.hosts, hostDefaults);
  const srs = withRefs<SrRecord>(fixture.srs, srDefaults);
  const pbds = withRefs<PbdRecord>(fixture.pbds, pbdDefaults);
  const byUuid = new Map<string, Ref>();
  for (const map of [hosts, srs, pbds] as ReadonlyMap<Ref, { uuid: string }>[]) {
    for (const [ref, record] of map) byUuid.set(record.uuid, ref);
  }
  if (pool) byUuid.set(pool.uuid, pool.ref);
  return {
    generation,
    pool,
    hosts,
    hostMetrics: new Map<Ref, HostMetricsRecord>(),
    vms: new Map<Ref, VmRecord>(),
    srs,
    pbds,
    vbds: new Map<Ref, VbdRecord>(),
    vifs: new Map<Ref, VifRecord>(),
    pifs: new Map<Ref, PifRecord>(),
    refOfUuid: (uuid) => byUuid.get(uuid),
  };
}

export interface FakePool extends XapiPool {
  /** Replaces the inventory the next scrape sees (an event batch arrived). */
  setInventory(inventory: Inventory): void;
  /** Makes `ready` reject (a pool that never loaded). */
  failReady(error: Error | undefined): void;
}

/** An XapiPool that only serves an inventory; any XAPI call fails the test loudly. */
export function fakePool(name: string, initial: Inventory): FakePool {
  let inventory = initial;
  let readyError: Error | undefined;
  const stats: XapiPoolStats = {
    xmlRpcCalls: 0,
    logins: 0,
    httpRequests: 0,
    httpBytes: 0,
    eventBatches: 0,
    pendingEventCalls: 0,
    masterAddress: undefined,
  };
  const noIo = (what: string): never => {
    throw new Error(`storage receivers must not call ${what} in steady state`);
  };
  return {
    name,
    start: async () => {},
    ready: async () => {
      if (readyError) throw readyError;
    },
    inventory: () => inventory,
    call: async (method) => noIo(`call(${method})`),
    hostServerTime: async () => noIo('hostServerTime'),
    getFromHost: async () => noIo('getFromHost'),
    stats: () => ({ ...stats }),
    close: async () => {},
    setInventory: (next) => {
      inventory = next;
    },
    failReady: (error) => {
      readyError = error;
    },
  };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, unknown>;
  obj: object;
  msg: string;
}

/** A pino-shaped logger that records every line (children included) for assertions. */
export function captureLogger(): { logger: CapturingLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bindings: Record<string, unknown>): CapturingLogger => ({
    debug: (obj, msg) => void lines.push({ level: 'debug', bindings, obj, msg }),
    info: (obj, msg) => void lines.push({ level: 'info', bindings, obj, msg }),
    warn: (obj, msg) => void lines.push({ level: 'warn', bindings, obj, msg }),
    error: (obj, msg) => void lines.push({ level: 'error', bindings, obj, msg }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return { logger: make({}), lines };
}

export interface CapturingLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): CapturingLogger;
}

/** A `PoolProvider`-shaped registry over fake pools; unknown names throw like the real one. */
export function fakePoolProvider(pools: readonly XapiPool[]): { get(name: string): XapiPool; names(): string[] } {
  const byName = new Map(pools.map((p) => [p.name, p]));
  return {
    get(name) {
      const pool = byName.get(name);
      if (!pool) throw new Error(`unknown pool '${name}'`);
      return pool;
    },
    names: () => [...byName.keys()],
  };
}

/** Receiver settings for tests: fixed clock, capturing logger, the given pools. */
export function testSettings(pools: readonly XapiPool[], id = 'test/storage', nowMs = 1_767_225_600_000) {
  const { logger, lines } = captureLogger();
  return { settings: { id, logger, clock: { now: () => nowMs }, pools: fakePoolProvider(pools) }, lines };
}

/** What a test needs of a receiver factory (structural: this library does not import the plugin API). */
interface TestableFactory<S> {
  readonly configSchema: { parse(input: unknown): unknown };
  createScraper(settings: ReturnType<typeof testSettings>['settings'], config: never): S;
}

/** A scraper of `factory` over one fake pool `prod` holding `inventory`, with `config` beside `pools: [prod]`. */
export function scraperOnFakePool<S>(factory: TestableFactory<S>, inventory: InventoryFixture, config: Record<string, unknown> = {}) {
  const pool = fakePool('prod', inventoryFrom(inventory));
  const { settings, lines } = testSettings([pool]);
  const scraper = factory.createScraper(settings, factory.configSchema.parse({ pools: ['prod'], ...config }) as never);
  return { scraper, pool, lines };
}

/** What the golden case needs of a storage scraper's result (structural, as above). */
interface GoldenScrapable {
  scrape(signal: AbortSignal): Promise<{ batch: Parameters<typeof toGolden>[0] & Parameters<typeof undeclaredInBatch>[0]; errors: readonly unknown[] }>;
}

/**
 * The golden case of every storage receiver: a scrape of `inventory` has no errors, makes no XAPI call, matches
 * the golden file `golden` (a path relative to the calling test file, as `toMatchFileSnapshot` resolves it) and
 * emits only what `catalogue` declares.
 */
export async function expectGoldenScrape(
  factory: TestableFactory<GoldenScrapable>,
  inventory: InventoryFixture,
  catalogue: Parameters<typeof undeclaredInBatch>[1],
  golden: string,
  config: Record<string, unknown> = {},
): Promise<void> {
  const { scraper, pool } = scraperOnFakePool(factory, inventory, config);
  const { batch, errors } = await scraper.scrape(AbortSignal.timeout(5_000));
  expect(errors).toEqual([]);
  expect(pool.stats().xmlRpcCalls).toBe(0);
  await expect(toGolden(batch)).toMatchFileSnapshot(golden);
  expect(undeclaredInBatch(batch, catalogue)).toEqual([]);
}

// ---- secrets ------------------------------------------------------------------------------------------------
/** Marker planted in every secret; a test greps outputs for it. */
export const SECRET_MARK = 'S3CRET';
const MARK = SECRET_MARK;

/** Secret-bearing device_config keys seen on real pools (SM drivers, xapi secrets migration) plus generic ones. */
const SECRET_KEYS = [
  'chapuser',
  'chappassword',
  'chappassword_secret',
  'incoming_chapuser',
  'incoming_chappassword',
  'incoming_chappassword_secret',
  'username',
  'password',
  'password_secret',
  'cifspassword',
  'cifspassword_secret',
  'api_key',
  'token',
  'auth',
  'private_key',
  'session_id',
  'credentials',
  // Not secret by name, but free-form (CIFS mount options can carry username=…,password=…): not allow-listed.
  'options',
];

function plantedDeviceConfig(type: string): Record<string, string> {
  const config: Record<string, string> = {
    target: '10.0.0.1,10.0.1.1',
    targetIQN: 'iqn.2001-05.com.example:x',
    port: '3260',
    SCSIid: '36001405cccccccccccccccccccccccc3',
    provider: 'iscsi',
    serverpath: '/export',
    nfsversion: '4',
    vers: '3.0',
    type: 'cifs',
    device: '/dev/sdb',
    // URL user info in the two keys that may hold URLs.
    location: `//isouser:${MARK}-${type}-location@fs.example.com/isos`,
    server: type === 'nfs' ? 'nas.example.com' : `//smbuser:${MARK}-${type}-server@fs.example.com/share`,
  };
  for (const key of SECRET_KEYS) config[key] = `${MARK}-${type}-${key}`;
  return config;
}

/**
 * One SR and PBD per SR type with a marker in every secret-bearing device_config key, in URL user info, in
 * mount options and in every other_config / sm_config map; plus a dangling PBD so that errors exist too.
 */
export function plantedSecretsInventory(types: readonly string[]): InventoryFixture {
  const fixture: InventoryFixture = {
    pool: { uuid: 'a1b2c3d4-0000-4000-8000-000000000001', name_label: 'prod', other_config: { secret: `${MARK}-pool` } },
    hosts: {
      'OpaqueRef:host-1': { uuid: 'b0000000-0000-4000-8000-000000000001', name_label: 'xcp-01', other_config: { iscsi_password: `${MARK}-host` } },
    },
    srs: {},
    pbds: {},
  };
  types.forEach((type, i) => {
    const n = String(i).padStart(3, '0');
    fixture.srs![`OpaqueRef:sr-${n}`] = {
      uuid: `c0000000-0000-4000-8000-000000000${n}`,
      name_label: `sr ${type}`,
      type,
      shared: true,
      other_config: { password: `${MARK}-${type}-sr-other`, note: `${MARK}-${type}-note` },
      sm_config: { chappassword: `${MARK}-${type}-sm` },
    };
    fixture.pbds![`OpaqueRef:pbd-${n}`] = {
      uuid: `d0000000-0000-4000-8000-000000000${n}`,
      host: 'OpaqueRef:host-1',
      SR: `OpaqueRef:sr-${n}`,
      device_config: plantedDeviceConfig(type),
      other_config: { password: `${MARK}-${type}-pbd-other`, [`mpath-${type}`]: `${MARK}-garbage` },
    };
  });
  // A garbage SR (sizes are secrets, not numbers) and a broken PBD, so that every receiver has errors to search.
  fixture.srs!['OpaqueRef:sr-garbage'] = {
    uuid: 'c0000000-0000-4000-8000-0000000000fe',
    name_label: 'garbage',
    type: 'nfs',
    shared: true,
    physical_size: `${MARK}-size` as unknown as number,
    physical_utilisation: `${MARK}-used` as unknown as number,
    other_config: { token: `${MARK}-garbage-other` },
  };
  // A broken PBD too, so that errors exist and can be searched.
  fixture.pbds!['OpaqueRef:pbd-dangling'] = {
    uuid: 'd0000000-0000-4000-8000-0000000000ff',
    host: 'OpaqueRef:host-gone',
    SR: 'OpaqueRef:sr-000',
    device_config: plantedDeviceConfig('dangling'),
  };
  return fixture;
}


/** Everything an error could print: message, stack, code, item, details, and the same for its causes. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return JSON.stringify(err) ?? String(err);
  const e = err as Error & { code?: unknown; item?: unknown; details?: unknown };
  const parts = [e.message, e.stack ?? '', String(e.code ?? ''), String(e.item ?? ''), JSON.stringify(e.details ?? {})];
  if (e.cause !== undefined) parts.push(errorText(e.cause));
  return parts.join('\n');
}

/**
 * What a batch emits that its receiver's catalogue does not declare: unknown metrics, point attributes not in
 * the metric's `attributes`, resource attributes not in any declared resource. Empty when consistent.
 */
export function undeclaredInBatch(
  batch: {
    resources: readonly {
      resource: Readonly<Record<string, unknown>>;
      metrics: readonly { definition: { name: string }; series: readonly { attributes: Readonly<Record<string, unknown>> }[] }[];
    }[];
  },
  catalogue: {
    metrics: Readonly<Record<string, { attributes: readonly string[] }>>;
    resources: readonly { attributes: readonly string[] }[];
  },
): string[] {
  const problems = new Set<string>();
  const resourceKeys = new Set(catalogue.resources.flatMap((r) => r.attributes));
  for (const resource of batch.resources) {
    for (const key of Object.keys(resource.resource)) if (!resourceKeys.has(key)) problems.add(`resource attribute ${key}`);
    for (const metric of resource.metrics) {
      const declared = catalogue.metrics[metric.definition.name];
      if (!declared) {
        problems.add(`metric ${metric.definition.name}`);
        continue;
      }
      for (const series of metric.series) {
        for (const key of Object.keys(series.attributes)) {
          if (!declared.attributes.includes(key)) problems.add(`${metric.definition.name} attribute ${key}`);
        }
      }
    }
  }
  return [...problems].sort();
}
