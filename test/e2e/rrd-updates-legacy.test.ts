// rrd_updates against a simulated CH / XCP-ng 8.2 pool (xapi 1.249.x: no `software_version.xapi_build`, legacy
// JSON writer). That writer fails with HTTP 500 when a response has zero rows (notes/xapi.md §1.6 (a)), which is
// every cycle in which a host has no row newer than the cursor. `format: auto` (the default) reads such hosts as
// XML: the empty cycle is no error, and the next cycle continues where the last row was, so no row is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factory } from '../../plugins/rrd_updates/index.ts';
import type { RrdUpdatesScraper } from '../../plugins/rrd_updates/scraper.ts';
import type { XapiPool } from '../../src/lib/xapi/types.ts';
import type { MetricBatch, ScrapeResult } from '../../src/plugin-api/index.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { recordingLogger, type LogEntry } from '../core/helpers.ts';
import { receiverSettings, startSimulatedPool } from './support.ts';

/** Simulated seconds per real second: one 5 s row per second of test time. */
const TIME_SCALE = 5;
let sim: RunningSimulator;
let pool: XapiPool;

beforeAll(async () => {
  ({ sim, pool } = await startSimulatedPool(
    { hosts: 2, vmsPerHost: 1, seed: 3, xapiVersion: 'ch-8.2', timeScale: TIME_SCALE, historySeconds: 600 },
    { originator: 'rrd-legacy-test', requestTimeoutMs: 5_000, maxConcurrentHosts: 2 },
  ));
  await pool.ready(AbortSignal.timeout(10_000));
});
afterAll(async () => {
  await pool?.close();
  await sim?.stop();
});

function scraper(config: Record<string, unknown> = {}, logs: LogEntry[] = []): RrdUpdatesScraper {
  return factory.createScraper(receiverSettings('rrd_updates/legacy', pool, recordingLogger(logs)), factory.configSchema.parse({ pools: ['sim'], ...config })) as RrdUpdatesScraper;
}

async function scrape(s: RrdUpdatesScraper): Promise<ScrapeResult> {
  const result = await s.scrape(AbortSignal.timeout(10_000));
  result.onDelivery?.({ allDelivered: true, delivered: () => true });
  return result;
}

const selfValue = (batch: MetricBatch, hostUuid: string, metric: string): number | undefined =>
  batch.resources.find((r) => r.key === `host:${hostUuid}`)?.metrics.find((m) => m.definition.name === metric)?.series[0]?.values[0];

/** Row times (s) of the host's average CPU in a batch. */
function cpuTimes(batch: MetricBatch, hostUuid: string): number[] {
  const series = batch.resources.find((r) => r.key === `host:${hostUuid}`)?.metrics.find((m) => m.definition.name === 'xen.host.cpu.average_utilization')?.series[0];
  return series ? Array.from(series.timesMs, (t) => t / 1000) : [];
}

/** Polls (with a deadline) until the simulated clock is just past a 5 s boundary, so the next ~4 s hold no new row. */
async function justAfterRow(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const phase = sim.now() % 5000;
    if (phase > 50 && phase < 500) return;
    if (Date.now() > deadline) throw new Error('no row boundary seen');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Scrapes three times within one row interval: the second and third scrapes ask for the same `start`, past the
 * newest row, and get zero rows. On a loaded machine the three may straddle a row boundary: such an attempt is not
 * used and the three scrapes run again after the next boundary, until a deadline that fails with a clear message.
 */
async function emptyCycles(s: RrdUpdatesScraper): Promise<{ first: ScrapeResult; empty: ScrapeResult[] }> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    await justAfterRow();
    const rowBefore = Math.floor(sim.now() / 5000);
    const first = await scrape(s);
    const empty = [await scrape(s), await scrape(s)];
    if (Math.floor(sim.now() / 5000) === rowBefore) return { first, empty };
    if (Date.now() > deadline) throw new Error('three scrapes never fitted in one row interval');
  }
}

/** Resolves when the simulated clock reaches `ms` (poll with a deadline, no fixed sleep). */
async function untilPoolTime(ms: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (sim.now() < ms) {
    if (Date.now() > deadline) throw new Error('simulated time did not advance');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('rrd_updates on a legacy (CH 8.2) pool', () => {
  it('the simulated hosts report no xapi_build (xapi is the API version), so auto reads them as XML', () => {
    for (const host of pool.inventory().hosts.values()) {
      expect(host.software_version['xapi_build']).toBeUndefined();
      expect(host.software_version['product_version']).toBe('8.2.0');
    }
  });

  it('format auto: a cycle with no new row is no error, and no row is lost across it', async () => {
    const logs: LogEntry[] = [];
    const s = scraper({}, logs);
    const { first, empty } = await emptyCycles(s);
    expect(first.errors).toEqual([]);
    const hosts = sim.info.hosts;
    for (const e of empty) {
      expect(e.errors).toEqual([]);
      for (const h of hosts) {
        expect(selfValue(e.batch, h.uuid, 'xen.rrd.scrape.up')).toBe(1);
        expect(selfValue(e.batch, h.uuid, 'xen.rrd.scrape.rows')).toBe(0);
      }
    }
    // Same start twice per host (the cursor did not move on an empty response).
    const starts = (host: string) => logs.filter((l) => l.msg === 'rrd_updates scraped' && (l.obj as { host?: string }).host === host).map((l) => (l.obj as { start: number }).start);
    for (const h of hosts) {
      // The last three scrapes are the attempt emptyCycles returned (an earlier straddled attempt may precede it).
      const [, second, third] = starts(h.uuid).slice(-3);
      expect(second).toBeDefined();
      expect(third).toBe(second);
    }
    expect(logs.filter((l) => l.msg === 'rrd_updates format chosen for host').map((l) => (l.obj as { format: string }).format)).toEqual(hosts.map(() => 'xml'));
    // The next rows continue right after the last row of the first scrape: wait until two more rows exist.
    const newest = Math.max(...hosts.flatMap((h) => cpuTimes(first.batch, h.uuid)));
    await untilPoolTime((newest + 2 * 5) * 1000 + 500);
    const next = await scrape(s);
    expect(next.errors).toEqual([]);
    for (const h of hosts) {
      const times = [...cpuTimes(first.batch, h.uuid), ...empty.flatMap((e) => cpuTimes(e.batch, h.uuid)), ...cpuTimes(next.batch, h.uuid)];
      expect(cpuTimes(next.batch, h.uuid).length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBe(5);
    }
  });

  it('format json (explicit) still wins: the same empty cycle is the legacy writer’s HTTP 500', async () => {
    const s = scraper({ format: 'json' });
    const { first, empty } = await emptyCycles(s);
    expect(first.errors).toEqual([]);
    expect(empty[0]!.errors.length).toBe(sim.info.hosts.length);
    for (const e of empty[0]!.errors) expect(e.code).toBe('XAPI_ERR_HTTP_STATUS');
  });
});
