import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRrdEngine, wireProfileFor } from './index.ts';
import type { RrdEngineExtraOptions } from './index.ts';
import type { RrdEngineOptions, RrdHttpResult } from './contract.ts';
import { fToS } from './format.ts';
import { FakePool, HOST_A, HOST_B, SR_LOCAL, SR_NFS } from './test-pool.ts';

const T0 = 1_699_999_200; // a multiple of 5, 60 and 3600
const VM1 = 'cc11e6e9-5071-4707-830a-b87e5618e874';
const VM2 = 'd4a1c2e3-1111-4222-8333-944455556666';
const fixtures = new URL('../../../test/fixtures/xapi-samples/', import.meta.url);

type Q = Array<[string, string]>;

function pool2(): FakePool {
  const pool = new FakePool();
  const a = pool.addHost(HOST_A, { attachedSrUuids: [SR_LOCAL, SR_NFS], intellicacheSrUuids: [SR_LOCAL] });
  pool.addHost(HOST_B, { attachedSrUuids: [SR_NFS] });
  pool.addVm(a, VM1, 'web', { vbdDevices: ['xvda', 'xvdb'], vbdSrUuids: { xvda: SR_NFS, xvdb: SR_LOCAL } });
  pool.addVm(a, VM2, 'database', { vbdSrUuids: { xvda: SR_NFS } });
  return pool;
}

function engine(pool: FakePool, version = 'current', extra: Partial<RrdEngineOptions> & RrdEngineExtraOptions = {}) {
  return createRrdEngine({ seed: 42, view: pool, profile: wireProfileFor(version), minMaxRras: false, historyStartSec: T0 - 3 * 3600, ...extra });
}

function body(r: RrdHttpResult): string {
  if (!r.ok) throw new Error(`unexpected exception ${r.exception}`);
  return r.body.toString('latin1');
}

interface Parsed {
  start: number;
  step: number;
  end: number;
  rows: number;
  columns: number;
  legend: string[];
  data: Array<{ t: number; values: string[] }>;
}

function parseCurrent(r: RrdHttpResult): Parsed {
  const j = JSON.parse(body(r)) as { meta: Record<string, unknown>; data: Array<{ t: string; values: string[] }> };
  const m = j.meta as { start: string; step: string; end: string; rows: string; columns: string; legend: string[] };
  return {
    start: Number(m.start),
    step: Number(m.step),
    end: Number(m.end),
    rows: Number(m.rows),
    columns: Number(m.columns),
    legend: m.legend,
    data: j.data.map((d) => ({ t: Number(d.t), values: d.values })),
  };
}

const JSON_ACCEPT = 'application/json';

