// Defaults and validation of SimulatorOptions, and what a given xapi version reports about itself.
import { AgentError } from '../plugin-api/errors.ts';
import type { SimulatorOptions, SimUser } from './api.ts';

export const VERSION_PRESETS: Readonly<Record<string, string>> = {
  current: '26.17.0',
  'xcp-ng-8.3': '26.4.0',
  'ch-8.2': '1.249.0',
};

/** Fake credentials: printed in the ready line, so never real secrets. */
export const DEFAULT_USERS: readonly SimUser[] = [
  { username: 'root', password: 'sim-root-password', role: 'pool-admin' },
  { username: 'monitor', password: 'sim-monitor-password', role: 'read-only' },
];

export function resolveXapiVersion(v: string): string {
  const resolved = VERSION_PRESETS[v] ?? v;
  if (!/^\d+\.\d+\.\d+$/.test(resolved)) {
    throw new AgentError('SIM_ERR_BAD_OPTION', `xapiVersion must be x.y.z or one of ${Object.keys(VERSION_PRESETS).join(', ')}`, {
      details: { xapiVersion: v },
    });
  }
  return resolved;
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function defaultOptions(): SimulatorOptions {
  return {
    hosts: 3,
    vmsPerHost: 4,
    seed: 1,
    xapiVersion: 'current',
    tls: true,
    timeScale: 1,
    port: 0,
    addressPrefix: '127.0.0',
    minMaxRras: false,
    historySeconds: 600,
    users: DEFAULT_USERS.map((u) => ({ ...u })),
    dynamics: { enabled: true, meanIntervalSeconds: 30 },
    adminPort: 0,
    sessionIdleTimeoutSeconds: 86400,
    authFailureDelayMs: 5000,
  };
}

export function resolveOptions(partial: Partial<SimulatorOptions>): SimulatorOptions {
  const d = defaultOptions();
  const o: SimulatorOptions = { ...d, ...stripUndefined(partial), dynamics: { ...d.dynamics, ...(partial.dynamics ?? {}) } };
  o.xapiVersion = resolveXapiVersion(o.xapiVersion);
  const bad = (field: string, value: unknown, expected: string): never => {
    throw new AgentError('SIM_ERR_BAD_OPTION', `${field} is invalid, expected ${expected} (actual: '${String(value)}')`, { details: { field } });
  };
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > 250) bad('hosts', o.hosts, 'an integer 1..250');
  if (!Number.isInteger(o.vmsPerHost) || o.vmsPerHost < 0 || o.vmsPerHost > 1000) bad('vmsPerHost', o.vmsPerHost, 'an integer 0..1000');
  if (!(o.timeScale > 0) || !Number.isFinite(o.timeScale)) bad('timeScale', o.timeScale, 'a number > 0');
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) bad('port', o.port, 'a port number');
  if (!/^127\.\d{1,3}\.\d{1,3}$/.test(o.addressPrefix)) bad('addressPrefix', o.addressPrefix, 'three octets inside 127.0.0.0/8');
  if (!(o.dynamics.meanIntervalSeconds > 0)) bad('dynamics.meanIntervalSeconds', o.dynamics.meanIntervalSeconds, 'a number > 0');
  if (o.users.length === 0) bad('users', '[]', 'at least one user');
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `host.software_version` and API version for the simulated xapi package version. */
export function softwareVersionFor(xapiVersion: string, hostname: string): { sv: Record<string, string>; apiMinor: number } {
  const old = compareVersions(xapiVersion, '22.9.0') < 0;
  if (old) {
    // Shape of the real CH 8.2.0 record (samples/dd_ch82_host_get_all_records.pyrepr.txt).
    return {
      apiMinor: 15,
      sv: {
        product_version: '8.2.0', product_version_text: '8.2', product_version_text_short: '8.2', platform_name: 'XCP',
        platform_version: '3.2.0', product_brand: 'XCP-ng', build_number: 'release/stockholm/master/7', xapi: '1.20',
        xen: '4.13.5-9.40', linux: '4.19.0+1', xencenter_min: '2.15', xencenter_max: '2.15', network_backend: 'openvswitch',
        db_schema: '5.602', hostname, date: '2020-06-12', dbv: '2020.0617',
      },
    };
  }
  const current = compareVersions(xapiVersion, '26.5.0') >= 0;
  return {
    apiMinor: current ? 24 : 21,
    sv: {
      product_version: current ? '8.4.0' : '8.3.0', product_version_text: current ? '8.4' : '8.3',
      product_version_text_short: current ? '8.4' : '8.3', platform_name: 'XCP', platform_version: current ? '3.5.0' : '3.4.0',
      product_brand: 'XCP-ng', build_number: 'release/yangtze/master/58', hostname, date: '2026-01-15', dbv: '0.0.1',
      xapi: '24.4', xapi_build: xapiVersion, xen: '4.17.5-13', linux: '4.19.0+1', xencenter_min: '2.21', xencenter_max: '2.24',
      network_backend: 'openvswitch', db_schema: '5.786',
    },
  };
}
