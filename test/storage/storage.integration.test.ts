// Wire test of the four storage receivers: real simulator over HTTPS → real XapiPool (login, get_all_records,
// event.from) → scrapers. Checks that storage dynamics show in the next scrapes, that each storage alert is a
// single comparison on one metric that fires and clears, that steady-state scrapes make no XAPI request, and
// that none of the simulator's planted secrets (SIMSECRET-…) reaches an output.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createXapiPool } from '../../src/lib/xapi/index.ts';
import type { Inventory, XapiPool } from '../../src/lib/xapi/types.ts';
import { isSecretKey } from '../../src/lib/redact/index.ts';
import { captureLogger, testSettings, type LogLine } from '../../src/lib/storage/testing.ts';
import type { MetricBatch, ReceiverFactory, Scraper, ScrapeResult } from '../../src/plugin-api/index.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { RunningSimulator } from '../../src/simulator/api.ts';
import { factory as multipath } from '../../plugins/multipath/index.ts';
import { factory as pbdAttachment } from '../../plugins/pbd_attachment/index.ts';
import { factory as srUsage } from '../../plugins/sr_usage/index.ts';
import { factory as storageTargets } from '../../plugins/storage_targets/index.ts';

let sim: RunningSimulator;
let pool: XapiPool;
let scraperIo = 0;
let scraperLines: LogLine[] = [];
const scrapers: Record<string, Scraper> = {};

/** Counts every request a scraper could make through the pool (the inventory read is free). */
function countingPool(inner: XapiPool): XapiPool {
  return {
    name: inner.name,
    start: (s) => inner.start(s),
    ready: (s) => inner.ready(s),
    inventory: () => inner.inventory(),
    call: (method, params, s) => {
      scraperIo++;
      return inner.call(method, params, s);
    },
    hostServerTime: (ref, s) => {
      scraperIo++;
      return inner.hostServerTime(ref, s);
    },
    getFromHost: (ref, req) => {
      scraperIo++;
      return inner.getFromHost(ref, req);
    },
    stats: () => inner.stats(),
    close: () => inner.close(),
  };
}

beforeAll(async () => {
  sim = await startSimulator({
    hosts: 4,
    vmsPerHost: 1,
    seed: 5,
    historySeconds: 30,
    dynamics: { enabled: false, meanIntervalSeconds: 60 },
    adminPort: null,
    authFailureDelayMs: 0,
  });
  const monitor = sim.info.users.find((u) => u.role === 'read-only')!;
  const { logger } = captureLogger();
  pool = createXapiPool({
    name: 'sim',
    endpoints: [sim.info.master_url],
    username: monitor.username,
    password: { reveal: () => monitor.password },
    tls: { ca: readFileSync(sim.info.ca_file!), insecureSkipVerify: false },
    requestTimeoutMs: 5_000,
    maxConcurrentHosts: 4,
    maxResponseBytes: 64 * 1024 * 1024,
    originator: 'storage-integration-test',
    logger,
    eventTimeoutSeconds: 5,
  });
  await pool.start(AbortSignal.timeout(10_000));
  await pool.ready(AbortSignal.timeout(10_000));
  const test = testSettings([countingPool(pool)], 'storage/sim', Date.now());
  scraperLines = test.lines;
  const withRealClock = { ...test.settings, clock: { now: () => Date.now() } };
  const factories: ReceiverFactory<{ pools: string[]; metrics: Record<string, { enabled: boolean }> }>[] = [srUsage, pbdAttachment, multipath, storageTargets];
  for (const f of factories) scrapers[f.type] = f.createScraper(withRealClock, f.configSchema.parse({ pools: ['sim'] }));
});

afterAll(async () => {
  await pool?.close();
  await sim?.stop();
});

const scrape = (type: string): Promise<ScrapeResult> => scrapers[type]!.scrape(AbortSignal.timeout(5_000));

/** Every point of `metric` as { resource attrs, point attrs, value }. */
function pointsOf(batch: MetricBatch, metric: string) {
  return batch.resources.flatMap((r) =>
    r.metrics
      .filter((m) => m.definition.name === metric)
      .flatMap((m) => m.series.map((s) => ({ resource: r.resource, attributes: s.attributes, value: s.values[s.values.length - 1]! }))),
  );
}

/** The alert expressions of plugins/STORAGE-ALERTS.md, each one comparison on one metric. */
const alerts = {
  srFull: (b: MetricBatch) => pointsOf(b, 'xen.sr.utilization').filter((p) => p.value > 0.85),
  pbdDetached: (b: MetricBatch) => pointsOf(b, 'xen.sr.hosts.detached').filter((p) => p.value > 0),
  multipathDegraded: (b: MetricBatch) => pointsOf(b, 'xen.pbd.multipath.degraded').filter((p) => p.value === 1),
};

/** Scrapes until `check` passes (the inventory follows the simulator through event.from) or the deadline. */
async function scrapeUntil(type: string, check: (b: MetricBatch) => boolean, timeoutMs = 8_000): Promise<MetricBatch> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { batch } = await scrape(type);
    if (check(batch)) return batch;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms for ${type}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function inventory(): Inventory {
  return pool.inventory();
}

