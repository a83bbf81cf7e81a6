// `npm run bench`: the performance bar of issue #6 (64 hosts / 6,400 VMs on 2 cores), self-contained.
//
//   npm run bench                      S, M and L pools, parse + export micro benches
//   npm run bench -- --quick           S and M only, fewer cycles (CI: < 2 min)
//   npm run bench -- --pools L --cycles 100 --out /tmp/x.json --no-micro
//   BENCH_PROFILE=/tmp/prof npm run bench -- --pools L      CPU + sampling heap profile of the steady cycles
//   BENCH_HEAPSNAPSHOT=/tmp/snap npm run bench -- --pools L  heap snapshot after the last cycle (large, slow)
//   BENCH_RSS_TRACE=/tmp/trace.json npm run bench -- --pools L  every 50 ms memory sample of the steady cycles, by phase
//
// Per pool size a simulated XCP-ng pool runs in its own child process (`node src/main.ts simulate`), and the
// OTLP/gRPC sink in another (bench/sink.ts). Each pool's agent is a fresh process too (this script with
// `--child-pool`, same node flags and environment), so no pool inherits another's memory high-water marks; the
// parent only collects, runs the micro benches and prints. The agent process is the agent alone: real XapiPool (HTTPS, XML-RPC,
// event.from) → rrd_updates scraper → ScrapeController.tick() → Pipeline → OTLP/gRPC exporter (gzip) → delivery
// report back to the scraper's cursors. So process.cpuUsage() here is the agent's CPU (event loop, gzip on the
// libuv threadpool, TLS), nothing else.
//
// Cycles: the simulator runs with time acceleration (`--time-scale`), one 5 s RRD row per `5 / timeScale` real
// seconds, and cycles are paced one per row, so each steady cycle exports one 5 s row per series, as a real
// agent at a 5 s interval does. Cycle 0 is the first poll (host.get_servertime, a minute of rows, cold caches)
// and the cycles after it run back to back until one fits in a row period, then paced until a cycle exports no
// more points than the one before (catch-up: a row that lands during a catch-up cycle makes the next one carry two
// rows per series); both are reported on their own, not as steady. Memory: RSS sampled every 50 ms and after each steady cycle, heap after a forced GC every
// 10 cycles (outside the measured window); growth compares the last three of those with the first three. Timings are never asserted; the exit code only reflects protocol breaches
// (a steady cycle must make N GETs for N hosts, no login, at most one pending event.from) and scrape errors.

import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem, freemem, cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { writeHeapSnapshot } from 'node:v8';
import { factory } from '../plugins/rrd_updates/index.ts';
import type { Logger } from '../src/plugin-api/index.ts';
import type { MetricsExporter } from '../src/exporters/types.ts';
import { exportBench, parseBench, type ExportFigure, type ParseFigure } from './micro.ts';
import { createBenchAgent, createBenchController, gc, startSimulator, startSink } from './harness.ts';

// ---------------------------------------------------------------------------------------------------------

interface PoolSize {
  readonly name: 'S' | 'M' | 'L';
  readonly hosts: number;
  readonly vmsPerHost: number;
  /** Simulated seconds per real second: one 5 s row every 5 / timeScale s. */
  readonly timeScale: number;
  readonly cycles: number;
}

const HERE = dirname(fileURLToPath(import.meta.url));

function args(): { quick: boolean; pools: string[]; cycles: number | undefined; out: string | undefined; micro: boolean; childPool: string | undefined; childOut: string | undefined } {
  const argv = process.argv.slice(2);
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  };
  const quick = argv.includes('--quick');
  const pools = (value('pools') ?? (quick ? 'S,M' : 'S,M,L')).split(',').map((p) => p.trim().toUpperCase());
  const cycles = value('cycles');
  return {
    quick,
    pools,
    cycles: cycles === undefined ? undefined : Number(cycles),
    out: value('out'),
    micro: !argv.includes('--no-micro'),
    childPool: value('child-pool'),
    childOut: value('child-out'),
  };
}