describe('rrd_updates selection (port of create_multi / find_best_rras)', () => {
  const pool = pool2();
  const e = engine(pool);
  e.advance(T0 + 2);
  const get = (q: Q, accept = JSON_ACCEPT) => e.rrdUpdates(HOST_A, q, accept);

  it.each([
    [T0 - 60, 0, 5],
    [T0 - 599, 5, 5],
    [T0 - 600, 0, 60], // not strictly inside the 5 s span any more
    [T0 - 7000, 0, 60],
    [T0 - 7300, 0, 3600],
    [T0 - 7 * 86400, 0, 86400],
    [T0 - 100, 60, 60], // interval is a minimum resolution
    [T0 - 100, 4, 5], // 4 / 5 = 0 pdp
    [T0 - 100, 3600, 3600],
  ])('start=%i interval=%i → step %i', (start, interval, step) => {
    const p = parseCurrent(get([['start', String(start)], ['interval', String(interval)], ['host', 'true']]));
    expect(p.step).toBe(step);
    expect(p.end).toBe(Math.trunc(T0 / step) * step);
    expect(p.start).toBe(Math.trunc(start / step) * step + step);
    expect(p.data[0]!.t).toBe(p.end);
    const ts = p.data.map((d) => d.t);
    expect(ts.every((t, i) => t === p.end - i * step && t >= start)).toBe(true);
    expect(p.rows).toBe(p.data.length);
  });

  it('rows include t == start and are capped by the archive', () => {
    const p = parseCurrent(get([['start', String(T0 - 10)], ['host', 'true']]));
    expect(p.data.map((d) => d.t)).toEqual([T0, T0 - 5, T0 - 10]);
    expect(p.start).toBe(T0 - 5);
    const all = parseCurrent(get([['start', String(T0 - 599)], ['host', 'true']]));
    expect(all.rows).toBe(120);
  });

  it('negative start is relative to last_updated', () => {
    const p = parseCurrent(get([['start', '-10'], ['host', 'true']]));
    expect(p.data.map((d) => d.t)).toEqual([T0, T0 - 5, T0 - 10]);
  });

  it('falls back to the longest archive for a start older than a year', () => {
    const p = parseCurrent(get([['start', String(T0 - 400 * 86400)], ['host', 'true']]));
    expect(p.step).toBe(86400);
    expect(p.rows).toBe(366);
  });

  it('a start in the future gives zero rows', () => {
    const p = parseCurrent(get([['start', String(T0 + 100)], ['host', 'true']]));
    expect(p.rows).toBe(0);
    expect(p.data).toEqual([]);
    expect(body(get([['start', String(T0 + 100)], ['host', 'true']], 'text/xml'))).toContain('</legend></meta><data/></xport>');
  });

  it.each([
    [[['start', '1.5']], 'Failure("Int64.of_string")'],
    [[['start', 'abc'], ['host', 'true']], 'Failure("Int64.of_string")'],
    [[['host', 'true']], 'Not_found'],
    [[['start', String(T0)], ['host', 'true'], ['cf', 'MIN']], 'Rrd.No_RRA_Available'],
    [[['start', String(T0)], ['host', 'true'], ['cf', 'MAX']], 'Rrd.No_RRA_Available'],
    [[['start', String(T0)], ['host', 'true'], ['cf', 'LAST']], 'Rrd.No_RRA_Available'],
    [[['start', String(T0)], ['host', 'true'], ['interval', '100000000']], 'Rrd.No_RRA_Available'],
    [[['start', String(T0)], ['vm_uuid', 'nope']], 'Rrd.No_RRA_Available'],
  ] as Array<[Q, string]>)('%j → %s', (q, exception) => {
    expect(get(q)).toEqual({ ok: false, exception });
  });

  it('accepts OCaml integer syntax for start and ignores a bad interval or cf', () => {
    const p = parseCurrent(get([['start', `+${T0 - 10}`], ['host', 'true'], ['interval', 'x'], ['cf', 'average']]));
    expect(p.step).toBe(5);
    expect(p.rows).toBe(3);
    expect(parseCurrent(get([['start', '-1_0'], ['host', 'true']])).rows).toBe(3);
  });

  it('host must be the literal "true"; VMs default to all resident ones (hash order, dom0 included)', () => {
    const withHost = parseCurrent(get([['start', String(T0)], ['host', 'true']]));
    const owners = new Set(withHost.legend.map((l) => l.split(':').slice(1, 3).join(':')));
    expect(owners.has(`host:${HOST_A}`)).toBe(true);
    expect(owners.has(`vm:${VM1}`) && owners.has(`vm:${VM2}`)).toBe(true);
    expect(owners.size).toBe(4); // host, dom0, two guests
    expect(withHost.legend[0]!.startsWith(`AVERAGE:host:${HOST_A}:`)).toBe(true);
    for (const h of ['TRUE', '1', '']) {
      const p = parseCurrent(get([['start', String(T0)], ['host', h]]));
      expect(p.legend.some((l) => l.includes(':host:'))).toBe(false);
    }
    expect(e.rrdUpdates(HOST_B, [['start', String(T0)], ['vm_uuid', VM1]], JSON_ACCEPT)).toEqual({ ok: false, exception: 'Rrd.No_RRA_Available' });
  });

  it('legend entries follow CF:owner:uuid:ds with every column once', () => {
    const p = parseCurrent(get([['start', String(T0)], ['host', 'true']]));
    expect(p.columns).toBe(p.legend.length);
    expect(new Set(p.legend).size).toBe(p.legend.length);
    for (const l of p.legend) expect(l).toMatch(/^AVERAGE:(host|vm):[0-9a-f-]{36}:[\w-]+$/);
    expect(p.data[0]!.values.length).toBe(p.columns);
  });
});

