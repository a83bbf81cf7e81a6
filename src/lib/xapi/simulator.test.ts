// The client against the embedded simulated XCP-ng pool (HTTPS with the simulator's CA, real xapi wire format).
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The library stays a leaf: only this integration test reaches into the simulator.
import { startSimulator, type RunningSimulator } from '../../simulator/index.ts';
import type { XmlRpcValue } from './codec.ts';
import { inventoryFromRecords, type RawRecordsByKey } from './inventory.ts';
import { createXapiPool } from './pool.ts';
import { INVENTORY_CLASSES } from './records.ts';
import { poolOptions, renderLogs, signal, until, type LogEntry } from './testing/harness.ts';
import type { XapiPool } from './types.ts';

let sim: RunningSimulator;
let ca: Buffer;
let logs: LogEntry[] = [];
const pools: XapiPool[] = [];

beforeAll(async () => {
  sim = await startSimulator({ hosts: 3, vmsPerHost: 2, seed: 7, historySeconds: 60, dynamics: { enabled: false, meanIntervalSeconds: 60 }, adminPort: null, authFailureDelayMs: 0 });
  ca = readFileSync(sim.info.ca_file!);
});
afterAll(() => sim.stop());
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
  const rendered = renderLogs(logs);
  for (const user of sim.info.users) expect(rendered).not.toContain(user.password);
  logs = [];
});

function connect(seed: string, eventTimeoutSeconds = 30): XapiPool {
  const user = sim.info.users.find((u) => u.role === 'read-only') ?? sim.info.users[0]!;
  const pool = createXapiPool(
    poolOptions([seed], logs, { username: user.username, password: { reveal: () => user.password }, tls: { insecureSkipVerify: false, ca }, eventTimeoutSeconds }),
    { retryBaseMs: 20, retryMaxMs: 200 },
  );
  pools.push(pool);
  return pool;
}

const master = () => sim.info.hosts.find((h) => h.master)!;
const member = () => sim.info.hosts.find((h) => !h.master)!;

describe('against the simulator', () => {
  it('follows HOST_IS_SLAVE from a member seed and loads the whole inventory', async () => {
    const pool = connect(member().url);
    await pool.start(signal());
    const inv = pool.inventory();
    expect(pool.stats().masterAddress).toBe(master().url);
    expect(inv.hosts.size).toBe(3);
    expect(inv.pool?.master).toBe(inv.refOfUuid(master().uuid));
    expect([...inv.hosts.values()].map((h) => h.address).sort()).toEqual(sim.info.hosts.map((h) => h.address).sort());
    expect([...inv.vms.values()].filter((vm) => !vm.is_control_domain && !vm.is_a_template).length).toBeGreaterThanOrEqual(6);
    expect(inv.srs.size).toBeGreaterThan(0);
    expect(inv.pbds.size).toBeGreaterThan(0);
    for (const host of inv.hosts.values()) expect(host.API_version_major).toBe(2);
  });

  it('loads the same inventory as a full decode of every get_all_records (the projection drops nothing it reads)', async () => {
    const pool = connect(master().url);
    await pool.start(signal());
    const projected = pool.inventory();
    const raw: RawRecordsByKey = {};
    for (const cls of INVENTORY_CLASSES) raw[cls.key] = await pool.call<XmlRpcValue>(`${cls.wire}.get_all_records`, [], signal());
    const full = inventoryFromRecords(projected.generation, raw);
    expect(projected.pool).toEqual(full.pool);
    for (const table of ['hosts', 'hostMetrics', 'vms', 'srs', 'pbds', 'vbds', 'vifs', 'pifs'] as const) {
      expect(projected[table].size, table).toBeGreaterThan(0);
      expect([...projected[table]], table).toEqual([...full[table]]);
    }
    // the raw answer of pool.call is whole: more fields than the inventory reads
    const vmFields = INVENTORY_CLASSES.find((cls) => cls.wire === 'VM')!.fields;
    const someVm = Object.values(raw.vms as Record<string, Record<string, XmlRpcValue>>)[0]!;
    expect(Object.keys(someVm).length).toBeGreaterThan(vmFields.size);
  });

  it('applies a rename through event.from', async () => {
    const pool = connect(master().url);
    await pool.start(signal());
    const before = pool.inventory();
    sim.admin.triggerDynamics('rename');
    await until(() => pool.inventory().generation > before.generation, 'rename event');
    const after = pool.inventory();
    const renamed = [...after.vms.values()].filter((vm) => before.vms.get(vm.ref)?.name_label !== vm.name_label);
    expect(renamed.length).toBeGreaterThanOrEqual(1);
  });

  it('reads /rrd_updates from every host with no XML-RPC call between cycles', async () => {
    const pool = connect(master().url);
    await pool.start(signal());
    // event.inject touches one object, so the first event.from returns at once with it; the steady state is the
    // next pending event.from after that batch was applied.
    await until(() => pool.stats().eventBatches >= 1 && pool.stats().pendingEventCalls === 1, 'first event batch applied');
    const calls = pool.stats().xmlRpcCalls;
    const start = String(Math.floor(sim.now() / 1000) - 30);
    for (let cycle = 0; cycle < 2; cycle++) {
      for (const host of pool.inventory().hosts.values()) {
        const res = await pool.getFromHost(host.ref, { path: '/rrd_updates', query: { start, cf: 'AVERAGE', interval: '5', host: 'true' }, accept: 'application/json', signal: signal() });
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe('application/json');
        expect(res.body.toString()).toContain(`host:${host.uuid}:`);
      }
    }
    expect(pool.stats()).toMatchObject({ xmlRpcCalls: calls, httpRequests: 6, pendingEventCalls: 1 });
    expect(pool.stats().httpBytes).toBeGreaterThan(0);
  });

  it('reads host time from host.get_servertime', async () => {
    const pool = connect(master().url);
    await pool.start(signal());
    const ms = await pool.hostServerTime(pool.inventory().refOfUuid(member().uuid)!, signal());
    expect(Math.abs(ms - sim.now())).toBeLessThan(5000);
  });

  it('re-logs in after the pool forgets every session', async () => {
    const pool = connect(master().url);
    await pool.start(signal());
    sim.admin.invalidateSessions();
    await expect(pool.call('pool.get_all', [], signal())).resolves.toHaveLength(1);
    expect(pool.stats().logins).toBeGreaterThanOrEqual(2);
  });

  it('moves to the new master after a failover', async () => {
    const pool = connect(master().url, 1);
    await pool.start(signal());
    const oldMaster = master();
    const next = member();
    sim.admin.failover(next.uuid);
    try {
      await until(() => pool.stats().masterAddress === next.url && pool.inventory().pool?.master === pool.inventory().refOfUuid(next.uuid), 'new master', 10_000);
      await expect(pool.call('pool.get_all', [], signal())).resolves.toHaveLength(1);
    } finally {
      sim.admin.failover(oldMaster.uuid);
    }
  });
});