function poolSizes(quick: boolean, names: string[], cycles: number | undefined): PoolSize[] {
  const all: PoolSize[] = [
    { name: 'S', hosts: 1, vmsPerHost: 50, timeScale: 10, cycles: quick ? 10 : 30 },
    { name: 'M', hosts: 8, vmsPerHost: 50, timeScale: 10, cycles: quick ? 10 : 30 },
    // 2 s per row: a cycle must fit (target ≤ 2 s), and 100 cycles take ~3.5 min.
    { name: 'L', hosts: 64, vmsPerHost: 100, timeScale: 2.5, cycles: 100 },
  ];
  return all.filter((p) => names.includes(p.name)).map((p) => (cycles === undefined ? p : { ...p, cycles }));
}

// ---- agent-side helpers ----

interface LogCounts {
  warn: number;
  error: number;
  first: string[];
}

function countingLogger(counts: LogCounts): Logger {
  const note = (level: 'warn' | 'error') => (obj: unknown, msg?: string) => {
    counts[level]++;
    if (counts.first.length < 5) counts.first.push(`${level}: ${msg ?? ''} ${JSON.stringify(obj, (k, v: unknown) => (k === 'err' && v instanceof Error ? `${(v as { code?: string }).code ?? ''} ${v.message}` : v))}`.slice(0, 300));
  };
  const log: Logger = { debug() {}, info() {}, warn: note('warn'), error: note('error'), child: () => log };
  return log;
}


/**
 * Memory after a forced GC, read once V8's array-buffer sweeper has run: right after `gc()`, `external` still
 * counts the backing stores that GC freed (a 60–80 MiB artefact at L), while `arrayBuffers` already does not.
 */
async function settledMemoryUsage(): Promise<NodeJS.MemoryUsage> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  return process.memoryUsage();
}

/**
 * The memory settings the agent is shipped with: the V8 flags and glibc environment of the `start` script (the same
 * as the `bin` launcher, the Dockerfile and the Kubernetes manifests, see test/core/runtime-settings.test.ts). The
 * bench process is the agent, so it must run with them too, or its RSS is not the product's.
 */
function missingProductSettings(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  // `A=1 node --flag=x … script …`: the environment assignments before `node` and the flags between it and the script.
  const words = (pkg.scripts['start'] ?? '').trim().split(/\s+/);
  const node = words.indexOf('node');
  const missing: string[] = [];
  for (const word of words.slice(0, Math.max(0, node))) {
    const [name, ...value] = word.split('=');
    if (process.env[name!] !== value.join('=')) missing.push(word);
  }
  for (const word of words.slice(node + 1)) {
    if (!word.startsWith('--')) break;
    if (!process.execArgv.includes(word)) missing.push(word);
  }
  return missing;
}

/**
 * Highest RSS seen by a 50 ms sampler (reading RSS costs ~0.3 ms: 0.5 % of a cycle) (it only runs when the event loop
 * is free, so it can miss short spikes). With BENCH_RSS_TRACE=<file> it also writes every sample as
 * [ms, RSS, heap used, heap total, array buffers, external (MiB), phase]: phase n while steady cycle n scrapes,
 * n + 0.5 while it exports, -n after it. That shows where a cycle's peak builds up.
 */
class RssSampler {
  peak = 0;
  /** Steady cycle n while it runs (0 before the first), -n after it; + 0.5 while it exports. */
  phase = 0;
  private readonly _tracePath = process.env['BENCH_RSS_TRACE'];
  /** Preallocated, so the trace adds nothing to the heap it measures (4,000 samples per 100 L cycles). */
  private readonly _trace = this._tracePath === undefined ? undefined : new Float64Array(7 * 50_000);
  private _traced = 0;
  private _timer: ReturnType<typeof setInterval> | undefined;
  start(): void {
    this._timer = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (rss > this.peak) this.peak = rss;
      const trace = this._trace;
      if (trace === undefined || this._traced + 7 > trace.length) return;
      const m = process.memoryUsage();
      let at = this._traced;
      trace[at++] = Math.round(performance.now());
      trace[at++] = rss / MiB;
      trace[at++] = m.heapUsed / MiB;
      trace[at++] = m.heapTotal / MiB;
      trace[at++] = m.arrayBuffers / MiB;
      trace[at++] = m.external / MiB;
      trace[at++] = this.phase;
      this._traced = at;
    }, 50);
    this._timer.unref();
  }
  stop(): void {
    clearInterval(this._timer);
    if (this._tracePath === undefined || this._trace === undefined) return;
    const rows: number[][] = [];
    for (let at = 0; at < this._traced; at += 7) rows.push(Array.from(this._trace.subarray(at, at + 7), (v, i) => (i === 0 || i === 6 ? v : Math.round(v))));
    writeFileSync(this._tracePath, JSON.stringify(rows));
  }
  /** Marks the export phase of each cycle in the trace. */
  watchExports(exporter: MetricsExporter): void {
    if (this._tracePath === undefined) return;
    const inner = exporter.export.bind(exporter);
    exporter.export = async (batch, signal) => {
      this.phase += 0.5;
      return inner(batch, signal);
    };
  }
}