describe('vm_uuid / sr_uuid per version', () => {
  const pool = pool2();
  const old = engine(pool, 'xcp-ng-8.3', { srOwnedRrds: true });
  const cur = engine(pool, 'current', { srOwnedRrds: true });
  old.advance(T0);
  cur.advance(T0);
  const owners = (e: typeof old, q: Q): string[] => {
    const r = e.rrdUpdates(HOST_A, [['start', String(T0)], ...q], JSON_ACCEPT);
    if (!r.ok) return [r.exception];
    return [...new Set(parseCurrent(r).legend.map((l) => l.split(':').slice(1, 3).join(':')))].sort();
  };

  it('before 26.7.0: single value, all/none keywords, first occurrence wins', () => {
    expect(owners(old, [['vm_uuid', VM1]])).toEqual([`vm:${VM1}`]);
    expect(owners(old, [['vm_uuid', VM1], ['vm_uuid', VM2]])).toEqual([`vm:${VM1}`]);
    expect(owners(old, [['vm_uuid', 'none'], ['host', 'true']])).toEqual([`host:${HOST_A}`]);
    expect(owners(old, [['vm_uuid', 'all']])).toHaveLength(3);
    expect(owners(old, [['vm_uuid', 'none'], ['sr_uuid', 'all']])).toEqual([`sr:${SR_LOCAL}`, `sr:${SR_NFS}`].sort());
    expect(owners(old, [['vm_uuid', 'none'], ['sr_uuid', SR_NFS]])).toEqual([`sr:${SR_NFS}`]);
    expect(owners(old, [['vm_uuid', 'none']])).toEqual(['Rrd.No_RRA_Available']);
  });

  it('from 26.7.0: repeated values, no keywords, absent sr_uuid → no SR RRDs', () => {
    expect(owners(cur, [['vm_uuid', VM1], ['vm_uuid', VM2]])).toEqual([`vm:${VM1}`, `vm:${VM2}`].sort());
    expect(owners(cur, [['vm_uuid', 'all']])).toEqual(['Rrd.No_RRA_Available']);
    expect(owners(cur, [['vm_uuid', 'none'], ['host', 'true']])).toEqual([`host:${HOST_A}`]);
    expect(owners(cur, [['vm_uuid', 'x'], ['sr_uuid', 'all']])).toEqual(['Rrd.No_RRA_Available']);
    expect(owners(cur, [['vm_uuid', 'x'], ['sr_uuid', SR_NFS], ['sr_uuid', SR_LOCAL]])).toEqual([`sr:${SR_LOCAL}`, `sr:${SR_NFS}`].sort());
    expect(owners(cur, []).some((o) => o.startsWith('sr:'))).toBe(false);
  });

  it('SR-owned RRDs live on the master only', () => {
    expect(cur.rrdUpdates(HOST_B, [['start', String(T0)], ['sr_uuid', SR_NFS], ['vm_uuid', 'x']], JSON_ACCEPT)).toEqual({ ok: false, exception: 'Rrd.No_RRA_Available' });
    expect(cur.dataSourceNames('sr', SR_NFS)).toEqual(['size', 'physical_utilisation']);
  });

  it('stock engine (no srOwnedRrds) has no SR RRDs', () => {
    const e = engine(pool, 'xcp-ng-8.3');
    e.advance(T0);
    expect(e.rrdUpdates(HOST_A, [['start', String(T0)], ['vm_uuid', 'none'], ['sr_uuid', 'all']], JSON_ACCEPT)).toEqual({ ok: false, exception: 'Rrd.No_RRA_Available' });
  });
});

describe('MIN/MAX archives', () => {
  it('exist only with minMaxRras and never at step 5', () => {
    const pool = pool2();
    const e = engine(pool, 'current', { minMaxRras: true });
    e.advance(T0);
    const q5 = parseCurrent(e.rrdUpdates(HOST_A, [['start', String(T0 - 30)], ['host', 'true']], JSON_ACCEPT));
    expect(q5.step).toBe(5);
    expect(q5.legend.every((l) => l.startsWith('AVERAGE:'))).toBe(true);
    const q60 = parseCurrent(e.rrdUpdates(HOST_A, [['start', String(T0 - 1800)], ['host', 'true'], ['vm_uuid', 'none']], JSON_ACCEPT));
    expect(q60.step).toBe(60);
    const n = e.dataSourceNames('host', HOST_A).length;
    expect(q60.legend.slice(0, n).every((l) => l.startsWith('AVERAGE:'))).toBe(true);
    expect(q60.legend.slice(n, 2 * n).every((l) => l.startsWith('MIN:'))).toBe(true);
    expect(q60.legend.slice(2 * n).every((l) => l.startsWith('MAX:'))).toBe(true);
    // cf=MIN at interval 5 silently gives the 60 s MIN archive
    const min = parseCurrent(e.rrdUpdates(HOST_A, [['start', String(T0 - 30)], ['host', 'true'], ['cf', 'MIN']], JSON_ACCEPT));
    expect(min.step).toBe(60);
    expect(min.legend.every((l) => l.startsWith('MIN:'))).toBe(true);
    // MIN ≤ AVERAGE ≤ MAX for each 60 s row of the host CPU
    const col = e.dataSourceNames('host', HOST_A).indexOf('cpu_avg');
    for (const row of q60.data.slice(0, 60)) {
      const [avg, lo, hi] = [Number(row.values[col]), Number(row.values[n + col]), Number(row.values[2 * n + col])];
      expect(lo).toBeLessThanOrEqual(avg + 1e-6);
      expect(avg).toBeLessThanOrEqual(hi + 1e-6);
    }
  });
});

