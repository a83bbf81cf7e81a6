// Measures the RRD engine at pool scale: `npx node src/simulator/rrd/measure.ts [hosts] [vmsPerHost] [historySec]`.
// Prints memory (RSS, typed-array bytes) and timings (repeated requests, a poller's pattern with one new row per
// request, and first requests whose rows are all new); asserts nothing.
/* eslint-disable no-console -- a measurement script prints its figures */
import { performance } from 'node:perf_hooks';
import { createRrdEngine, wireProfileFor } from './index.ts';
import { bigPool, uuidOf } from './test-pool.ts';

const hosts = Number(process.argv[2] ?? 64);
const vmsPerHost = Number(process.argv[3] ?? 100);
const historySec = Number(process.argv[4] ?? 600);
const now = 1_699_999_200;

const rss0 = process.memoryUsage().rss;
const pool = bigPool(hosts, vmsPerHost);
const t0 = performance.now();
const engine = createRrdEngine({ seed: 1, view: pool, profile: wireProfileFor('current'), minMaxRras: false, historyStartSec: now - historySec });
engine.advance(now);
const fill = performance.now() - t0;
const t1 = performance.now();
engine.advance(now + 5);
const oneStep = performance.now() - t1;
const t2 = performance.now();
engine.advance(now + 65);
const twelveSteps = (performance.now() - t2) / 12;

const host = uuidOf(0, 'host');
let clock = now + 65;
const columns = engine.dataSourceNames('host', host).length + pool.hostSpecs[0]!.residentVmUuids.reduce((n, u) => n + engine.dataSourceNames('vm', u).length, 0);

/** A poller's pattern: each request comes after one new 5 s row, so only that row is formatted fresh. */
function timePolling(label: string, rows: number, accept: string): void {
  const runs = 10;
  let total = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    clock += 5;
    engine.advance(clock);
    const s = performance.now();
    const r = engine.rrdUpdates(host, [['start', String(clock - 5 * (rows - 1))], ['host', 'true']], accept);
    total += performance.now() - s;
    if (r.ok) bytes = r.body.length;
  }
  console.log(`${label.padEnd(34)} ${(total / runs).toFixed(2).padStart(7)} ms  ${bytes} B`);
}

/** A first request: every requested row is new (nothing of it formatted yet). */
function timeCold(label: string, rows: number, accept: string): void {
  const runs = 5;
  let total = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    clock += 5 * rows;
    engine.advance(clock);
    const s = performance.now();
    const r = engine.rrdUpdates(host, [['start', String(clock - 5 * (rows - 1))], ['host', 'true']], accept);
    total += performance.now() - s;
    if (r.ok) bytes = r.body.length;
  }
  console.log(`${label.padEnd(34)} ${(total / runs).toFixed(2).padStart(7)} ms  ${bytes} B`);
}

function time(label: string, q: Array<[string, string]>, accept: string | undefined): void {
  const runs = 50;
  let bytes = 0;
  engine.rrdUpdates(host, q, accept); // warm the legend cache
  const s = performance.now();
  for (let i = 0; i < runs; i++) {
    const r = engine.rrdUpdates(host, q, accept);
    if (r.ok) bytes = r.body.length;
  }
  console.log(`${label.padEnd(34)} ${((performance.now() - s) / runs).toFixed(2).padStart(7)} ms  ${bytes} B`);
}

global.gc?.();
const rss = process.memoryUsage();
console.log(`pool ${hosts} hosts × ${vmsPerHost} VMs, history ${historySec} s, ${columns} columns on one host`);
console.log(`history fill ${(fill / 1000).toFixed(2)} s; advance per 5 s step ${oneStep.toFixed(1)} ms (single), ${twelveSteps.toFixed(1)} ms (batched)`);
console.log(`RSS ${((rss.rss - rss0) / 2 ** 20).toFixed(0)} MiB added (total ${(rss.rss / 2 ** 20).toFixed(0)} MiB), heap ${(rss.heapUsed / 2 ** 20).toFixed(0)} MiB, RRD typed arrays ${(engine.storageBytes() / 2 ** 20).toFixed(0)} MiB, arrayBuffers ${(rss.arrayBuffers / 2 ** 20).toFixed(0)} MiB`);
const end = now + 65;
time('JSON %.15g, 1 row', [['start', String(end)], ['host', 'true'], ['cf', 'AVERAGE'], ['interval', '5']], 'application/json');
time('JSON %.15g, 12 rows', [['start', String(end - 55)], ['host', 'true'], ['cf', 'AVERAGE'], ['interval', '5']], 'application/json');
time('XML %.15g, 1 row', [['start', String(end)], ['host', 'true']], 'text/xml');
time('XML %.15g, 12 rows', [['start', String(end - 55)], ['host', 'true']], 'text/xml');
time('JSON %.15g, 120 rows', [['start', String(end - 595)], ['host', 'true']], 'application/json');
timePolling('poll JSON 12 rows (1 new row)', 12, 'application/json');
timePolling('poll XML 12 rows (1 new row)', 12, 'text/xml');
timeCold('cold JSON %.15g, 12 rows', 12, 'application/json');
timeCold('cold XML %.15g, 12 rows', 12, 'text/xml');
timeCold('cold JSON %.15g, 1 row', 1, 'application/json');