/**
 * Optional profiles of the steady cycles of one pool (BENCH_PROFILE=<dir>): a CPU profile (.cpuprofile) and a
 * sampling heap profile of what is still live after the last cycle and a forced GC (.heapprofile); open both in
 * Chrome DevTools. Off by default: the profilers cost CPU.
 */
class Profiles {
  private readonly _dir = process.env['BENCH_PROFILE'];
  private _session: Session | undefined;
  async start(): Promise<void> {
    if (!this._dir) return;
    this._session = new Session();
    this._session.connect();
    await this._session.post('Profiler.enable');
    await this._session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this._session.post('Profiler.start');
    await this._session.post('HeapProfiler.enable');
    await this._session.post('HeapProfiler.startSampling', { samplingInterval: 32768 });
  }
  async stop(name: string): Promise<void> {
    if (!this._session || !this._dir) return;
    const { profile } = await this._session.post('Profiler.stop');
    gc();
    const heap = await this._session.post('HeapProfiler.getSamplingProfile');
    await this._session.post('HeapProfiler.stopSampling');
    mkdirSync(this._dir, { recursive: true });
    writeFileSync(join(this._dir, `${name}.cpuprofile`), JSON.stringify(profile));
    writeFileSync(join(this._dir, `${name}.heapprofile`), JSON.stringify(heap.profile));
    this._session.disconnect();
    console.error(`profiles written to ${this._dir}/${name}.{cpuprofile,heapprofile}`);
  }
}

interface CycleFigure {
  wallS: number;
  cpuS: number;
  points: number;
  fetchedBytes: number;
  otlpWireBytes: number;
  otlpRawBytes: number;
  otlpRequests: number;
  xmlRpcCalls: number;
  logins: number;
  httpRequests: number;
  pendingEventCalls: number;
  rssAfter: number;
  heapAfter: number;
  itemErrors: number;
  late: boolean;
}

interface PoolResult {
  pool: PoolSize;
  vms: number;
  firstCycle: CycleFigure;
  /** Back-to-back cycles after the first until one fits in a row period. */
  catchUp: { cycles: number; wallS: number; cpuS: number; points: number[] };
  steady: CycleFigure[];
  summary: {
    wallS: Stat;
    cpuS: Stat;
    points: Stat;
    fetchedBytes: Stat;
    otlpWireBytes: Stat;
    otlpRawBytes: Stat;
    otlpRequests: Stat;
    xmlRpcCalls: Stat;
    httpRequests: Stat;
    logins: number;
    maxPendingEventCalls: number;
    lateCycles: number;
    itemErrors: number;
  };
  memory: {
    /** After pool start (login + inventory load), before the first cycle: peak and current RSS, bytes. */
    afterStart: { maxRss: number; rss: number };
    /** process.resourceUsage().maxRSS after the first (catch-up) cycle and at the end, bytes. */
    maxRssAfterFirst: number;
    maxRssEnd: number;
    /** Highest RSS sampled during steady cycles (sampler + after each cycle), bytes. */
    steadyPeakRss: number;
    steadyPeakHeapUsed: number;
    /** heapUsed / rss right after a forced GC, at checkpoints over the steady cycles. */
    checkpoints: { cycle: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; rss: number }[];
    /** Median of the last three checkpoints minus median of the first three, bytes. */
    heapGrowth: number;
    rssGrowth: number;
  };
  sinkCpuSeconds: number;
  log: LogCounts;
}

interface Stat {
  median: number;
  min: number;
  p90: number;
  max: number;
}

