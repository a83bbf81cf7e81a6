// The rrd_updates scraper against the embedded simulated pool over HTTPS with a real XapiPool: cursor, replay,
// partial delivery, step fallback, clock skew and a dead host. (Lives under test/: plugins may not import the
// simulator.)
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { factory } from '../../plugins/rrd_updates/index.ts';
import { RrdUpdatesScraper } from '../../plugins/rrd_updates/scraper.ts';
import type { XapiPool } from '../../src/lib/xapi/types.ts';
import type { DeliveryReport, MetricBatch, ScrapeResult } from '../../src/plugin-api/index.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { recordingLogger, type LogEntry } from '../core/helpers.ts';
import { receiverSettings, startSimulatedPool } from './support.ts';

const TIME_SCALE = 20;
let sim: RunningSimulator;
let pool: XapiPool;
let logs: LogEntry[] = [];

beforeAll(async () => {
  ({ sim, pool } = await startSimulatedPool(
    { hosts: 3, vmsPerHost: 3, seed: 11, timeScale: TIME_SCALE, historySeconds: 3600 },
    { originator: 'rrd-scraper-test', requestTimeoutMs: 2000, maxConcurrentHosts: 2 },
  ));
});
afterAll(async () => {
  await pool.close();
  await sim.stop();
});
afterEach(async () => {
  sim.admin.clearFaults();
  logs = [];
});

function scraper(config: Record<string, unknown> = {}): RrdUpdatesScraper {
  return factory.createScraper(receiverSettings('rrd_updates', pool, recordingLogger(logs)), factory.configSchema.parse({ pools: ['sim'], ...config })) as RrdUpdatesScraper;
}

interface Point {
  key: string;
  metric: string;
  attrs: string;
  t: number;
  v: number;
}

function points(batch: MetricBatch): Point[] {
  const out: Point[] = [];
  for (const r of batch.resources) {
    for (const m of r.metrics) {
      for (const s of m.series) {
        for (let i = 0; i < s.timesMs.length; i++) out.push({ key: r.key, metric: m.definition.name, attrs: JSON.stringify(s.attributes), t: s.timesMs[i]! / 1000, v: s.values[i]! });
      }
    }
  }
  return out;
}

const deliverAll: DeliveryReport = { allDelivered: true, delivered: () => true };
const deliverNone: DeliveryReport = { allDelivered: false, delivered: () => false };

async function scrape(s: RrdUpdatesScraper, report: DeliveryReport = deliverAll): Promise<ScrapeResult> {
  const result = await s.scrape(AbortSignal.timeout(10_000));
  result.onDelivery?.(report);
  return result;
}

