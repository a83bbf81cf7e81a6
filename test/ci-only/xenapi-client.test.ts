// CI-only: the official XenAPI Python package (PyPI `XenAPI`, unmodified, in a venv made by `.ci/run`) against the
// embedded simulator over HTTPS, trusting only the simulator's CA. The Python side (python/xenapi_probe.py) prints
// what the package saw as JSON; the assertions live here. Also raw HTTP checks of /rrd_updates status lines,
// headers and bodies (shared/notes/xapi.md §1.1-1.4) with node:https, byte-level where xapi is byte-level.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.ts';
import { underCi } from './support/processes.ts';

const PYTHON = process.env['XENAPI_PYTHON'];
const PROBE = fileURLToPath(new URL('./python/xenapi_probe.py', import.meta.url));
const HOSTS = 3;
const VMS_PER_HOST = 4;
const AUTH_FAILURE_DELAY_MS = 150;

// ---- what the probe prints (see python/xenapi_probe.py) ---------------------------------------------------------
interface Outcome<T> {
  raised: string | null;
  value?: T;
  details?: string[];
  message?: string;
  elapsed_ms: number;
}
interface ProbeVm {
  ref: string;
  uuid: string;
  name_label: string;
  power_state: string;
  is_a_template: boolean;
  is_a_snapshot: boolean;
  is_control_domain: boolean;
  resident_on: string;
  domid: string;
  memory_static_max: string;
  VCPUs_max: string;
  types: Record<string, string | null>;
}
interface ProbeHost {
  ref: string;
  uuid: string;
  name_label: string;
  address: string;
  enabled: boolean;
  API_version_major: string;
  resident_VMs: number;
  xapi_build: string | null;
  types: Record<string, string | null>;
}
interface ProbePool {
  ref: string;
  uuid: string;
  name_label: string;
  master: string;
  types: Record<string, string | null>;
}
interface ProbeEvents {
  token: string;
  events: number;
  classes: string[];
  operations: string[];
  keys: string[];
}
interface ProbeReport {
  xenapi_version: string;
  python: string;
  untrusted_login: Outcome<unknown>;
  login: Outcome<unknown>;
  handle_is_opaque_ref: boolean;
  vms: Outcome<ProbeVm[]>;
  hosts: Outcome<ProbeHost[]>;
  pools: Outcome<ProbePool[]>;
  event_from_first: Outcome<ProbeEvents>;
  event_from_next: Outcome<ProbeEvents>;
  event_from_bad_token: Outcome<ProbeEvents>;
  logout: Outcome<unknown>;
  call_after_logout: Outcome<{ Status: string; ErrorDescription0: string; handle_echoed: boolean }>;
  slave_login: Outcome<unknown>;
  wrong_password: Outcome<unknown>;
}