function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { median: at(0.5), min: s[0] ?? NaN, p90: at(0.9), max: s[s.length - 1] ?? NaN };
}

async function runPool(size: PoolSize): Promise<PoolResult> {
  const { info, child: sim } = await startSimulator(size);
  const sink = await startSink();
  const logCounts: LogCounts = { warn: 0, error: 0, first: [] };
  const log = countingLogger(logCounts);
  const { pool, exporter } = createBenchAgent({ info, sinkPort: sink.port, originator: 'xen-otel-agent-bench', logger: log });
  const sampler = new RssSampler();
  sampler.watchExports(exporter);
  const profiles = new Profiles();
  try {
    await pool.start(AbortSignal.timeout(120_000));
    await exporter.start(AbortSignal.timeout(10_000));
    // The XAPI login and inventory load (get_all_records of every class) happen here, before any cycle.
    const memAfterStart = { maxRss: process.resourceUsage().maxRSS * 1024, rss: process.memoryUsage.rss() };
    const scraper = factory.createScraper(
      { id: 'rrd_updates', logger: log, clock: Date, pools: { get: () => pool, names: () => ['bench'] } },
      factory.configSchema.parse({ pools: ['bench'] }),
    );
    const controller = createBenchController({ scraper, exporter, logger: log });

    const periodMs = 5000 / size.timeScale;
    const runCycle = async (late: boolean): Promise<CycleFigure> => {
      const s0 = pool.stats();
      const o0 = await sink.stats();
      const e0 = exporter.stats();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const outcome = await controller.tick();
      const wallS = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const s1 = pool.stats();
      const o1 = await sink.stats();
      const e1 = exporter.stats();
      const mem = process.memoryUsage();
      if (outcome.kind !== 'scraped') throw new Error(`pool ${size.name}: cycle ${outcome.kind} ${'code' in outcome ? outcome.code : ''} ${logCounts.first.join(' | ')}`);
      return {
        wallS,
        cpuS: (cpu.user + cpu.system) / 1e6,
        points: outcome.points,
        fetchedBytes: s1.httpBytes - s0.httpBytes,
        otlpWireBytes: o1.wireBytes - o0.wireBytes,
        otlpRawBytes: o1.bytes - o0.bytes,
        otlpRequests: e1.requests - e0.requests,
        xmlRpcCalls: s1.xmlRpcCalls - s0.xmlRpcCalls,
        logins: s1.logins - s0.logins,
        httpRequests: s1.httpRequests - s0.httpRequests,
        pendingEventCalls: s1.pendingEventCalls,
        rssAfter: mem.rss,
        heapAfter: mem.heapUsed,
        itemErrors: outcome.itemErrors,
        late,
      };
    };

    // 1. First poll: a minute of rows per host (legitimately the peak).
    const firstCycle = await runCycle(false);
    const maxRssAfterFirst = process.resourceUsage().maxRSS * 1024;
    // 2. Catch-up: back to back until a cycle fits in one row period (rows piled up during the first cycle), then
    //    paced as the steady cycles are until one exports no more points than the one before it. A row that
    //    arrives while a catch-up cycle runs is read by the next cycle, which then carries two rows per series:
    //    still catch-up, not the steady state (one row per series) the targets are about.
    const catchUp: CycleFigure[] = [];
    while (catchUp.length < 40) {
      const c = await runCycle(false);
      catchUp.push(c);
      if (c.wallS * 1000 < periodMs * 0.9) break;
    }
    let next = performance.now() + periodMs;
    const pacedCycle = async (phase: number): Promise<CycleFigure> => {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next = Math.max(next + periodMs, performance.now());
      sampler.phase = phase;
      const c = await runCycle(wait < -periodMs / 2);
      sampler.phase = -phase;
      return c;
    };
    for (let settling = 0; settling < 5; settling++) {
      const c = await pacedCycle(0);
      const previous = catchUp.at(-1)!;
      catchUp.push(c);
      if (settling > 0 && c.points <= previous.points) break;
    }
    // 3. Steady: one cycle per row period.
    const steady: CycleFigure[] = [];
    const checkpoints: PoolResult['memory']['checkpoints'] = [];
    const firstCheckpoint = Math.max(1, Math.round(size.cycles / 10));
    let steadyPeakHeap = 0;
    sampler.start();
    await profiles.start();
    for (let cycle = 1; cycle <= size.cycles; cycle++) {
      const c = await pacedCycle(cycle);
      steady.push(c);
      steadyPeakHeap = Math.max(steadyPeakHeap, c.heapAfter);
      sampler.peak = Math.max(sampler.peak, c.rssAfter);
      // Forced GC outside the measured window (in the wait for the next row).
      if (cycle === firstCheckpoint || cycle % 10 === 0 || cycle === size.cycles) {
        const m = await settledMemoryUsage();
        checkpoints.push({ cycle, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss });
      }
      if (process.stderr.isTTY) process.stderr.write(`\r${size.name}: cycle ${cycle}/${size.cycles} ${c.wallS.toFixed(2)} s wall`);
    }
    if (process.stderr.isTTY) process.stderr.write('\n');
    sampler.stop();
    await profiles.stop(`${size.name}-${size.hosts}hosts`);
    if (process.env['BENCH_HEAPSNAPSHOT']) {
      gc();
      console.error(`heap snapshot: ${writeHeapSnapshot(join(process.env['BENCH_HEAPSNAPSHOT'], `${size.name}.heapsnapshot`))}`);
    }
    await controller.shutdown(1000);
    // Growth: median of the last three checkpoints minus median of the first three (one GC'd sample is noisy:
    // the sweeper and the gRPC/HTTP buffers of the cycle that just ended make ±20 MiB).
    const med3 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const firstCps = checkpoints.slice(0, 3);
    const lastCps = checkpoints.slice(-3);
    const sinkStats = await sink.stats();
    return {
      pool: size,
      vms: size.hosts * size.vmsPerHost,
      firstCycle,
      catchUp: { cycles: catchUp.length, wallS: catchUp.reduce((t, c) => t + c.wallS, 0), cpuS: catchUp.reduce((t, c) => t + c.cpuS, 0), points: catchUp.map((c) => c.points) },
      steady,
      summary: {
        wallS: stat(steady.map((c) => c.wallS)),
        cpuS: stat(steady.map((c) => c.cpuS)),
        points: stat(steady.map((c) => c.points)),
        fetchedBytes: stat(steady.map((c) => c.fetchedBytes)),
        otlpWireBytes: stat(steady.map((c) => c.otlpWireBytes)),
        otlpRawBytes: stat(steady.map((c) => c.otlpRawBytes)),
        otlpRequests: stat(steady.map((c) => c.otlpRequests)),
        xmlRpcCalls: stat(steady.map((c) => c.xmlRpcCalls)),
        httpRequests: stat(steady.map((c) => c.httpRequests)),
        logins: steady.reduce((n, c) => n + c.logins, 0),
        maxPendingEventCalls: Math.max(...steady.map((c) => c.pendingEventCalls)),
        lateCycles: steady.filter((c) => c.late).length,
        itemErrors: steady.reduce((n, c) => n + c.itemErrors, 0),
      },
      memory: {
        afterStart: memAfterStart,
        maxRssAfterFirst,
        maxRssEnd: process.resourceUsage().maxRSS * 1024,
        steadyPeakRss: sampler.peak,
        steadyPeakHeapUsed: steadyPeakHeap,
        checkpoints,
        heapGrowth: med3(lastCps.map((c) => c.heapUsed)) - med3(firstCps.map((c) => c.heapUsed)),
        rssGrowth: med3(lastCps.map((c) => c.rss)) - med3(firstCps.map((c) => c.rss)),
      },
      sinkCpuSeconds: sinkStats.cpuSeconds,
      log: logCounts,
    };
  } finally {
    sampler.stop();
    await exporter.shutdown();
    await pool.close();
    sink.child.disconnect();
    sim.kill('SIGTERM');
    await once(sim, 'exit');
  }
}