/** Waits (poll with deadline) until the simulated clock has moved `seconds` further. */
async function simAdvance(seconds: number): Promise<void> {
  const target = sim.now() + seconds * 1000;
  const deadline = Date.now() + 20_000;
  while (sim.now() < target) {
    if (Date.now() > deadline) throw new Error('simulator clock did not advance');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const selfValue = (batch: MetricBatch, hostUuid: string, metric: string): number | undefined => {
  const r = batch.resources.find((x) => x.key === `host:${hostUuid}`);
  return r?.metrics.find((m) => m.definition.name === metric)?.series[0]?.values[0];
};

const hosts = () => sim.info.hosts;
const member = () => sim.info.hosts.find((h) => !h.master)!;

describe('rrd_updates scraper against the simulator', () => {
  it('exports each row once, with its host timestamp and the simulator value', async () => {
    const s = scraper();
    const first = await scrape(s);
    expect(first.errors).toEqual([]);
    for (const h of hosts()) expect(selfValue(first.batch, h.uuid, 'xen.rrd.scrape.up')).toBe(1);
    const p1 = points(first.batch);
    await simAdvance(20);
    const second = await scrape(s);
    const p2 = points(second.batch);

    // Host CPU average: each 5 s row once across both scrapes, values as served.
    for (const h of hosts()) {
      const rows = [...p1, ...p2].filter((p) => p.key === `host:${h.uuid}` && p.metric === 'xen.host.cpu.average_utilization').map((p) => p);
      const times = rows.map((p) => p.t);
      expect(new Set(times).size).toBe(times.length);
      expect(times.length).toBeGreaterThanOrEqual(12 + 3);
      const sorted = [...times].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(5);
      for (const p of rows) expect(p.v).toBeCloseTo(sim.rrdValue('host', h.uuid, 'cpu_avg', p.t), 12);
      // The second scrape starts right after the first one's newest row.
      const firstNewest = Math.max(...p1.filter((p) => p.key === `host:${h.uuid}` && p.metric === 'xen.host.cpu.average_utilization').map((p) => p.t));
      expect(s.cursorOf('sim', h.uuid)!.delivered).toBeGreaterThan(firstNewest);
    }
    // VM memory in bytes, exactly the served value.
    const vm = p2.find((p) => p.metric === 'xen.vm.memory.allocated')!;
    expect(vm.v).toBe(sim.rrdValue('vm', vm.key.slice(3), 'memory', vm.t));
  });

  it('replays undelivered rows, and never repeats rows of resources that were delivered', async () => {
    const s = scraper();
    const a = await scrape(s, deliverNone);
    const again = await scrape(s, { allDelivered: false, delivered: (k) => k.startsWith('host:') });
    const pa = points(a.batch);
    const pAgain = points(again.batch);
    const keyed = (p: Point) => `${p.key}|${p.metric}|${p.attrs}|${p.t}`;
    const seenAgain = new Set(pAgain.map(keyed));
    // Everything of the undelivered scrape comes back.
    for (const p of pa) if (!p.metric.startsWith('xen.rrd.')) expect(seenAgain.has(keyed(p))).toBe(true);

    await simAdvance(10);
    const third = await scrape(s);
    const p3 = points(third.batch).filter((p) => !p.metric.startsWith('xen.rrd.'));
    const hostPoints = p3.filter((p) => p.key.startsWith('host:'));
    const vmPoints = p3.filter((p) => p.key.startsWith('vm:'));
    // Host resources were delivered: none of their rows repeats; VMs were not: their rows come again.
    for (const p of hostPoints) expect(seenAgain.has(keyed(p))).toBe(false);
    expect(vmPoints.some((p) => seenAgain.has(keyed(p)))).toBe(true);
    const c = s.cursorOf('sim', member().uuid)!;
    expect(c.hasAhead).toBe(false);
  });

  it('a dead host is up=0 with an item error; the other hosts complete', async () => {
    const s = scraper();
    await scrape(s);
    const dead = member();
    sim.admin.setFault(dead.uuid, { kind: 'down' });
    await simAdvance(10);
    const r = await scrape(s);
    expect(r.errors.map((e) => e.item)).toEqual([`host:${dead.uuid}`]);
    expect(r.errors[0]!.code).toMatch(/^XAPI_ERR_/);
    expect(selfValue(r.batch, dead.uuid, 'xen.rrd.scrape.up')).toBe(0);
    for (const h of hosts().filter((x) => x.uuid !== dead.uuid)) expect(selfValue(r.batch, h.uuid, 'xen.rrd.scrape.up')).toBe(1);
    expect(points(r.batch).some((p) => p.key.startsWith('vm:'))).toBe(true);
  });

  it('reads the bodies into buffers kept across cycles, one per host request in flight; a failed request\'s buffer is not reused', async () => {
    const s = scraper({ max_concurrent_hosts_global: 2 });
    await scrape(s);
    const created = s.receiveBuffersCreated;
    expect(created).toBe(2);
    for (let i = 0; i < 3; i++) {
      await simAdvance(5);
      const r = await scrape(s);
      expect(r.errors).toEqual([]);
      expect(points(r.batch).some((p) => p.key.startsWith('vm:'))).toBe(true);
    }
    expect(s.receiveBuffersCreated).toBe(created);
    // An aborted transfer could still write into its buffer, so a failed request's buffer is dropped.
    sim.admin.setFault(member().uuid, { kind: 'http500', count: 1 });
    await simAdvance(5);
    expect((await scrape(s)).errors).toHaveLength(1);
    await simAdvance(5);
    expect((await scrape(s)).errors).toEqual([]);
    expect(s.receiveBuffersCreated).toBe(created + 1);
  });

  it('a cursor older than the 5 s archive gets 60 s rows: exported with their real step, counted, logged once', async () => {
    const s = scraper({ max_backfill: '2h' });
    await scrape(s, deliverNone); // initialise every cursor
    const h = member();
    const c = s.cursorOf('sim', h.uuid)!;
    c.initialize(sim.now() - 30 * 60_000);
    const r = await scrape(s);
    expect(selfValue(r.batch, h.uuid, 'xen.rrd.scrape.step')).toBe(60);
    expect(selfValue(r.batch, h.uuid, 'xen.rrd.scrape.step_fallbacks')).toBe(1);
    const cpu = points(r.batch).filter((p) => p.key === `host:${h.uuid}` && p.metric === 'xen.host.cpu.average_utilization');
    expect(cpu.length).toBeGreaterThanOrEqual(25);
    for (const p of cpu) {
      expect(p.t % 60).toBe(0);
      expect(p.v).toBeCloseTo(sim.rrdValue('host', h.uuid, 'cpu_avg', p.t, 'AVERAGE', 60), 12);
    }
    await simAdvance(10);
    const back = await scrape(s);
    expect(selfValue(back.batch, h.uuid, 'xen.rrd.scrape.step')).toBe(5);
    expect(logs.filter((l) => l.msg.startsWith('host answered from a coarser archive'))).toHaveLength(1);
  });

  it('a host clock behind the cursor gives no rows and no error', async () => {
    const s = scraper();
    await scrape(s);
    const h = member();
    sim.admin.setFault(h.uuid, { kind: 'clock_skew', seconds: -300 });
    const r = await scrape(s);
    expect(r.errors).toEqual([]);
    expect(selfValue(r.batch, h.uuid, 'xen.rrd.scrape.up')).toBe(1);
    expect(points(r.batch).filter((p) => p.key === `host:${h.uuid}` && !p.metric.startsWith('xen.rrd.'))).toEqual([]);
  });

  it('caps rows per cycle and catches up oldest first', async () => {
    const s = scraper({ max_rows_per_cycle: 4 });
    await scrape(s, deliverNone);
    const h = hosts()[0]!;
    const before = s.cursorOf('sim', h.uuid)!.delivered!;
    const r = await scrape(s);
    const times = [...new Set(points(r.batch).filter((p) => p.key === `host:${h.uuid}` && !p.metric.startsWith('xen.rrd.')).map((p) => p.t))].sort();
    const first = Math.floor(before / 5) * 5 + 5; // the first 5 s row after the cursor
    expect(times).toEqual([first, first + 5, first + 10, first + 15]);
    expect(s.cursorOf('sim', h.uuid)!.delivered).toBe(first + 15);
  });
});