describe('values', () => {
  it('60 s AVERAGE consolidates the twelve 5 s PDPs; value() is what the body serves', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0 + 4);
    for (const [owner, uuid, ds] of [
      ['host', HOST_A, 'cpu_avg'],
      ['vm', VM1, 'vbd_xvda_iops_total'],
      ['host', HOST_A, 'memory_free_kib'],
    ] as const) {
      const fine: number[] = [];
      for (let t = T0 - 55; t <= T0; t += 5) fine.push(e.value(owner, uuid, ds, t));
      const coarse = e.value(owner, uuid, ds, T0, 'AVERAGE', 60);
      const mean = fine.reduce((a, b) => a + b, 0) / 12;
      expect(Math.abs(coarse - mean)).toBeLessThanOrEqual(Math.abs(mean) * 1e-6 + 1e-9);
      expect(Math.fround(coarse)).toBe(coarse);
    }
    const p = parseCurrent(e.rrdUpdates(HOST_A, [['start', String(T0 - 600)], ['interval', '60'], ['host', 'true']], JSON_ACCEPT));
    p.legend.forEach((l, c) => {
      const [, owner, uuid, ds] = /^(?:AVERAGE):(host|vm):([^:]+):(.+)$/.exec(l)!;
      for (const row of p.data) expect(row.values[c]).toBe(fToS(e.value(owner as 'host' | 'vm', uuid!, ds!, row.t, 'AVERAGE', 60), '%.15g'));
    });
    expect(e.value('host', HOST_A, 'cpu_avg', T0 + 1)).toBeNaN(); // not on the grid
    expect(e.value('host', HOST_A, 'cpu_avg', T0 - 600)).toBeNaN(); // outside the 5 s ring
    expect(e.value('host', HOST_A, 'no_such_ds', T0)).toBeNaN();
  });

  it('respects units and host/VM consistency', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0 + 3600);
    const names = e.dataSourceNames('host', HOST_A);
    for (let t = T0 + 3010; t <= T0 + 3600; t += 30) {
      const v = (ds: string, owner: 'host' | 'vm' = 'host', uuid = HOST_A) => e.value(owner, uuid, ds, t);
      const cpus = [0, 1, 2, 3].map((c) => v(`cpu${c}`));
      for (const x of cpus) {
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThanOrEqual(1);
      }
      expect(v('cpu_avg')).toBeCloseTo(cpus.reduce((a, b) => a + b, 0) / 4, 6);
      for (let c = 0; c < 4; c++) {
        expect(v(`cpu${c}-C0`) + v(`cpu${c}-C1`) + v(`cpu${c}-C2`)).toBeCloseTo(1, 5);
        expect(v(`cpu${c}-P0`) + v(`cpu${c}-P1`) + v(`cpu${c}-P2`)).toBeCloseTo(1, 5);
      }
      expect(v('pif_aggr_rx')).toBeCloseTo(v('pif_eth0_rx') + v('pif_eth1_rx'), 0);
      expect(v('memory_total_kib')).toBe(64 * 1024 * 1024);
      const vmMemKib = (4 + 2 + 2) * 1024 * 1024;
      expect(v('memory_free_kib')).toBeLessThan(64 * 1024 * 1024 - vmMemKib);
      expect(v('memory_free_kib')).toBeGreaterThan(0);
      // SR I/O is the sum of the resident VMs' VBD I/O on that SR
      const nfs = SR_NFS.slice(0, 8);
      expect(v(`read_${nfs}`)).toBeCloseTo(v('vbd_xvda_read', 'vm', VM1) + v('vbd_xvda_read', 'vm', VM2), -1);
      expect(v(`io_throughput_total_${nfs}`)).toBeCloseTo(v('vbd_xvda_io_throughput_total', 'vm', VM1) + v('vbd_xvda_io_throughput_total', 'vm', VM2), 4);
      expect(v('running_domains')).toBe(3);
      expect(v('running_vcpus')).toBe(6);
      const usage = v('cpu_usage', 'vm', VM1);
      expect(usage).toBeGreaterThanOrEqual(0);
      expect(usage).toBeLessThanOrEqual(1);
      expect(v('memory_internal_free', 'vm', VM1)).toBeLessThan(2 * 1024 * 1024);
    }
    expect(names).toContain('pool_session_count');
    expect(names).toContain(`sr_${SR_LOCAL}_cache_hits`);
    expect(e.dataSourceNames('host', HOST_B)).not.toContain('pool_session_count');
    expect(e.dataSourceNames('vm', VM1)).toEqual(expect.arrayContaining(['cpu0', 'cpu1', 'cpu_usage', 'memory', 'memory_target', 'memory_internal_free', 'vif_0_rx', 'vbd_xvdb_avgqu_sz']));
  });

  it('memory_internal_free only with a guest agent', () => {
    const pool = pool2();
    pool.addVm(pool.hostSpecs[1]!, 'ee000000-0000-4000-8000-000000000001', 'idle', { hasGuestAgent: false });
    const e = engine(pool);
    e.advance(T0);
    expect(e.dataSourceNames('vm', 'ee000000-0000-4000-8000-000000000001')).not.toContain('memory_internal_free');
  });

  it('is deterministic from the seed and time-varying', () => {
    const run = (seed: number) => {
      const e = engine(pool2(), 'current', { seed });
      e.advance(T0);
      return body(e.rrdUpdates(HOST_A, [['start', String(T0 - 60)], ['host', 'true']], JSON_ACCEPT));
    };
    expect(run(7)).toBe(run(7));
    expect(run(7)).not.toBe(run(8));
    const e = engine(pool2());
    e.advance(T0);
    const series = Array.from({ length: 12 }, (_, i) => e.value('vm', VM1, 'cpu_usage', T0 - 5 * i));
    expect(new Set(series).size).toBeGreaterThan(6);
  });
});