describe('storage receivers against the simulated pool', () => {
  it('scrape the whole pool without errors and without XAPI requests', async () => {
    const before = scraperIo;
    for (const type of Object.keys(scrapers)) {
      const { batch, errors } = await scrape(type);
      expect(errors, type).toEqual([]);
      expect(batch.resources.length, type).toBeGreaterThan(0);
    }
    expect(scraperIo).toBe(before);
    // Every SR of the inventory is there; the never-scanned SMB SR reports no ratio.
    const usage = (await scrape('sr_usage')).batch;
    const unscanned = [...inventory().srs.values()].filter((sr) => sr.physical_size < 0).map((sr) => sr.uuid);
    expect(unscanned.length).toBeGreaterThan(0);
    for (const p of pointsOf(usage, 'xen.sr.utilization')) expect(unscanned).not.toContain(p.resource['xen.sr.uuid']);
    // Baseline: no alert fires on the freshly built pool.
    expect(alerts.pbdDetached((await scrape('pbd_attachment')).batch)).toEqual([]);
    expect(alerts.multipathDegraded((await scrape('multipath')).batch)).toEqual([]);
    // iSCSI portals of the multihomed SR: one series per portal.
    const targets = pointsOf((await scrape('storage_targets')).batch, 'xen.pbd.target.info');
    expect(new Set(targets.map((p) => p.attributes['xen.storage.protocol']))).toEqual(new Set(['iscsi', 'fc', 'nfs', 'iso', 'smb', 'local']));
  });

  it('SR > 85 % full fires after growth and clears after clean-up', async () => {
    const sr = [...inventory().srs.values()].find((s) => s.type === 'nfs' && s.physical_size > 0)!;
    const mine = (b: MetricBatch) => alerts.srFull(b).filter((p) => p.resource['xen.sr.uuid'] === sr.uuid);
    if (mine((await scrape('sr_usage')).batch).length > 0) sim.admin.triggerDynamics('sr_cleanup', sr.uuid);
    await scrapeUntil('sr_usage', (b) => mine(b).length === 0);
    for (let i = 0; i < 60; i++) {
      const outcome = sim.admin.triggerDynamics('sr_grow', sr.uuid);
      if (Number(/to ([\d.]+)%/.exec(outcome)?.[1]) > 85) break;
    }
    const fired = await scrapeUntil('sr_usage', (b) => mine(b).length === 1);
    expect(mine(fired)[0]!.value).toBeGreaterThan(0.85);
    sim.admin.triggerDynamics('sr_cleanup', sr.uuid);
    await scrapeUntil('sr_usage', (b) => mine(b).length === 0);
  });

  it('PBD detached fires after pbd_detach and clears after pbd_attach', async () => {
    const inv = inventory();
    const pbd = [...inv.pbds.values()].find((p) => inv.srs.get(p.SR)?.type === 'nfs' && p.currently_attached)!;
    const srUuid = inv.srs.get(pbd.SR)!.uuid;
    const mine = (b: MetricBatch) => alerts.pbdDetached(b).filter((p) => p.resource['xen.sr.uuid'] === srUuid);
    sim.admin.triggerDynamics('pbd_detach', pbd.uuid);
    const fired = await scrapeUntil('pbd_attachment', (b) => mine(b).length === 1);
    expect(mine(fired)[0]!.value).toBe(1);
    const attached = pointsOf(fired, 'xen.pbd.attached').find((p) => p.attributes['xen.pbd.uuid'] === pbd.uuid);
    expect(attached?.value).toBe(0);
    sim.admin.triggerDynamics('pbd_attach', pbd.uuid);
    await scrapeUntil('pbd_attachment', (b) => mine(b).length === 0);
  });

  it('multipath degraded fires after a path drop and clears after restore', async () => {
    const pbd = [...inventory().pbds.values()].find((p) => Object.values(p.other_config).some((v) => /^\[(\d+), (\d+)\]$/.test(v)))!;
    const mine = (b: MetricBatch) => alerts.multipathDegraded(b).filter((p) => p.attributes['xen.pbd.uuid'] === pbd.uuid);
    const outcome = sim.admin.triggerDynamics('mpath_drop', pbd.uuid);
    const fired = await scrapeUntil('multipath', (b) => mine(b).length === 1);
    const lun = mine(fired)[0]!.attributes['xen.lun.scsi_id'];
    expect(outcome).toContain(`mpath-${String(lun)}`);
    const active = pointsOf(fired, 'xen.pbd.multipath.paths.active').find((p) => p.attributes['xen.pbd.uuid'] === pbd.uuid && p.attributes['xen.lun.scsi_id'] === lun);
    const max = pointsOf(fired, 'xen.pbd.multipath.paths.max').find((p) => p.attributes['xen.pbd.uuid'] === pbd.uuid && p.attributes['xen.lun.scsi_id'] === lun);
    expect(active!.value).toBe(max!.value - 1);
    sim.admin.triggerDynamics('mpath_restore', pbd.uuid);
    await scrapeUntil('multipath', (b) => mine(b).length === 0);
  });

  it('exports, logs and reports no device_config secret of the simulated pool', async () => {
    // Ground truth: every secret-looking device_config value the pool really holds (plaintext CHAP, *_secret uuids …).
    const secrets = new Set<string>();
    for (const pbd of inventory().pbds.values()) {
      for (const [key, value] of Object.entries(pbd.device_config)) if (isSecretKey(key) && value.length > 0) secrets.add(value);
    }
    expect(secrets.size).toBeGreaterThan(3);
    const outputs: string[] = [];
    for (const type of Object.keys(scrapers)) {
      const { batch, errors } = await scrape(type);
      outputs.push(JSON.stringify(batch), JSON.stringify(errors.map((e) => [e.message, e.details, e.item])));
    }
    expect(scraperLines.length).toBeGreaterThan(0);
    outputs.push(JSON.stringify(scraperLines));
    const text = outputs.join('\n');
    expect(text).not.toContain('SIMSECRET');
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
});