// ---- report ----

const MiB = 2 ** 20;
const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const range = (s: Stat, digits = 2): string => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
const mib = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;
const kib = (b: number): string => (b >= 10 * MiB ? `${(b / MiB).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, j) => (j === 1 ? widths.map((w) => '-'.repeat(w)).join('-|-') + '\n' : '') + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')).join('\n');
}

interface Report {
  date: string;
  mode: 'quick' | 'full';
  machine: { nproc: number; cpuModel: string; memTotal: number; memFreeAtStart: number; node: string; execArgv: string[]; mallocMmapThreshold: string | null; loadAtStart: number[]; loadAtEnd: number[] };
  pools: PoolResult[];
  parse: ParseFigure[];
  export: ExportFigure | undefined;
  targets: { name: string; value: string; met: boolean | null }[];
  protocolOk: boolean;
}

function evaluate(pools: PoolResult[], parse: ParseFigure[]): { targets: Report['targets']; protocolOk: boolean } {
  const targets: Report['targets'] = [];
  let protocolOk = true;
  for (const p of pools) {
    const httpOk = p.steady.every((c) => c.httpRequests === p.pool.hosts);
    const ok = httpOk && p.summary.logins === 0 && p.summary.maxPendingEventCalls <= 1 && p.summary.itemErrors === 0;
    if (!ok) protocolOk = false;
    targets.push({
      name: `${p.pool.name}: steady cycle = ${p.pool.hosts} GETs, 0 logins, ≤ 1 pending event.from, no item errors`,
      value: `GETs ${range(p.summary.httpRequests, 0)}, logins ${p.summary.logins}, pending ≤ ${p.summary.maxPendingEventCalls}, item errors ${p.summary.itemErrors}`,
      met: ok,
    });
  }
  const L = pools.find((p) => p.pool.name === 'L');
  if (L) {
    targets.push({ name: 'L: cycle wall ≤ 2 s (median; max in brackets)', value: `${fmt(L.summary.wallS.median)} s (max ${fmt(L.summary.wallS.max)})`, met: L.summary.wallS.median <= 2 });
    targets.push({ name: 'L: cycle CPU ≤ 1.5 s (median; max in brackets)', value: `${fmt(L.summary.cpuS.median)} s (max ${fmt(L.summary.cpuS.max)})`, met: L.summary.cpuS.median <= 1.5 });
    targets.push({ name: 'L: steady RSS ≤ 300 MB', value: `${(L.memory.steadyPeakRss / 1e6).toFixed(0)} MB peak in steady cycles`, met: L.memory.steadyPeakRss <= 300e6 });
    targets.push({
      name: `L: no growth over ${L.steady.length} back-to-back steady cycles (heap after GC, last 3 vs first 3 checkpoints; needs ≥ 100 cycles)`,
      value: `heap ${(L.memory.heapGrowth / MiB).toFixed(1)} MiB, rss ${(L.memory.rssGrowth / MiB).toFixed(1)} MiB; heap after GC ${L.memory.checkpoints.map((c) => (c.heapUsed / MiB).toFixed(0)).join(' ')} MiB`,
      met: L.memory.heapGrowth < 10 * MiB && L.steady.length >= 100,
    });
  }
  for (const f of parse) {
    if (f.rows !== 1) continue;
    targets.push({
      name: `parse+map ${f.dialect} ${f.numberFormat} ≥ 50 % of JSON.parse (warm; relayout in brackets)`,
      value: `${(f.warmRatio * 100).toFixed(0)} % (${(f.relayoutRatio * 100).toFixed(0)} %)`,
      met: f.warmRatio >= 0.5,
    });
  }
  return { targets, protocolOk };
}

function previousReport(dir: string, mode: string, exclude: string): Report | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') && join(dir, f) !== exclude);
  } catch {
    return undefined;
  }
  const reports = files
    .map((f) => {
      try {
        return JSON.parse(readFileSync(join(dir, f), 'utf8')) as Report;
      } catch {
        return undefined;
      }
    })
    .filter((r): r is Report => r !== undefined && Array.isArray(r.pools))
    .sort((a, b) => a.date.localeCompare(b.date));
  return reports.filter((r) => r.mode === mode).pop() ?? reports.pop();
}

function print(report: Report, previous: Report | undefined): void {
  const m = report.machine;
  console.log(`\nxen-otel-agent bench ${report.date} (${report.mode}); ${m.nproc} CPUs (${m.cpuModel}), ${mib(m.memTotal)} RAM, node ${m.node} ${(m.execArgv ?? []).join(' ')}${m.mallocMmapThreshold ? ` MALLOC_MMAP_THRESHOLD_=${m.mallocMmapThreshold}` : ''}, load ${m.loadAtStart.map((l) => l.toFixed(1)).join('/')} → ${m.loadAtEnd.map((l) => l.toFixed(1)).join('/')}`);
  console.log('Agent process only (simulator and OTLP sink in child processes). Steady cycles: median (min–max).\n');
  const rows: string[][] = [
    ['pool', 'hosts/VMs', 'cycles', 'wall s', 'agent CPU s', 'points', 'fetched', 'OTLP wire (gzip)', 'OTLP raw', 'req', 'xml-rpc', 'GETs', 'logins', 'ev.from', 'steady RSS', 'steady heap', 'heap Δ (GC)', 'max RSS after pool start / first cycle / end', 'first cycle wall/CPU/points', 'catch-up cycles/wall/CPU'],
  ];
  for (const p of report.pools) {
    const s = p.summary;
    rows.push([
      p.pool.name,
      `${p.pool.hosts}/${p.vms}`,
      String(p.steady.length),
      range(s.wallS),
      range(s.cpuS),
      fmt(s.points.median, 0),
      kib(s.fetchedBytes.median),
      kib(s.otlpWireBytes.median),
      kib(s.otlpRawBytes.median),
      fmt(s.otlpRequests.median, 0),
      fmt(s.xmlRpcCalls.median, 0),
      fmt(s.httpRequests.median, 0),
      String(s.logins),
      `≤ ${s.maxPendingEventCalls}`,
      mib(p.memory.steadyPeakRss),
      mib(p.memory.steadyPeakHeapUsed),
      `${(p.memory.heapGrowth / MiB).toFixed(1)} MiB`,
      `${mib(p.memory.afterStart.maxRss)} / ${mib(p.memory.maxRssAfterFirst)} / ${mib(p.memory.maxRssEnd)}`,
      `${fmt(p.firstCycle.wallS)} s / ${fmt(p.firstCycle.cpuS)} s / ${p.firstCycle.points}`,
      `${p.catchUp.cycles} / ${fmt(p.catchUp.wallS)} s / ${fmt(p.catchUp.cpuS)} s`,
    ]);
  }
  console.log(table(rows));
  if (report.parse.length > 0) {
    console.log('\nrrd_updates parse (+ map) of one host body (~4,000 columns), MB/s of the body; JSON.parse on the same data as current-dialect JSON');
    const pr: string[][] = [['dialect', 'format', 'rows', 'bytes', 'JSON.parse MB/s', 'parse MB/s', 'parse+map warm MB/s', 'relayout MB/s', 'warm Mvalues/s', 'JSON.parse Mvalues/s', 'warm vs JSON.parse', 'relayout vs JSON.parse']];
    for (const f of report.parse) {
      pr.push([f.dialect, f.numberFormat, String(f.rows), String(f.bodyBytes), fmt(f.jsonParseMBps, 0), fmt(f.parseMBps, 0), fmt(f.parseMapWarmMBps, 0), fmt(f.parseMapRelayoutMBps, 0), fmt(f.parseMapWarmMValuesPerS, 1), fmt(f.jsonParseMValuesPerS, 1), `${(f.warmRatio * 100).toFixed(0)} %`, `${(f.relayoutRatio * 100).toFixed(0)} %`]);
    }
    console.log(table(pr));
  }
  if (report.export) {
    const e = report.export;
    console.log(
      `\nOTLP serialisation (native encoder, synthetic ${e.resources} resources / ${e.points} points, 1 row): ${fmt(e.encodeCpuSeconds, 3)} CPU-s = ${fmt(e.encodeMPointsPerS)} Mpoints/s, ${fmt(e.encodeMBps, 0)} MB/s, ${fmt(e.bytesPerPoint, 1)} B/point; gzip ${fmt(e.gzipMBps, 0)} MB/s (${fmt(e.gzipCpuSeconds, 3)} CPU-s, ratio ${fmt(e.gzipRatio)})`,
    );
  }
  console.log('\nTargets');
  for (const t of report.targets) console.log(`  ${t.met === null ? '   ' : t.met ? 'MET' : 'NOT'}  ${t.name}: ${t.value}`);
  if (previous) {
    console.log(`\nChange since previous run (${previous.date}, ${previous.mode}):`);
    for (const p of report.pools) {
      const q = previous.pools.find((x) => x.pool.name === p.pool.name);
      if (!q) continue;
      const pct = (a: number, b: number): string => `${b === 0 ? 'n/a' : `${(((a - b) / b) * 100).toFixed(0)} %`}`;
      console.log(
        `  ${p.pool.name}: wall ${fmt(q.summary.wallS.median)} → ${fmt(p.summary.wallS.median)} s (${pct(p.summary.wallS.median, q.summary.wallS.median)}), CPU ${fmt(q.summary.cpuS.median)} → ${fmt(p.summary.cpuS.median)} s (${pct(p.summary.cpuS.median, q.summary.cpuS.median)}), steady RSS ${mib(q.memory.steadyPeakRss)} → ${mib(p.memory.steadyPeakRss)}, max RSS ${mib(q.memory.maxRssEnd)} → ${mib(p.memory.maxRssEnd)}`,
      );
    }
  } else {
    console.log('\nChange since previous run: none recorded in bench/results (first run).');
  }
}

/**
 * Runs one pool in a fresh agent process (this script with `--child-pool`), as an agent configured for that pool
 * alone would run. In one process, L measured after S and M inherited their glibc and V8 high-water marks: RSS after
 * GC 260 and 280 MiB in two full runs, against 218–261 MiB in L-only runs of the same tree.
 */
async function runPoolInOwnProcess(size: PoolSize): Promise<PoolResult> {
  const dir = mkdtempSync(join(tmpdir(), 'xen-otel-agent-bench-'));
  try {
    const out = join(dir, `${size.name}.json`);
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child-pool', size.name, '--child-out', out], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`pool ${size.name}: the agent process exited with ${String(code)}`);
    return JSON.parse(readFileSync(out, 'utf8')) as PoolResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = args();
  if (a.childPool !== undefined) {
    const size = poolSizes(a.quick, [a.childPool], a.cycles)[0];
    if (size === undefined || a.childOut === undefined) throw new Error(`--child-pool ${a.childPool}: unknown pool or no --child-out`);
    writeFileSync(a.childOut, JSON.stringify(await runPool(size)));
    return;
  }
  const started = new Date();
  const machine: Report['machine'] = {
    nproc: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memTotal: totalmem(),
    memFreeAtStart: freemem(),
    node: process.version,
    execArgv: process.execArgv,
    mallocMmapThreshold: process.env['MALLOC_MMAP_THRESHOLD_'] ?? null,
    loadAtStart: loadavg(),
    loadAtEnd: [],
  };
  const missingSettings = missingProductSettings();
  if (missingSettings.length > 0) {
    console.error(`warning: the agent ships with ${missingSettings.join(' ')} but this bench runs without: run it with \`npm run bench\` (memory figures are not the product's)`);
  }
  const pools: PoolResult[] = [];
  for (const size of poolSizes(a.quick, a.pools, a.cycles)) {
    console.error(`pool ${size.name}: ${size.hosts} hosts × ${size.vmsPerHost} VMs, ${size.cycles} steady cycles, one 5 s row per ${(5 / size.timeScale).toFixed(1)} s`);
    pools.push(await runPoolInOwnProcess(size));
  }
  const parse = a.micro ? parseBench(a.quick) : [];
  const exp = a.micro ? exportBench(a.quick) : undefined;
  machine.loadAtEnd = loadavg();
  const { targets, protocolOk } = evaluate(pools, parse);
  const report: Report = { date: started.toISOString(), mode: a.quick ? 'quick' : 'full', machine, pools, parse, export: exp, targets, protocolOk };
  const dir = join(HERE, 'results');
  const out = a.out ?? join(dir, `${started.toISOString().slice(0, 16).replace(':', '')}${a.quick ? '.quick' : ''}.json`);
  const previous = previousReport(dir, report.mode, out);
  print(report, previous);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(report, null, 1));
  console.log(`\nwritten ${out}`);
  if (!protocolOk) {
    console.error('bench: protocol check failed (see Targets)');
    process.exitCode = 1;
  }
}

// Last, so every module-level constant above is initialised.
await main();