describe('columns and RRDs that appear, disappear and move', () => {
  it('a VM started later has NaN history; a hot-plugged device appends NaN-history columns; a removed one stays as NaN', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0);
    const late = 'ab000000-0000-4000-8000-000000000002';
    pool.addVm(pool.hostSpecs[0]!, late, 'batch');
    e.advance(T0 + 60);
    expect(e.value('vm', late, 'cpu0', T0)).toBeNaN();
    expect(e.value('vm', late, 'cpu0', T0 + 5)).not.toBeNaN();
    expect(e.value('vm', late, 'cpu0', T0 + 60)).not.toBeNaN();

    const vm = pool.vms.get(VM2)!;
    const before = e.dataSourceNames('vm', VM2);
    pool.vms.set(VM2, { ...vm, vifDevices: ['0', '1'] });
    e.advance(T0 + 120);
    const after = e.dataSourceNames('vm', VM2);
    expect(after.slice(0, before.length)).toEqual(before);
    expect(after.slice(before.length)).toEqual(['vif_1_rx', 'vif_1_tx']);
    expect(e.value('vm', VM2, 'vif_1_rx', T0 + 60)).toBeNaN();
    expect(e.value('vm', VM2, 'vif_1_rx', T0 + 120)).not.toBeNaN();
    // A second hot-plug lands in the spare column capacity left by the first: its history is NaN as well.
    pool.vms.set(VM2, { ...vm, vifDevices: ['0', '1', '2'] });
    e.advance(T0 + 125);
    expect(e.value('vm', VM2, 'vif_2_rx', T0 + 120)).toBeNaN();
    expect(e.value('vm', VM2, 'vif_2_rx', T0 + 60, 'AVERAGE', 60)).toBeNaN();
    expect(e.value('vm', VM2, 'vif_2_rx', T0 + 125)).not.toBeNaN();
    pool.vms.set(VM2, { ...vm, vifDevices: ['0', '1'] });

    pool.vms.set(VM2, { ...vm, vifDevices: [], vbdDevices: [] });
    e.advance(T0 + 180);
    expect(e.dataSourceNames('vm', VM2)).toEqual([...after, 'vif_2_rx', 'vif_2_tx']);
    expect(e.value('vm', VM2, 'vif_0_rx', T0 + 125)).not.toBeNaN();
    expect(e.value('vm', VM2, 'vif_0_rx', T0 + 130)).toBeNaN();
    expect(e.value('vm', VM2, 'vbd_xvda_read', T0 + 180)).toBeNaN();
    const p = parseCurrent(e.rrdUpdates(HOST_A, [['start', String(T0 + 170)], ['vm_uuid', VM2]], JSON_ACCEPT));
    expect(p.legend).toContain(`AVERAGE:vm:${VM2}:vif_0_rx`);
    expect(p.data[0]!.values[p.legend.indexOf(`AVERAGE:vm:${VM2}:vif_0_rx`)]).toBe('NaN');
    // A young RRD: a hot-plug leaves spare column capacity, the rings then grow, and a second hot-plug lands in
    // the spare columns of rows written after the first: their history must read NaN too.
    const lateSpec = pool.vms.get(late)!;
    pool.vms.set(late, { ...lateSpec, vifDevices: ['0', '1'] });
    e.advance(T0 + 185);
    e.advance(T0 + 420);
    pool.vms.set(late, { ...lateSpec, vifDevices: ['0', '1', '2'] });
    e.advance(T0 + 425);
    for (const t of [T0 + 370, T0 + 420]) expect(e.value('vm', late, 'vif_2_rx', t)).toBeNaN();
    expect(e.value('vm', late, 'vif_2_rx', T0 + 360, 'AVERAGE', 60)).toBeNaN();
    expect(e.value('vm', late, 'vif_2_rx', T0 + 425)).not.toBeNaN();
  });

  it('cached row text is never stale: ring slots reused, columns appended, every format', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0);
    const check = (start: number, interval: string): void => {
      for (const accept of [JSON_ACCEPT, 'text/xml']) {
        const r = e.rrdUpdates(HOST_A, [['start', String(start)], ['host', 'true'], ['interval', interval]], accept);
        const text = body(r);
        const p: Parsed = accept === JSON_ACCEPT ? parseCurrent(r) : {
          ...parseCurrent(e.rrdUpdates(HOST_A, [['start', String(start)], ['host', 'true'], ['interval', interval]], JSON_ACCEPT)),
          data: [...text.matchAll(/<row><t>(\d+)<\/t>(.*?)<\/row>/g)].map((m) => ({ t: Number(m[1]), values: [...m[2]!.matchAll(/<v>([^<]*)<\/v>/g)].map((v) => v[1]!) })),
        };
        expect(p.data.length).toBeGreaterThan(0);
        p.legend.forEach((l, c) => {
          const [, owner, uuid, ds] = /^AVERAGE:(host|vm):([^:]+):(.+)$/.exec(l)!;
          for (const row of p.data) expect(row.values[c]).toBe(fToS(e.value(owner as 'host' | 'vm', uuid!, ds!, row.t, 'AVERAGE', p.step), '%.15g'));
        });
      }
    };
    check(T0 - 55, '5');
    check(T0 - 3000, '60');
    // The 5 s ring wraps completely, so every slot read above now holds a different row.
    e.advance(T0 + 600);
    check(T0 + 600 - 55, '5');
    // A hot-plug appends columns: rows cached before must grow NaN cells for them.
    check(T0 + 600 - 155, '5');
    const vm = pool.vms.get(VM2)!;
    pool.vms.set(VM2, { ...vm, vifDevices: ['0', '1'] });
    e.advance(T0 + 610);
    check(T0 + 610 - 155, '5');
    e.advance(T0 + 615);
    check(T0 + 615 - 155, '5');
  });

  it('a new SR appears on the host with NaN history', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0);
    const sr = '77777777-0000-4000-8000-000000000003';
    pool.hostSpecs[1]!.attachedSrUuids = [SR_NFS, sr];
    e.advance(T0 + 30);
    expect(e.dataSourceNames('host', HOST_B)).toContain('iops_total_77777777');
    expect(e.value('host', HOST_B, 'iops_total_77777777', T0)).toBeNaN();
    expect(e.value('host', HOST_B, 'iops_total_77777777', T0 + 30)).toBe(0);
  });

  it('a migrating VM takes its RRD (and history) to the new host', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0);
    const history = e.value('vm', VM1, 'cpu_usage', T0 - 30);
    expect(history).not.toBeNaN();
    pool.move(VM1, pool.hostSpecs[1]!);
    e.advance(T0 + 30);
    expect(e.value('vm', VM1, 'cpu_usage', T0 - 30)).toBe(history);
    const onB = parseCurrent(e.rrdUpdates(HOST_B, [['start', String(T0 - 30)], ['vm_uuid', VM1]], JSON_ACCEPT));
    const c = onB.legend.indexOf(`AVERAGE:vm:${VM1}:cpu_usage`);
    expect(c).toBeGreaterThanOrEqual(0);
    expect(onB.data.find((d) => d.t === T0 - 30)!.values[c]).toBe(fToS(history, '%.15g'));
    const onA = e.rrdUpdates(HOST_A, [['start', String(T0)], ['host', 'true']], JSON_ACCEPT);
    expect(body(onA)).not.toContain(VM1);
    // host B's SR columns now include VM1's NFS I/O
    const nfs = SR_NFS.slice(0, 8);
    expect(e.value('host', HOST_B, `read_${nfs}`, T0 + 30)).toBeCloseTo(e.value('vm', VM1, 'vbd_xvda_read', T0 + 30), -1);
  });

  it('a host clock offset shifts what that host serves (end, rows, value) and nothing else', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0);
    const q = (start: number): Q => [['start', String(start)], ['host', 'true']];
    const plain = parseCurrent(e.rrdUpdates(HOST_A, q(T0 - 60), JSON_ACCEPT));
    const cpuA = e.value('host', HOST_A, 'cpu_avg', T0 - 10);
    const vmA = e.value('vm', VM1, 'cpu_usage', T0 - 10);
    const hostB = e.value('host', HOST_B, 'cpu_avg', T0 - 10);
    e.setClockOffset(HOST_A, 120);
    const skewed = parseCurrent(e.rrdUpdates(HOST_A, q(T0 + 60), JSON_ACCEPT));
    expect(skewed.end).toBe(T0 + 120);
    expect(skewed.data.map((d) => d.t)).toEqual(plain.data.map((d) => d.t + 120));
    expect(skewed.data.map((d) => d.values)).toEqual(plain.data.map((d) => d.values));
    // Ground truth follows the holder's clock: host A and its VMs shift, host B does not.
    expect(e.value('host', HOST_A, 'cpu_avg', T0 + 110)).toBe(cpuA);
    expect(e.value('vm', VM1, 'cpu_usage', T0 + 110)).toBe(vmA);
    expect(e.value('host', HOST_B, 'cpu_avg', T0 - 10)).toBe(hostB);
    expect(parseCurrent(e.rrdUpdates(HOST_B, q(T0 - 60), JSON_ACCEPT)).end).toBe(T0);
    // A negative start is relative to the host's (skewed) last_updated; rrddump's lastupdate is skewed too.
    expect(parseCurrent(e.rrdUpdates(HOST_A, q(-10), JSON_ACCEPT)).data.map((d) => d.t)).toEqual([T0 + 120, T0 + 115, T0 + 110]);
    expect(body(e.hostRrd(HOST_A, false))).toContain(`<lastupdate>${T0 + 120}</lastupdate>`);
    expect(body(e.vmRrd(VM1, false))).toContain(`<lastupdate>${T0 + 120}</lastupdate>`);
    // A host clock behind the client: the client's own "now - 60" is after the host's end → rows 0 (xen-exporter #16).
    e.setClockOffset(HOST_A, -120);
    const behind = parseCurrent(e.rrdUpdates(HOST_A, q(T0 - 60), JSON_ACCEPT));
    expect(behind).toMatchObject({ rows: 0, end: T0 - 120, start: T0 - 55 });
    expect(behind.data).toEqual([]);
    // Offsets that are not a multiple of the step keep row times on the host's own 5 s grid.
    e.setClockOffset(HOST_A, 7);
    const odd = parseCurrent(e.rrdUpdates(HOST_A, q(T0 - 53), JSON_ACCEPT));
    expect(odd.end).toBe(T0 + 5);
    expect(odd.data.every((d) => d.t % 5 === 0)).toBe(true);
    expect(odd.data[0]!.values).toEqual(plain.data[0]!.values);
    e.setClockOffset(HOST_A, 0);
    expect(parseCurrent(e.rrdUpdates(HOST_A, q(T0 - 60), JSON_ACCEPT))).toEqual(plain);
  });

  it('a halted VM loses its RRD; a restart begins with NaN history', () => {
    const pool = pool2();
    const e = engine(pool);
    e.advance(T0);
    pool.halt(VM2);
    e.advance(T0 + 10);
    expect(e.dataSourceNames('vm', VM2)).toEqual([]);
    pool.hostSpecs[0]!.residentVmUuids.push(VM2);
    e.advance(T0 + 20);
    expect(e.value('vm', VM2, 'cpu0', T0)).toBeNaN();
    expect(e.value('vm', VM2, 'cpu0', T0 + 20)).not.toBeNaN();
  });
});

