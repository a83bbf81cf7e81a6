// The simulated pool over real loopback sockets: XenAPI semantics, sessions, events, faults, failover, RRD HTTP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../src/simulator/index.ts';
import { call, eventually, login, request, value, type Param } from './helpers.ts';

const BASE = { tls: false, hosts: 3, vmsPerHost: 3, seed: 7, authFailureDelayMs: 60, adminPort: null, dynamics: { enabled: false, meanIntervalSeconds: 30 } } as const;

let sim: RunningSimulator;
let master: string;
let slave: string;
beforeEach(async () => {
  sim = await startSimulator({ ...BASE });
  master = sim.info.master_url;
  slave = sim.info.hosts[1]?.url ?? '';
});
afterEach(async () => {
  await sim.stop();
});

function hostUuid(i: number): string {
  return sim.info.hosts[i]?.uuid ?? '';
}

describe('XenAPI over XML-RPC', () => {
  it('answers login with xapi bytes and headers', async () => {
    const body = '<?xml version="1.0"?><methodCall><methodName>session.login_with_password</methodName><params><param><value><string>root</string></value></param><param><value>sim-root-password</value></param></params></methodCall>';
    const res = await request(`${master}/RPC2`, { method: 'POST', body });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^<\?xml version="1\.0"\?><methodResponse><params><param><value><struct><member><name>Status<\/name><value>Success<\/value><\/member><member><name>Value<\/name><value>OpaqueRef:[0-9a-f-]{36}<\/value><\/member><\/struct><\/value><\/param><\/params><\/methodResponse>$/);
    expect(res.rawHeaders).toEqual([
      'Content-Length', String(Buffer.byteLength(res.body)), 'content-type', 'text/xml', 'Access-Control-Allow-Origin', '*',
      'Access-Control-Allow-Headers', 'X-Requested-With', 'Connection', 'keep-alive',
    ]);
  });

  it('fails authentication after the configured delay, with [user, msg]', async () => {
    const t0 = performance.now();
    const r = await call(master, 'session.login_with_password', ['root', 'wrong']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(r).toEqual({ Status: 'Failure', ErrorDescription: ['SESSION_AUTHENTICATION_FAILED', 'root', 'Authentication failure'] });
  });

  it('sends slaves away with HOST_IS_SLAVE [master address], after checking the session (Session_check)', async () => {
    expect((await call(slave, 'session.login_with_password', ['root', 'sim-root-password'])).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.2']);
    expect((await call(slave, 'session.login_with_password', ['root', 'wrong'])).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.2']);
    const s = await login(master);
    // A valid pool session is not served (nor forwarded) by a slave, whatever the call…
    const calls: Array<[string, Param[]]> = [['VM.get_all', [s]], ['event.from', [s, ['vm'], '', 1]], ['event.inject', [s, 'pool', 'OpaqueRef:x']], ['session.logout', [s]]];
    for (const [method, params] of calls) expect((await call(slave, method, params)).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.2']);
    // …even one RBAC would refuse (the slave check comes first)…
    const ro = await login(master, 'monitor', 'sim-monitor-password');
    expect((await call(slave, 'pool.set_name_label', [ro, 'OpaqueRef:x', 'y'])).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.2']);
    // …while an unknown session is SESSION_INVALID on a slave too; method and arity errors come before both.
    expect((await call(slave, 'VM.get_all', ['OpaqueRef:nope'])).ErrorDescription).toEqual(['SESSION_INVALID', 'OpaqueRef:nope']);
    expect((await call(slave, 'VM.nope', [s])).ErrorDescription).toEqual(['MESSAGE_METHOD_UNKNOWN', 'VM.nope']);
    expect((await call(slave, 'VM.get_all', [s, 'x'])).ErrorDescription).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.get_all', '1', '2']);
    // The session logged out on the slave attempt above is still alive on the master.
    expect((await call(master, 'VM.get_all', [s])).Status).toBe('Success');
  });

  it('invalidates sessions on logout and by the admin', async () => {
    const s = await login(master);
    expect((await call(master, 'session.logout', [s])).Status).toBe('Success');
    expect((await call(master, 'pool.get_all', [s])).ErrorDescription).toEqual(['SESSION_INVALID', s]);
    const s2 = await login(master, 'monitor', 'sim-monitor-password');
    sim.admin.invalidateSessions();
    expect((await call(master, 'pool.get_all', [s2])).ErrorDescription).toEqual(['SESSION_INVALID', s2]);
  });

  it('serves every field generically and checks handles, uuids, methods and arity', async () => {
    const s = await login(master, 'monitor', 'sim-monitor-password');
    const vms = (await value(master, 'VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    const [ref, rec] = Object.entries(vms).find(([, r]) => r['is_control_domain'] === false && r['power_state'] === 'Running') ?? [];
    expect(ref).toBeDefined();
    expect(await value(master, 'VM.get_name_label', [s, ref ?? ''])).toBe(rec?.['name_label']);
    expect(await value(master, 'VM.get_domid', [s, ref ?? ''])).toBe(rec?.['domid']);
    expect(await value(master, 'VM.get_record', [s, ref ?? ''])).toEqual(rec);
    expect(await value(master, 'VM.get_by_uuid', [s, String(rec?.['uuid'])])).toBe(ref);
    expect(await value(master, 'VM.get_by_name_label', [s, String(rec?.['name_label'])])).toEqual([ref]);
    expect((await call(master, 'VM.get_record', [s, 'OpaqueRef:nope'])).ErrorDescription).toEqual(['HANDLE_INVALID', 'VM', 'OpaqueRef:nope']);
    expect((await call(master, 'SR.get_by_uuid', [s, 'nope'])).ErrorDescription).toEqual(['UUID_INVALID', 'SR', 'nope']);
    expect((await call(master, 'VM.frobnicate', [s])).ErrorDescription).toEqual(['MESSAGE_METHOD_UNKNOWN', 'VM.frobnicate']);
    expect((await call(master, 'VM.get_all', [s, 'x'])).ErrorDescription).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'VM.get_all', '1', '2']);
    // Host address and management PIF IP are the listening address.
    const hosts = (await value(master, 'host.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    for (const [href, h] of Object.entries(hosts)) {
      const pif = await value(master, 'host.get_management_interface', [s, href]);
      expect(await value(master, 'PIF.get_IP', [s, String(pif)])).toBe(h['address']);
      expect(sim.info.hosts.map((x) => x.address)).toContain(h['address']);
    }
  });

  it('get_all_records stays exact after changes (cached response rebuilt from unchanged and re-encoded records)', async () => {
    const s = await login(master);
    const before = (await value(master, 'VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    const guests = Object.values(before).filter((r) => r['power_state'] === 'Running' && r['is_control_domain'] === false);
    sim.admin.triggerDynamics('rename', String(guests[0]?.['uuid']));
    sim.admin.triggerDynamics('hotplug', String(guests[1]?.['uuid']));
    sim.admin.triggerDynamics('vm_stop', String(guests[2]?.['uuid']));
    const after = (await value(master, 'VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    expect(Object.keys(after).sort()).toEqual(Object.keys(before).sort());
    let changed = 0;
    for (const [ref, rec] of Object.entries(after)) {
      expect(rec).toEqual(await value(master, 'VM.get_record', [s, ref]));
      if (JSON.stringify(rec) !== JSON.stringify(before[ref])) changed++;
    }
    expect(changed).toBeGreaterThanOrEqual(3);
    // Byte-identical to the same call made again (served from the cache).
    const raw = async (): Promise<string> => (await request(`${master}/`, { method: 'POST', body: `<methodCall><methodName>VM.get_all_records</methodName><params><param><value>${s}</value></param></params></methodCall>` })).body;
    expect(await raw()).toBe(await raw());
  });

  it('keeps int64 as strings and dom0 as a control domain in the raw bytes', async () => {
    const s = await login(master);
    const res = await request(`${master}/`, { method: 'POST', body: `<methodCall><methodName>VM.get_all_records</methodName><params><param><value>${s}</value></param></params></methodCall>` });
    expect(res.body).toContain('<member><name>domid</name><value>0</value></member>');
    expect(res.body).toContain('<member><name>is_control_domain</name><value><boolean>1</boolean></value></member>');
    expect(res.body).toContain('<member><name>HVM_shadow_multiplier</name><value><double>1</double></value></member>');
    expect(res.body).not.toContain('<string>');
  });

  it('denies writes to a read-only user and lets an admin write (with an event)', async () => {
    const ro = await login(master, 'monitor', 'sim-monitor-password');
    const [poolRef] = (await value(master, 'pool.get_all', [ro])) as string[];
    expect((await call(master, 'pool.set_name_label', [ro, poolRef ?? '', 'x'])).ErrorDescription).toEqual([
      'RBAC_PERMISSION_DENIED', 'pool.set_name_label', 'No permission in user session. (Roles with this permission: pool-admin, pool-operator)',
    ]);
    const root = await login(master);
    const first = (await value(master, 'event.from', [root, ['pool'], '', 1])) as { token: string };
    expect(await value(master, 'pool.set_name_label', [root, poolRef ?? '', 'renamed'])).toBe('');
    const next = (await value(master, 'event.from', [root, ['pool'], first.token, 5])) as { events: Array<Record<string, unknown>> };
    expect(next.events).toHaveLength(1);
    expect(next.events[0]).toMatchObject({ class: 'pool', operation: 'mod', ref: poolRef, timestamp: '0.0' });
    expect((next.events[0]?.['snapshot'] as Record<string, unknown>)['name_label']).toBe('renamed');
  });

  it('follows simulated time (and clock skew) in host.get_servertime', async () => {
    const s = await login(master);
    const [h] = (await value(master, 'host.get_all', [s])) as string[];
    // Bracketed by the simulated clock read just before and after each call (the answer has second resolution): no
    // tolerance that a slow round trip on a loaded machine could exceed.
    const servertime = async (): Promise<{ before: number; t: string; after: number }> => {
      const before = sim.now();
      const t = String(await value(master, 'host.get_servertime', [s, h ?? '']));
      return { before, t, after: sim.now() };
    };
    const parse = (x: string): number => Date.UTC(+x.slice(0, 4), +x.slice(4, 6) - 1, +x.slice(6, 8), +x.slice(9, 11), +x.slice(12, 14), +x.slice(15, 17));
    const plain = await servertime();
    expect(plain.t).toMatch(/^\d{8}T\d{2}:\d{2}:\d{2}Z$/);
    expect(parse(plain.t)).toBeGreaterThanOrEqual(Math.floor(plain.before / 1000) * 1000);
    expect(parse(plain.t)).toBeLessThanOrEqual(plain.after);
    sim.admin.setFault(hostUuid(0), { kind: 'clock_skew', seconds: 3600 });
    const skewed = await servertime();
    expect(parse(skewed.t) - 3600_000).toBeGreaterThanOrEqual(Math.floor(skewed.before / 1000) * 1000);
    expect(parse(skewed.t) - 3600_000).toBeLessThanOrEqual(skewed.after);
  });
});

describe('event.from', () => {
  it('returns all objects for "", then add/mod/del from dynamics, and times out empty', async () => {
    const s = await login(master);
    const all = (await value(master, 'event.from', [s, ['vm', 'vbd', 'vif'], '', 1])) as { events: Array<Record<string, unknown>>; token: string; valid_ref_counts: Record<string, number> };
    expect(all.token).toMatch(/^\d{20},\d{20}$/);
    expect(all.events.every((e) => e['operation'] === 'add')).toBe(true);
    expect(all.events.filter((e) => e['class'] === 'vm')).toHaveLength(all.valid_ref_counts['VM'] ?? -1);

    const vm = all.events.find((e) => e['class'] === 'vm' && (e['snapshot'] as Record<string, unknown>)['power_state'] === 'Running' && (e['snapshot'] as Record<string, unknown>)['is_control_domain'] === false);
    const vmUuid = String((vm?.['snapshot'] as Record<string, unknown>)['uuid']);
    const waiting = value(master, 'event.from', [s, ['vm', 'vbd', 'vif'], all.token, 10]);
    expect(sim.admin.triggerDynamics('hotplug', vmUuid)).toMatch(/^hotplug (vbd|vif) /);
    const plugged = (await waiting) as { events: Array<Record<string, unknown>>; token: string };
    const added = plugged.events.find((e) => e['operation'] === 'add');
    expect(added?.['class']).toMatch(/^(vbd|vif)$/);
    expect(plugged.events.some((e) => e['class'] === 'vm' && e['operation'] === 'mod')).toBe(true);

    sim.admin.triggerDynamics('unplug', vmUuid);
    const unplugged = (await value(master, 'event.from', [s, ['vm', 'vbd', 'vif'], plugged.token, 10])) as { events: Array<Record<string, unknown>>; token: string };
    const del = unplugged.events.find((e) => e['operation'] === 'del');
    expect(del).toMatchObject({ ref: added?.['ref'] });
    expect(del).not.toHaveProperty('snapshot');

    const t0 = performance.now();
    const empty = (await value(master, 'event.from', [s, ['vm'], unplugged.token, 0.3])) as { events: unknown[] };
    expect(empty.events).toEqual([]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect((await call(master, 'event.from', [s, ['vm'], 'bogus', 1])).ErrorDescription).toEqual(['EVENT_FROM_TOKEN_PARSE_FAILURE', 'bogus']);
  });

  it('event.inject returns a token taken before reading, from which event.from reports the touched object and later changes', async () => {
    const s = await login(master, 'monitor', 'sim-monitor-password');
    const [poolRef] = (await value(master, 'pool.get_all', [s])) as string[];
    const token = String(await value(master, 'event.inject', [s, 'pool', poolRef ?? '']));
    expect(token).toMatch(/^\d{20},0{20}$/);
    // The touch consumes two generations (Db_cache_types.touch); the token is the one before it.
    const after = (await value(master, 'event.from', [s, ['host'], token, 0])) as { token: string };
    expect(Number(after.token.split(',')[0]) - Number(token.split(',')[0])).toBe(2);
    const vms = (await value(master, 'VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    const [vmRef, vm] = Object.entries(vms).find(([, r]) => r['is_control_domain'] === false && r['power_state'] === 'Running') ?? [];
    // A change made after the token (while a client would be reading records) is not lost.
    sim.admin.triggerDynamics('rename', String(vm?.['uuid']));
    const batch = (await value(master, 'event.from', [s, ['pool', 'vm'], token, 5])) as { events: Array<Record<string, unknown>>; token: string };
    expect(batch.events).toContainEqual(expect.objectContaining({ class: 'pool', operation: 'mod', ref: poolRef }));
    expect(batch.events).toContainEqual(expect.objectContaining({ class: 'vm', operation: 'mod', ref: vmRef }));
    expect(batch.token > token).toBe(true);
    // The touch does not change the record.
    expect(((batch.events.find((e) => e['class'] === 'pool')?.['snapshot']) as Record<string, unknown>)['uuid']).toBe(sim.info.pool_uuid);
    // The class must be the table name exactly and the ref a row of it.
    expect((await call(master, 'event.inject', [s, 'Pool', poolRef ?? ''])).ErrorDescription).toEqual(['HANDLE_INVALID', 'Pool', poolRef]);
    expect((await call(master, 'event.inject', [s, 'VM', poolRef ?? ''])).ErrorDescription).toEqual(['HANDLE_INVALID', 'VM', poolRef]);
    expect((await call(master, 'event.inject', [s, 'pool', 'OpaqueRef:nope'])).ErrorDescription).toEqual(['HANDLE_INVALID', 'pool', 'OpaqueRef:nope']);
    expect((await call(master, 'event.inject', [s, 'pool'])).ErrorDescription).toEqual(['MESSAGE_PARAMETER_COUNT_MISMATCH', 'event.inject', '3', '2']);
  });

  it('moves VMs between hosts on start/stop/migrate and follows in resident_VMs', async () => {
    const s = await login(master);
    const vms = (await value(master, 'VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    const [ref, rec] = Object.entries(vms).find(([, r]) => r['power_state'] === 'Running' && r['is_control_domain'] === false && String(r['resident_on']) !== '') ?? [];
    const uuid = String(rec?.['uuid']);
    const from = String(rec?.['resident_on']);
    const dest = (await value(master, 'host.get_all', [s])) as string[];
    const destRef = dest.find((h) => h !== from) ?? '';
    const destUuid = String(await value(master, 'host.get_uuid', [s, destRef]));
    let migrated = true;
    try {
      sim.admin.triggerDynamics('vm_migrate', `${uuid}>${destUuid}`);
    } catch {
      migrated = false; // a VM with a local disk is not migratable (as in xapi)
    }
    if (migrated) {
      expect(await value(master, 'VM.get_resident_on', [s, ref ?? ''])).toBe(destRef);
      expect(await value(master, 'host.get_resident_VMs', [s, destRef])).toContain(ref);
      expect(await value(master, 'host.get_resident_VMs', [s, from])).not.toContain(ref);
    }
    sim.admin.triggerDynamics('vm_stop', uuid);
    expect(await value(master, 'VM.get_power_state', [s, ref ?? ''])).toBe('Halted');
    expect(await value(master, 'VM.get_domid', [s, ref ?? ''])).toBe('-1');
    sim.admin.triggerDynamics('vm_start', uuid);
    expect(await value(master, 'VM.get_power_state', [s, ref ?? ''])).toBe('Running');
    expect(await value(master, 'host.get_resident_VMs', [s, String(await value(master, 'VM.get_resident_on', [s, ref ?? '']))])).toContain(ref);
  });
});

describe('faults and failover', () => {
  it('down refuses connections and comes back after clearFaults', async () => {
    sim.admin.setFault(hostUuid(1), { kind: 'down' });
    await eventually(async () => {
      await expect(request(`${slave}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    });
    sim.admin.clearFaults(hostUuid(1));
    const res = await eventually(() => request(`${slave}/`));
    expect(res.status).toBe(404);
  });

  it('slow delays, hang never answers, http500 bursts N times', async () => {
    sim.admin.setFault(hostUuid(0), { kind: 'slow', delayMs: 150 });
    const t0 = performance.now();
    await login(master);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    sim.admin.clearFaults();

    sim.admin.setFault(hostUuid(1), { kind: 'hang' });
    await expect(request(`${slave}/rrd_updates?start=0`, { timeoutMs: 200 })).rejects.toMatchObject({ code: 'TEST_TIMEOUT' });
    sim.admin.clearFaults(hostUuid(1));

    sim.admin.setFault(hostUuid(0), { kind: 'http500', count: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await request(`${master}/`, { method: 'POST', body: '<methodCall><methodName>x</methodName></methodCall>' });
      expect(r.status).toBe(500);
      expect(r.statusMessage).toBe('Internal Error');
      expect(r.body).toMatch(/^<html><body><h1>HTTP 500 internal server error<\/h1>.*<\/body><\/html>$/);
    }
    expect((await call(master, 'x', [])).ErrorDescription).toEqual(['MESSAGE_METHOD_UNKNOWN', 'x']);
  });

  it('answers malformed XML-RPC with the HTTP 500 page', async () => {
    const r = await request(`${master}/`, { method: 'POST', body: '<methodCall><methodName>x</methodName><params>' });
    expect(r.status).toBe(500);
    expect(r.rawHeaders).toEqual(['content-length', String(Buffer.byteLength(r.body)), 'content-type', 'text/html', 'connection', 'close', 'cache-control', 'no-cache, no-store']);
  });

  it('serves XO Lite on GET / when asked', async () => {
    expect((await request(`${slave}/`)).status).toBe(404);
    sim.admin.setFault(hostUuid(1), { kind: 'xo_lite' });
    const r = await request(`${slave}/`);
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>XO Lite</title>');
  });

  it('fails over: pool.master changes with an event, the old master answers HOST_IS_SLAVE', async () => {
    const s = await login(master);
    const first = (await value(master, 'event.from', [s, ['pool'], '', 1])) as { token: string };
    sim.admin.failover(hostUuid(1));
    // The event loop continues against the new master with the token it had.
    const ev = (await value(slave, 'event.from', [s, ['pool'], first.token, 10])) as { events: Array<Record<string, unknown>> };
    const newMasterRef = (ev.events[0]?.['snapshot'] as Record<string, unknown>)['master'];
    expect(ev.events[0]).toMatchObject({ class: 'pool', operation: 'mod' });
    expect((await call(master, 'session.login_with_password', ['root', 'sim-root-password'])).ErrorDescription).toEqual(['HOST_IS_SLAVE', '127.0.0.3']);
    // The session from the old master stays valid pool-wide (it lives in the pool database).
    expect(await value(slave, 'host.get_uuid', [s, String(newMasterRef)])).toBe(hostUuid(1));
    expect(await login(slave)).toMatch(/^OpaqueRef:/);
  });
});

describe('RRD HTTP handlers', () => {
  it('401s bad credentials with xapi bytes, 400s a missing start, accepts cookie, query and Basic', async () => {
    const r401 = await request(`${slave}/rrd_updates?start=0&session_id=OpaqueRef:nope`);
    expect(r401.status).toBe(401);
    expect(r401.statusMessage).toBe('Unauthorised');
    expect(r401.body).toBe('<html><body><h1>HTTP 401 unauthorised</h1>Please check your credentials and retry.</body></html>');
    expect(Buffer.byteLength(r401.body)).toBe(96);
    expect(r401.rawHeaders).toEqual(['content-length', '96', 'content-type', 'text/html', 'connection', 'close', 'cache-control', 'no-cache, no-store', 'WWW-Authenticate', 'Basic realm="rrd_updates"']);
    const badBasic = await request(`${slave}/rrd_updates?start=0`, { headers: { authorization: `Basic ${Buffer.from('root:nope').toString('base64')}` } });
    expect(badBasic.status).toBe(401);

    const s = await login(master);
    const r400 = await request(`${slave}/rrd_updates?session_id=${encodeURIComponent(s)}&host=true`);
    expect(r400.status).toBe(400);
    expect(r400.body).toBe('');
    expect(r400.rawHeaders).toEqual(['Connection', 'close', 'Cache-Control', 'no-cache, no-store']);

    const start = Math.floor(sim.now() / 1000) - 30;
    const viaCookie = await request(`${slave}/rrd_updates?start=${start}&host=true&session_id=OpaqueRef:ignored`, { headers: { cookie: `session_id=${s}`, accept: 'text/xml' } });
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.body.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<xport>')).toBe(true);
    expect(viaCookie.body).toContain(`AVERAGE:host:${hostUuid(1)}:`);
    expect(viaCookie.body).not.toContain(`AVERAGE:host:${hostUuid(0)}:`);
    expect(viaCookie.rawHeaders).toEqual([
      'Connection', 'keep-alive', 'Content-Length', String(Buffer.byteLength(viaCookie.body)), 'Cache-Control', 'no-cache, no-store',
      'content-type', 'text/xml', 'Access-Control-Allow-Origin', '*', 'Access-Control-Allow-Headers', 'X-Requested-With',
    ]);
    const viaBasic = await request(`${slave}/rrd_updates?start=${start}&host=true`, { headers: { authorization: `Basic ${Buffer.from('monitor:sim-monitor-password').toString('base64')}`, accept: 'application/json' } });
    expect(viaBasic.status).toBe(200);
    expect(JSON.parse(viaBasic.body)).toHaveProperty('meta.step', '5');
  });

  it('stamps a skewed host\'s RRD rows with the same clock as host.get_servertime (xen-exporter #16)', async () => {
    const s = await login(master);
    const ref = String(await value(master, 'host.get_by_uuid', [s, hostUuid(1)]));
    const parse = (x: string): number => Date.UTC(+x.slice(0, 4), +x.slice(4, 6) - 1, +x.slice(6, 8), +x.slice(9, 11), +x.slice(12, 14), +x.slice(15, 17)) / 1000;
    interface Updates {
      meta: { start: string; end: string; rows: string; legend: string[] };
      data: Array<{ t: string; values: string[] }>;
    }
    const rrd = async (start: number): Promise<Updates> => {
      const r = await request(`${slave}/rrd_updates?session_id=${s}&start=${start}&host=true&cf=AVERAGE&interval=5`, { headers: { accept: 'application/json' } });
      expect(r.status).toBe(200);
      return JSON.parse(r.body) as Updates;
    };
    for (const skew of [120, -120]) {
      sim.admin.setFault(hostUuid(1), { kind: 'clock_skew', seconds: skew });
      const server = parse(String(await value(master, 'host.get_servertime', [s, ref])));
      const own = Math.floor(sim.now() / 1000);
      expect(Math.abs(server - own - skew)).toBeLessThanOrEqual(2);
      // Following the host's clock (as XO does) always gets the last minute, newest row within a step of its time.
      const good = await rrd(server - 60);
      expect(Number(good.meta.rows)).toBeGreaterThanOrEqual(12);
      expect(Number(good.meta.rows)).toBeLessThanOrEqual(13);
      expect(server - Number(good.meta.end)).toBeGreaterThanOrEqual(0);
      expect(server - Number(good.meta.end)).toBeLessThan(10);
      // The served values are the ground truth at the host's time stamps.
      const col = good.meta.legend.indexOf(`AVERAGE:host:${hostUuid(1)}:cpu_avg`);
      expect(col).toBeGreaterThanOrEqual(0);
      const row = good.data[1];
      expect(Number(row?.values[col])).toBeCloseTo(sim.rrdValue('host', hostUuid(1), 'cpu_avg', Number(row?.t)), 12);
      // Using the client's own clock instead: a host behind answers rows 0 with meta.start > meta.end (the
      // xen-exporter #16 payload); a host ahead answers the wrong window (rows up to 2 minutes "in the future").
      const naive = await rrd(own - 60);
      if (skew < 0) {
        expect(naive.meta).toMatchObject({ rows: '0' });
        expect(naive.data).toEqual([]);
        expect(Number(naive.meta.start)).toBeGreaterThan(Number(naive.meta.end));
      } else {
        expect(Number(naive.meta.rows)).toBeGreaterThan(30);
        expect(Number(naive.data[0]?.t) - own).toBeGreaterThan(100);
      }
    }
    // Other hosts keep the true clock.
    const start = Math.floor(sim.now() / 1000) - 60;
    const r = await request(`${master}/rrd_updates?session_id=${s}&start=${start}&host=true`, { headers: { accept: 'application/json' } });
    expect(Number((JSON.parse(r.body) as { meta: { rows: string } }).meta.rows)).toBeGreaterThanOrEqual(12);
    sim.admin.clearFaults(hostUuid(1));
    expect(Number((await rrd(start)).meta.rows)).toBeGreaterThanOrEqual(12);
  });

  it('reports engine exceptions as the 500 page, truncates and garbles on request', async () => {
    const s = await login(master);
    const bad = await request(`${master}/rrd_updates?session_id=${s}&start=abc&host=true`);
    expect(bad.status).toBe(500);
    expect(bad.body).toContain('<h1> Additional information </h1>');

    const start = Math.floor(sim.now() / 1000) - 30;
    const url = `${master}/rrd_updates?session_id=${s}&start=${start}&host=true`;
    const hdr = { accept: 'application/json' };
    const full = await request(url, { headers: hdr });
    sim.admin.setFault(hostUuid(0), { kind: 'truncate', count: 1 });
    const cut = await request(url, { headers: hdr });
    expect(cut.status).toBe(200);
    expect(() => JSON.parse(cut.body) as unknown).toThrow();
    expect(full.body.startsWith(cut.body.slice(0, 20))).toBe(true);
    sim.admin.setFault(hostUuid(0), { kind: 'malformed', count: 1 });
    const garbled = (await request(url, { headers: hdr })).body;
    expect(() => JSON.parse(garbled) as unknown).toThrow();
    expect(JSON.parse((await request(url, { headers: hdr })).body)).toHaveProperty('meta');
  });

  it('moves a VM RRD with the VM (rrd_updates per host)', async () => {
    // Fast clock: the engine picks up model changes at its next 5 s step, as xcp-rrdd does.
    await sim.stop();
    sim = await startSimulator({ ...BASE, timeScale: 40 });
    master = sim.info.master_url;
    const s = await login(master);
    const vms = (await value(master, 'VM.get_all_records', [s])) as Record<string, Record<string, unknown>>;
    const hostRefs = (await value(master, 'host.get_all', [s])) as string[];
    const uuidOfRef = new Map(await Promise.all(hostRefs.map(async (h) => [h, String(await value(master, 'host.get_uuid', [s, h]))] as const)));
    for (const rec of Object.values(vms)) {
      if (rec['power_state'] !== 'Running' || rec['is_control_domain'] === true) continue;
      const fromUuid = uuidOfRef.get(String(rec['resident_on'])) ?? '';
      const to = sim.info.hosts.find((h) => h.uuid !== fromUuid);
      try {
        sim.admin.triggerDynamics('vm_migrate', `${String(rec['uuid'])}>${to?.uuid ?? ''}`);
      } catch {
        continue;
      }
      const fromUrl = sim.info.hosts.find((h) => h.uuid === fromUuid)?.url ?? '';
      const col = `:vm:${String(rec['uuid'])}:`;
      await eventually(async () => {
        const start = Math.floor(sim.now() / 1000) - 10;
        const onDest = await request(`${to?.url ?? ''}/rrd_updates?session_id=${s}&start=${start}`, { headers: { accept: 'application/json' } });
        expect(onDest.body).toContain(col);
        const onSource = await request(`${fromUrl}/rrd_updates?session_id=${s}&start=${start}`, { headers: { accept: 'application/json' } });
        expect(onSource.body).not.toContain(col);
      });
      return;
    }
    throw new Error('no migratable VM in this topology');
  });
});

describe('determinism', () => {
  it('serves identical records for the same seed and start time', async () => {
    const opts = { ...BASE, startTimeMs: Date.UTC(2025, 0, 1), seed: 99 };
    const a = await startSimulator(opts);
    const b = await startSimulator({ ...opts, addressPrefix: '127.0.1' });
    try {
      const grab = async (url: string): Promise<string> => {
        const s = await login(url);
        const res = await request(`${url}/`, { method: 'POST', body: `<methodCall><methodName>VM.get_all_records</methodName><params><param><value>${s}</value></param></params></methodCall>` });
        return res.body.replaceAll('127.0.1.', '127.0.0.');
      };
      const [x, y] = await Promise.all([grab(a.info.master_url), grab(b.info.master_url)]);
      expect(x.length).toBeGreaterThan(10_000);
      expect(x).toBe(y);
      expect(a.info.pool_uuid).toBe(b.info.pool_uuid);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