function runProbe(python: string, config: object, caFile: string): Promise<ProbeReport> {
  return new Promise((resolve, reject) => {
    execFile(
      python,
      [PROBE, JSON.stringify(config)],
      { env: { ...process.env, SSL_CERT_FILE: caFile, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 90_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`xenapi_probe.py failed: ${err.message}\n${stderr}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as ProbeReport);
        } catch (e) {
          reject(new Error(`xenapi_probe.py printed no JSON: ${String(e)}\nstdout: ${stdout}\nstderr: ${stderr}`, { cause: e }));
        }
      },
    );
  });
}

// ---- raw HTTPS ------------------------------------------------------------------------------------------------------
interface RawResponse {
  status: number;
  statusMessage: string;
  httpVersion: string;
  /** Header name → value, names as the server cased them. */
  headers: Record<string, string>;
  body: string;
}

function httpsCall(url: string, ca: Buffer, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers[res.rawHeaders[i]!] = res.rawHeaders[i + 1]!;
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          httpVersion: res.httpVersion,
          headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

async function xmlRpcLogin(url: string, ca: Buffer, username: string, password: string): Promise<string> {
  const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const body =
    '<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params>' +
    [username, password, '1.0', 'xen-otel-agent-ci'].map((p) => `<param><value><string>${escape(p)}</string></value></param>`).join('') +
    '</params></methodCall>';
  const res = await httpsCall(`${url}/`, ca, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  const ref = /<name>Value<\/name><value>(OpaqueRef:[^<]+)<\/value>/.exec(res.body)?.[1];
  if (res.status !== 200 || ref === undefined) throw new Error(`login failed: HTTP ${res.status}`);
  return ref;
}

function headerNamed(res: RawResponse, name: string): string | undefined {
  const key = Object.keys(res.headers).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : res.headers[key];
}

// ---- the suites ------------------------------------------------------------------------------------------------------

if (PYTHON === undefined || PYTHON === '') {
  describe('XenAPI Python client (official package) against the simulator', () => {
    it.runIf(underCi())('needs XENAPI_PYTHON', () => {
      expect.fail('XENAPI_PYTHON is not set: under CI, .ci/run creates a venv with the XenAPI package and exports it. Locally: see docs/testing.md.');
    });
    it.skipIf(underCi())('skipped: set XENAPI_PYTHON to a python that has the XenAPI package (see docs/testing.md)', () => {});
  });
} else {
  const python = PYTHON;

  describe('XenAPI Python client (official package) against the simulator', () => {
    let sim: RunningSimulator;
    let report: ProbeReport;

    beforeAll(async () => {
      sim = await startSimulator({
        hosts: HOSTS,
        vmsPerHost: VMS_PER_HOST,
        seed: 20_251,
        tls: true,
        authFailureDelayMs: AUTH_FAILURE_DELAY_MS,
        dynamics: { enabled: false, meanIntervalSeconds: 30 },
        adminPort: null,
      });
      const info = sim.info;
      const user = info.users[0]!;
      const slave = info.hosts.find((h) => !h.master);
      expect(info.ca_file, 'the simulator runs with TLS and writes its CA').toBeTruthy();
      report = await runProbe(
        python,
        { master_url: info.master_url, slave_url: slave?.url ?? null, username: user.username, password: user.password, wrong_password: `${user.password}-wrong` },
        info.ca_file!,
      );
    });

    afterAll(async () => {
      await sim?.stop();
    });

    it('is the pinned official package', () => {
      expect(report.xenapi_version).toMatch(/^\d+\.\d+\.\d+$/);
    });

    it('verifies the certificate: a client that trusts no CA cannot log in', () => {
      expect(report.untrusted_login.raised).toBe('SSLCertVerificationError');
    });

    it('logs in with login_with_password(user, pw, "1.0", originator) and gets an OpaqueRef', () => {
      expect(report.login.raised).toBeNull();
      expect(report.handle_is_opaque_ref).toBe(true);
    });

    it('lists VM.get_all_records with ints as strings and the right counts', () => {
      expect(report.vms.raised).toBeNull();
      const vms = report.vms.value!;
      const hostRefs = new Set(report.hosts.value!.map((h) => h.ref));
      const guests = vms.filter((v) => !v.is_a_template && !v.is_a_snapshot && !v.is_control_domain);
      const dom0s = vms.filter((v) => v.is_control_domain);
      // vmsPerHost running guests on each host (the topology adds a few halted ones besides).
      const running = guests.filter((v) => v.power_state === 'Running');
      expect(running).toHaveLength(HOSTS * VMS_PER_HOST);
      for (const ref of hostRefs) expect(running.filter((v) => v.resident_on === ref)).toHaveLength(VMS_PER_HOST);
      expect(dom0s).toHaveLength(HOSTS);
      for (const vm of vms) {
        expect(vm.ref).toMatch(/^OpaqueRef:/);
        expect(vm.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        // XML-RPC carries XAPI ints as strings; bools as <boolean>; maps as structs; sets as arrays.
        expect(vm.types).toMatchObject({
          uuid: 'str', name_label: 'str', power_state: 'str', domid: 'str', memory_static_max: 'str', VCPUs_max: 'str',
          is_a_template: 'bool', is_control_domain: 'bool', resident_on: 'str', other_config: 'dict', VBDs: 'list', VIFs: 'list',
        });
        expect(vm.domid).toMatch(/^-?\d+$/);
        expect(vm.memory_static_max).toMatch(/^\d+$/);
        expect(['Halted', 'Paused', 'Running', 'Suspended']).toContain(vm.power_state);
        if (vm.power_state === 'Running') expect(hostRefs.has(vm.resident_on), `${vm.name_label} resident on a host`).toBe(true);
        if (vm.power_state === 'Halted') {
          expect(vm.resident_on).toBe('OpaqueRef:NULL');
          expect(vm.domid).toBe('-1');
        }
      }
      for (const d of dom0s) {
        expect(d.domid).toBe('0');
        expect(d.power_state).toBe('Running');
      }
      expect(new Set(dom0s.map((d) => d.resident_on))).toEqual(hostRefs);
    });

    it('lists host.get_all_records matching the simulator topology', () => {
      expect(report.hosts.raised).toBeNull();
      const hosts = report.hosts.value!;
      expect(hosts.map((h) => h.uuid).sort()).toEqual(sim.info.hosts.map((h) => h.uuid).sort());
      for (const h of hosts) {
        const simHost = sim.info.hosts.find((s) => s.uuid === h.uuid)!;
        expect(h.address).toBe(simHost.address);
        expect(h.types).toMatchObject({ enabled: 'bool', API_version_major: 'str', API_version_minor: 'str', memory_overhead: 'str', software_version: 'dict', resident_VMs: 'list' });
        expect(h.API_version_major).toBe('2');
        expect(h.resident_VMs).toBeGreaterThanOrEqual(1); // at least dom0
      }
    });

    it('lists pool.get_all_records: one pool whose master is the master host', () => {
      expect(report.pools.raised).toBeNull();
      const pools = report.pools.value!;
      expect(pools).toHaveLength(1);
      const pool = pools[0]!;
      expect(pool.uuid).toBe(sim.info.pool_uuid);
      expect(pool.name_label).toBe(sim.info.pool_name);
      const master = report.hosts.value!.find((h) => h.ref === pool.master);
      expect(master?.uuid).toBe(sim.info.hosts.find((h) => h.master)!.uuid);
      expect(pool.types).toMatchObject({ master: 'str', other_config: 'dict', ha_enabled: 'bool' });
    });

    it('gets HOST_IS_SLAVE with the master address when logging in to a slave', () => {
      const master = sim.info.hosts.find((h) => h.master)!;
      expect(report.slave_login.raised).toBe('XenAPI.Failure');
      expect(report.slave_login.details).toEqual(['HOST_IS_SLAVE', master.address]);
    });

    it('gets SESSION_AUTHENTICATION_FAILED for a wrong password, after the configured delay', () => {
      expect(report.wrong_password.raised).toBe('XenAPI.Failure');
      expect(report.wrong_password.details?.[0]).toBe('SESSION_AUTHENTICATION_FAILED');
      expect(report.wrong_password.elapsed_ms).toBeGreaterThanOrEqual(AUTH_FAILURE_DELAY_MS - 20);
    });

    it('follows event.from with a token', () => {
      expect(report.event_from_first.raised).toBeNull();
      const first = report.event_from_first.value!;
      expect(first.keys).toEqual(expect.arrayContaining(['events', 'token', 'valid_ref_counts']));
      // Empty token: every current object of the subscribed classes.
      expect(first.events).toBeGreaterThanOrEqual(HOSTS + HOSTS * VMS_PER_HOST + HOSTS);
      expect(first.classes).toEqual(['host', 'vm']);
      expect(first.token).toMatch(/^\d+,\d+$/);

      expect(report.event_from_next.raised).toBeNull();
      const next = report.event_from_next.value!;
      expect(next.token >= first.token, 'tokens compare lexicographically and never go back').toBe(true);
      // Dynamics are off: nothing changes, so the call blocks for its timeout (1 s) and returns no event.
      expect(next.events).toBe(0);
      expect(report.event_from_next.elapsed_ms).toBeGreaterThanOrEqual(900);

      expect(report.event_from_bad_token.raised).toBe('XenAPI.Failure');
      expect(report.event_from_bad_token.details?.[0]).toBe('EVENT_FROM_TOKEN_PARSE_FAILURE');
    });

    it('logs out; the old session is then SESSION_INVALID', () => {
      expect(report.logout.raised).toBeNull();
      expect(report.call_after_logout.raised).toBeNull();
      expect(report.call_after_logout.value).toEqual({ Status: 'Failure', ErrorDescription0: 'SESSION_INVALID', handle_echoed: true });
    });
  });
}

// Raw HTTP: no Python needed, but the suite is about the wire as real clients see it, next to the XenAPI checks.
describe('/rrd_updates over raw HTTPS (status lines, headers, bodies)', () => {
  let sim: RunningSimulator;
  let ca: Buffer;
  let session: string;

  beforeAll(async () => {
    sim = await startSimulator({ hosts: 2, vmsPerHost: 2, seed: 5, tls: true, dynamics: { enabled: false, meanIntervalSeconds: 30 }, adminPort: null, authFailureDelayMs: 50 });
    ca = readFileSync(sim.info.ca_file!);
    const user = sim.info.users[0]!;
    session = await xmlRpcLogin(sim.info.master_url, ca, user.username, user.password);
  });

  afterAll(async () => {
    await sim?.stop();
  });

  const startParam = (): number => Math.floor(sim.now() / 1000) - 60;

  it('answers 400 Bad Request with no body when start is missing', async () => {
    const res = await httpsCall(`${sim.info.master_url}/rrd_updates?session_id=${encodeURIComponent(session)}&host=true`, ca);
    expect(res.status).toBe(400);
    expect(res.statusMessage).toBe('Bad Request');
    expect(headerNamed(res, 'connection')).toBe('close');
    expect(headerNamed(res, 'cache-control')).toBe('no-cache, no-store');
    expect(res.body).toBe('');
  });

  it('answers the 401 Unauthorised page without credentials', async () => {
    const res = await httpsCall(`${sim.info.master_url}/rrd_updates?start=${startParam()}&host=true`, ca);
    expect(res.status).toBe(401);
    expect(res.statusMessage).toBe('Unauthorised');
    expect(res.headers).toMatchObject({
      'content-type': 'text/html',
      connection: 'close',
      'cache-control': 'no-cache, no-store',
      'WWW-Authenticate': 'Basic realm="rrd_updates"',
    });
    expect(res.body).toBe('<html><body><h1>HTTP 401 unauthorised</h1>Please check your credentials and retry.</body></html>');
    expect(headerNamed(res, 'content-length')).toBe('96');
  });

  it('answers 401 for an unknown session too', async () => {
    const res = await httpsCall(`${sim.info.master_url}/rrd_updates?session_id=OpaqueRef%3Anope&start=${startParam()}&host=true`, ca);
    expect(res.status).toBe(401);
  });

  it('negotiates JSON with Accept: application/json (current dialect: numbers as strings)', async () => {
    const res = await httpsCall(`${sim.info.master_url}/rrd_updates?session_id=${encodeURIComponent(session)}&start=${startParam()}&cf=AVERAGE&interval=5&host=true`, ca, {
      headers: { Accept: 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'application/json', 'Cache-Control': 'no-cache, no-store', 'Access-Control-Allow-Origin': '*' });
    expect(Number(headerNamed(res, 'content-length'))).toBe(Buffer.byteLength(res.body));
    const doc = JSON.parse(res.body) as { meta: { step: string; rows: string; columns: string; legend: string[] }; data: { t: string; values: string[] }[] };
    expect(doc.meta.step).toBe('5');
    expect(Number(doc.meta.columns)).toBe(doc.meta.legend.length);
    expect(Number(doc.meta.rows)).toBe(doc.data.length);
    expect(doc.data.length).toBeGreaterThan(0);
    const master = sim.info.hosts.find((h) => h.master)!;
    expect(doc.meta.legend).toContain(`AVERAGE:host:${master.uuid}:memory_total_kib`);
    for (const row of doc.data) {
      expect(row.t).toMatch(/^\d+$/);
      expect(Number(row.t) % 5).toBe(0);
      expect(row.values).toHaveLength(doc.meta.legend.length);
      for (const v of row.values) expect(typeof v).toBe('string');
    }
    // Newest row first.
    const times = doc.data.map((r) => Number(r.t));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('answers XML with Accept: text/xml, even with ?json', async () => {
    const res = await httpsCall(`${sim.info.master_url}/rrd_updates?session_id=${encodeURIComponent(session)}&start=${startParam()}&cf=AVERAGE&interval=5&host=true&json=true`, ca, {
      headers: { Accept: 'text/xml' },
    });
    expect(res.status).toBe(200);
    expect(headerNamed(res, 'content-type')).toBe('text/xml');
    expect(res.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<xport><meta><start>')).toBe(true);
    expect(res.body).toMatch(/<step>5<\/step>/);
    expect(res.body.endsWith('</xport>')).toBe(true);
  });

  it('answers JSON for Accept: */* and XML with no Accept and no ?json', async () => {
    const base = `${sim.info.master_url}/rrd_updates?session_id=${encodeURIComponent(session)}&start=${startParam()}&host=true`;
    const any = await httpsCall(base, ca, { headers: { Accept: '*/*' } });
    expect(headerNamed(any, 'content-type')).toBe('application/json');
    expect(() => JSON.parse(any.body) as unknown).not.toThrow();
    const none = await httpsCall(base, ca);
    expect(headerNamed(none, 'content-type')).toBe('text/xml');
    expect(none.body.startsWith('<?xml')).toBe(true);
  });
});