describe('wire formats vs real samples', () => {
  const legacyFixture = readFileSync(new URL('dd_ch82_rrd_updates_legacy.json5', fixtures), 'latin1');
  const xmlFixture = readFileSync(new URL('dd_ch82_rrd_updates.xml', fixtures), 'latin1').replace('?>\\n<', '?>\n<');
  const synthJson = readFileSync(new URL('synth_rrd_updates_v25.3plus.json', fixtures), 'latin1');
  const synthXml = readFileSync(new URL('synth_rrd_updates_v25.3plus.xml', fixtures), 'latin1');

  // The fixture files end with a newline; xapi's bodies do not.
  const trimFile = (s: string): string => s.replace(/\n$/, '');

  /** Replaces every datum by a placeholder keeping its class, so two bodies can be compared for shape. */
  const skeleton = (s: string): string =>
    trimFile(s)
      .replace(/"(AVERAGE|MIN|MAX):[^"]+"/g, '"L"')
      .replace(/<entry>[^<]+<\/entry>/g, '<entry>L</entry>')
      .replace(/(<entry>L<\/entry>)+/g, '<entry>L</entry>…')
      .replace(/("L",)*"L"/g, '"L"…')
      .replace(/-?\d+\.\d{4}\b|NaN|-?Infinity|\b\d+(\.\d+)?(e[-+]\d+)?\b/g, '9')
      .replace(/(<v>9<\/v>)+/g, '<v>9</v>…')
      .replace(/("9",)*"9"/g, '"9"…')
      .replace(/(9,)*9\]/g, '9…]')
      .replace(/(<row><t>9<\/t><v>9<\/v>…<\/row>)+/g, '<row>…</row>…')
      .replace(/(\{"t":"9","values":\["9"…\]\},?)+/g, '{row}…')
      .replace(/(\{t:9,values:\[9…\]\},?)+/g, '{row}…');

  const one = (version: string, q: Q, accept?: string): string => {
    const pool = pool2();
    const e = engine(pool, version);
    e.advance(T0);
    return body(e.rrdUpdates(HOST_A, [['start', String(T0 - 25)], ['host', 'true'], ...q], accept));
  };

  it('legacy JSON (CH 8.2) has the capture\'s shape and %.4f numbers', () => {
    const ours = one('ch-8.2', [['json', '']]);
    expect(skeleton(ours)).toBe(skeleton(legacyFixture));
    expect(ours.startsWith('{meta: {start:')).toBe(true);
    const values = /values:\[([^\]]*)\]/.exec(ours)![1]!.split(',');
    for (const v of values) expect(v).toMatch(/^(-?\d+\.\d{4}|0\.0|NaN|-?Infinity)$/);
  });

  it('legacy XML (CH 8.2) has the capture\'s shape', () => {
    const ours = one('ch-8.2', []);
    expect(skeleton(ours)).toBe(skeleton(xmlFixture));
    for (const m of ours.matchAll(/<v>([^<]*)<\/v>/g)) expect(m[1]).toMatch(/^(-?\d+\.\d{4}|0\.0|NaN|-?Infinity)$/);
  });

  it('current JSON and XML have the synthesised v25.3+ shape and %.15g numbers', () => {
    const json = one('current', [], JSON_ACCEPT);
    expect(skeleton(json)).toBe(skeleton(synthJson));
    const parsed = JSON.parse(json) as { meta: object; data: Array<{ values: string[] }> };
    expect(Object.keys(parsed)).toEqual(['meta', 'data']);
    expect(Object.keys(parsed.meta)).toEqual(['start', 'step', 'end', 'rows', 'columns', 'legend']);
    for (const v of parsed.data.flatMap((d) => d.values)) {
      expect(v === '0.0' || v === 'NaN' || /Infinity$/.test(v) || Number(v) === Math.fround(Number(v)) || Number(v).toPrecision(15) === Number(v).toPrecision(15)).toBe(true);
      if (v !== '0.0') expect(v).not.toMatch(/\.\d*0$|e[-+]\d$/); // %g strips trailing zeros, exponents have two digits
    }
    expect(skeleton(one('current', [], 'text/xml'))).toBe(skeleton(synthXml));
  });

  it('nested JSON (24.5–24.10) keeps data inside meta; content-type only from 23.17', () => {
    const pool = pool2();
    const e = engine(pool, '24.10.0');
    e.advance(T0);
    const r = e.rrdUpdates(HOST_A, [['start', String(T0 - 5)], ['host', 'true'], ['json', 'false']], undefined);
    const j = JSON.parse(body(r)) as { meta: Record<string, unknown> };
    expect(Object.keys(j)).toEqual(['meta']);
    expect(Object.keys(j.meta)).toEqual(['start', 'step', 'end', 'rows', 'columns', 'legend', 'data']);
    expect(r.ok && r.contentType).toBe('application/json');
    const old = engine(pool, 'ch-8.2');
    old.advance(T0);
    const ro = old.rrdUpdates(HOST_A, [['start', String(T0 - 5)], ['host', 'true'], ['json', '']], 'application/json');
    expect(ro.ok && ro.contentType).toBeUndefined();
    const rx = old.rrdUpdates(HOST_A, [['start', String(T0 - 5)], ['host', 'true']], 'application/json');
    expect(rx.ok && rx.contentType).toBe('text/xml');
  });

  it('legacy JSON with zero rows is an exception (xapi indexes row -1); the others answer', () => {
    const pool = pool2();
    const old = engine(pool, 'ch-8.2');
    old.advance(T0);
    const q: Q = [['start', String(T0 + 50)], ['host', 'true'], ['json', '']];
    expect(old.rrdUpdates(HOST_A, q, undefined)).toEqual({ ok: false, exception: 'Invalid_argument("index out of bounds")' });
    const cur = engine(pool);
    cur.advance(T0);
    expect(body(cur.rrdUpdates(HOST_A, q, undefined))).toMatch(/\},"data":\[\]\}$/);
  });

  it('unparseable Accept is a 500 only in 23.17–25.6', () => {
    const pool = pool2();
    const e = engine(pool, '25.1.0');
    e.advance(T0);
    const r = e.rrdUpdates(HOST_A, [['start', String(T0)], ['host', 'true']], 'text');
    expect(r.ok).toBe(false);
  });

  it('rrddump (host_rrd / vm_rrd) in XML and JSON', () => {
    const pool = pool2();
    const e = engine(pool, 'ch-8.2');
    e.advance(T0);
    const xml = body(e.hostRrd(HOST_A, false));
    expect(xml.startsWith(`<?xml version="1.0" encoding="UTF-8"?>\n<rrd><version>0003</version><step>5</step><lastupdate>${T0}</lastupdate><ds><name>memory_reclaimed_max</name><type>GAUGE</type><minimal_heartbeat>300.0000</minimal_heartbeat><min>-Infinity</min><max>Infinity</max>`)).toBe(true);
    expect((xml.match(/<rra>/g) ?? []).length).toBe(4);
    const json = JSON.parse(body(e.hostRrd(HOST_A, true))) as { ds: Array<Record<string, string>>; rra: Array<{ database: string[][] }> };
    const real = JSON.parse(readFileSync(new URL('dd_ch82_host_rrd_truncated.json', fixtures), 'latin1')) as { ds: Array<Record<string, string>> };
    expect(Object.keys(json.ds[0]!)).toEqual(Object.keys(real.ds[0]!));
    expect(json.ds[0]!.name).toBe(real.ds[0]!.name);
    expect(json.rra[0]!.database).toHaveLength(120);
    const cur = engine(pool);
    cur.advance(T0);
    const vm = JSON.parse(body(cur.vmRrd(VM1, true))) as { ds: Array<Record<string, string>> };
    expect(Object.keys(vm.ds[0]!)).toContain('minimal_heartbeat');
    expect(cur.vmRrd('nope', false).ok).toBe(false);
  });
});
