// Memory probe of the L pool (issue #6: why RSS is far above the live heap). The same agent path as `npm run bench`
// (simulated pool and OTLP/gRPC sink in child processes; here XapiPool → rrd_updates → ScrapeController → Pipeline →
// OTLP/gRPC + gzip), with the instruments bench/run.ts does not have:
//
//   - per phase (pool start, first poll, catch-up, steady): process.memoryUsage(), with `external` also read after
//     V8's array-buffer sweeper has finished, and RSS split by kind of mapping (/proc/self/smaps);
//   - V8 heap spaces after a forced GC at each checkpoint, and after a memory-reducing GC at the end;
//   - bytes allocated per cycle on the V8 heap (v8.GCProfiler: sum over GCs of before − previous after) and in
//     Buffers (the Buffer allocators are wrapped; Node-internal allocations such as Buffer.concat are not seen);
//   - native handles created and alive per type (async_hooks: ZLIB, TLSWRAP, HTTP2STREAM …);
//   - request buffers the exporter created.
//
//   npx node bench/memory.ts [--hosts 64] [--vms-per-host 100] [--cycles 20] [--out /tmp/mem.json]
//
//   PROBE_ALLOCATION_PROFILE=<file>  sampling heap profile of the steady cycles that keeps the objects GCs collected
//   PROBE_BATCH_SIZE=1               heap held by each scrape's batch, and whether it outlives its cycle
//   PROBE_HEAPSNAPSHOT=<file>        heap snapshot after the steady cycles
//   PROBE_HOLD_MS=<ms>               pause after the last checkpoint (attach gdb: `call (void) malloc_stats()`)
//   PROBE_COMPRESSION=none           export without gzip
//
// It prints one JSON document (and writes it with --out). Nothing is asserted; run node flags as the product would
// (`npx node --max-semi-space-size=16 bench/memory.ts`) to compare runtime settings.

import { createHook } from 'node:async_hooks';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { GCProfiler, getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { factory } from '../plugins/rrd_updates/index.ts';
import type { Logger } from '../src/plugin-api/index.ts';
import { createBenchAgent, createBenchController, gc, startSimulator, startSink } from './harness.ts';

const MiB = 2 ** 20;
const round = (bytes: number): number => Math.round((bytes / MiB) * 10) / 10;

function option(name: string, fallback: string): string {
  const argv = process.argv;
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
}

// ---- instruments ----

/** Native handles per async_hooks type: created in total and alive now. */
const nativeCreated = new Map<string, number>();
const nativeAlive = new Map<string, number>();
const nativeTypeOf = new Map<number, string>();
createHook({
  init(id, type) {
    nativeCreated.set(type, (nativeCreated.get(type) ?? 0) + 1);
    nativeAlive.set(type, (nativeAlive.get(type) ?? 0) + 1);
    nativeTypeOf.set(id, type);
  },
  destroy(id) {
    const type = nativeTypeOf.get(id);
    if (type === undefined) return;
    nativeTypeOf.delete(id);
    nativeAlive.set(type, (nativeAlive.get(type) ?? 0) - 1);
  },
}).enable();

function nativeSnapshot(types: readonly string[]): Record<string, { created: number; alive: number }> {
  const out: Record<string, { created: number; alive: number }> = {};
  for (const t of types) out[t] = { created: nativeCreated.get(t) ?? 0, alive: nativeAlive.get(t) ?? 0 };
  return out;
}

/** Bytes of Buffers allocated (allocUnsafe, alloc, concat go through these; pooled small ones count their size). */
let bufferBytesAllocated = 0;
for (const name of ['allocUnsafe', 'allocUnsafeSlow', 'alloc'] as const) {
  const original = Buffer[name] as (size: number, ...rest: unknown[]) => Buffer;
  (Buffer as unknown as Record<string, unknown>)[name] = function (this: unknown, size: number, ...rest: unknown[]): Buffer {
    bufferBytesAllocated += size;
    return original.call(this, size, ...rest);
  };
}

/** V8 heap bytes allocated since `start()`: what the GCs collected plus the growth since the last one. */
class HeapAllocation {
  private readonly _profiler = new GCProfiler();
  private _startUsed = 0;
  start(): void {
    this._startUsed = getHeapStatistics().used_heap_size;
    this._profiler.start();
  }
  stop(): { allocated: number; gcs: number; gcPauseMs: number; byType: Record<string, number> } {
    const result = this._profiler.stop();
    const endUsed = getHeapStatistics().used_heap_size;
    let allocated = 0;
    let previousAfter = this._startUsed;
    let pauseUs = 0;
    const byType: Record<string, number> = {};
    for (const s of result?.statistics ?? []) {
      allocated += Math.max(0, s.beforeGC.heapStatistics.usedHeapSize - previousAfter);
      previousAfter = s.afterGC.heapStatistics.usedHeapSize;
      pauseUs += s.cost;
      byType[s.gcType] = (byType[s.gcType] ?? 0) + 1;
    }
    allocated += Math.max(0, endUsed - previousAfter);
    return { allocated, gcs: result?.statistics.length ?? 0, gcPauseMs: pauseUs / 1000, byType };
  }
}


/** `resident`: also split RSS by kind of mapping (reads /proc/self/smaps: ~1 MiB of garbage, so not per cycle). */
function memory(resident = true): Record<string, number> {
  const m = process.memoryUsage();
  return {
    rss: round(m.rss),
    heapUsed: round(m.heapUsed),
    heapTotal: round(m.heapTotal),
    external: round(m.external),
    arrayBuffers: round(m.arrayBuffers),
    externalNotArrayBuffers: round(m.external - m.arrayBuffers),
    maxRss: round(process.resourceUsage().maxRSS * 1024),
    ...(resident ? Object.fromEntries(Object.entries(residentByKind() ?? {}).map(([k, v]) => [`resident.${k}`, v])) : {}),
  };
}

function heapSpaces(): Record<string, { size: number; used: number; available: number; physical: number }> {
  const out: Record<string, { size: number; used: number; available: number; physical: number }> = {};
  for (const s of getHeapSpaceStatistics()) {
    out[s.space_name] = { size: round(s.space_size), used: round(s.space_used_size), available: round(s.space_available_size), physical: round(s.physical_space_size) };
  }
  return out;
}

/**
 * Resident memory by kind of mapping (/proc/self/smaps, Linux): file-backed (binary, libraries), glibc's main
 * arena ([heap]), glibc thread arenas (anonymous mappings aligned on their 64 MiB reservation) and the other
 * anonymous mappings (V8 heap pages, large malloc chunks served by mmap, thread stacks).
 */
function residentByKind(): Record<string, number> | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return undefined;
  }
  const out: Record<string, number> = { file: 0, mallocMainArena: 0, mallocThreadArenas: 0, otherAnonymous: 0 };
  const ARENA = 64 * MiB;
  let kind = 'otherAnonymous';
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      const start = Number.parseInt(header[1]!, 16);
      const path = header[3]!;
      if (path.startsWith('/')) kind = 'file';
      else if (path === '[heap]') kind = 'mallocMainArena';
      else if (path === '' && start % ARENA === 0) kind = 'mallocThreadArenas';
      else kind = 'otherAnonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] = (out[kind] ?? 0) + Number(rss[1]) * 1024;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, round(v)]));
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

async function main(): Promise<void> {
  const hosts = Number(option('hosts', '64'));
  const vmsPerHost = Number(option('vms-per-host', '100'));
  const cycles = Number(option('cycles', '20'));
  const timeScale = 2.5;
  const periodMs = 5000 / timeScale;
  const nativeTypes = ['ZLIB', 'TLSWRAP', 'TCPWRAP', 'HTTP2SESSION', 'HTTP2STREAM', 'HTTPCLIENTREQUEST', 'HTTPINCOMINGMESSAGE'];
  const report: Record<string, unknown> = { node: process.version, hosts, vmsPerHost, cycles, execArgv: process.execArgv };
  report['atLaunch'] = memory();

  const { info, child: sim } = await startSimulator({ hosts, vmsPerHost, timeScale });
  const sink = await startSink();
  const { pool, exporter } = createBenchAgent({ info, sinkPort: sink.port, originator: 'xen-otel-agent-memory-probe', logger: silent, compression: process.env['PROBE_COMPRESSION'] ?? 'gzip' });
  try {
    await pool.start(AbortSignal.timeout(120_000));
    await exporter.start(AbortSignal.timeout(10_000));
    report['afterPoolStart'] = memory();
    gc();
    report['afterPoolStartGc'] = { memory: memory(), spaces: heapSpaces() };

    const rrdScraper = factory.createScraper(
      { id: 'rrd_updates', logger: silent, clock: Date, pools: { get: () => pool, names: () => ['bench'] } },
      factory.configSchema.parse({ pools: ['bench'] }),
    );
    // PROBE_BATCH_SIZE=1: forced GCs right before and right after each scrape (its batch alive, not yet exported):
    // the difference is what the scrape left on the heap, i.e. the batch once caches are warm (distorts timings).
    const batchHeld: number[] = [];
    const scraper: typeof rrdScraper = process.env['PROBE_BATCH_SIZE']
      ? {
          start: rrdScraper.start?.bind(rrdScraper),
          shutdown: rrdScraper.shutdown?.bind(rrdScraper),
          scrape: async (signal) => {
            gc();
            const before = process.memoryUsage().heapUsed;
            const result = await rrdScraper.scrape(signal);
            gc();
            batchHeld.push(process.memoryUsage().heapUsed - before);
            return result;
          },
        }
      : rrdScraper;
    const controller = createBenchController({ scraper, exporter, logger: silent });

    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20);
    const runCycle = async (): Promise<Record<string, unknown>> => {
      const heap = new HeapAllocation();
      const buffers0 = bufferBytesAllocated;
      const e0 = exporter.stats();
      const cpu0 = process.cpuUsage();
      peakRss = 0;
      heap.start();
      const t0 = performance.now();
      const outcome = await controller.tick();
      const wallS = (performance.now() - t0) / 1000;
      const allocation = heap.stop();
      const cpu = process.cpuUsage(cpu0);
      if (outcome.kind !== 'scraped') throw new Error(`cycle ${outcome.kind}`);
      const batchHeapMiB = batchHeld.length > 0 ? round(batchHeld.pop()!) : undefined;
      let releasedAfterCycle: number[] | undefined;
      if (batchHeapMiB !== undefined) {
        // The batch must be gone once the cycle is, although this function still holds the cycle's outcome (as
        // any caller of tick() may).
        gc();
        const atEnd = process.memoryUsage().heapUsed;
        await new Promise((r) => setTimeout(r, 200));
        gc();
        releasedAfterCycle = [round(atEnd), round(process.memoryUsage().heapUsed)];
      }
      const e1 = exporter.stats();
      return {
        wallS: Math.round(wallS * 1000) / 1000,
        cpuS: Math.round((cpu.user + cpu.system) / 1000) / 1000,
        points: outcome.points,
        requests: e1.requests - e0.requests,
        requestMiB: round(e1.requestBytes - e0.requestBytes),
        heapAllocatedMiB: round(allocation.allocated),
        buffersAllocatedMiB: round(bufferBytesAllocated - buffers0),
        gcs: allocation.gcs,
        gcByType: allocation.byType,
        gcPauseMs: Math.round(allocation.gcPauseMs),
        peakRssMiB: round(peakRss),
        ...(batchHeapMiB === undefined ? {} : { batchHeapMiB, releasedAfterCycle }),
        requestBuffersCreated: (exporter as { requestBuffersCreated?: () => number }).requestBuffersCreated?.(),
        memory: memory(false),
      };
    };

    report['firstCycle'] = await runCycle();
    report['afterFirstCycle'] = { native: nativeSnapshot(nativeTypes) };
    gc();
    report['afterFirstCycleGc'] = { memory: memory(), spaces: heapSpaces() };
    const catchUp: Record<string, unknown>[] = [];
    for (;;) {
      const c = await runCycle();
      catchUp.push(c);
      if ((c['wallS'] as number) * 1000 < periodMs * 0.9 || catchUp.length >= 20) break;
    }
    report['catchUp'] = catchUp;

    // PROBE_ALLOCATION_PROFILE=<file>: sampling heap profile of the steady cycles that keeps the objects the GCs
    // collected, i.e. where the per-cycle garbage is allocated (open in Chrome DevTools).
    const allocationProfile = process.env['PROBE_ALLOCATION_PROFILE'];
    let session: Session | undefined;
    if (allocationProfile) {
      session = new Session();
      session.connect();
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    }
    const steady: Record<string, unknown>[] = [];
    const checkpoints: Record<string, unknown>[] = [];
    let next = performance.now() + periodMs;
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next = Math.max(next + periodMs, performance.now());
      steady.push(await runCycle());
      if (cycle % 10 === 0 || cycle === cycles) {
        const before = memory();
        gc();
        const afterGc = memory();
        // The ArrayBuffers a GC frees leave `external` only when V8's array-buffer sweeper finishes, after the GC.
        await new Promise((r) => setTimeout(r, 50));
        gc();
        checkpoints.push({ cycle, beforeGc: before, afterOneGc: afterGc, memory: memory(), spaces: heapSpaces(), native: nativeSnapshot(nativeTypes), heapStatistics: getHeapStatistics() });
      }
      process.stderr.write(`\rcycle ${cycle}/${cycles}`);
      // PROBE_HOLD_MS: pause after the last checkpoint, e.g. to attach gdb and `call (void) malloc_stats()`.
      if (cycle === cycles && process.env['PROBE_HOLD_MS']) {
        process.stderr.write(`\nholding pid ${process.pid}\n`);
        await new Promise((r) => setTimeout(r, Number(process.env['PROBE_HOLD_MS'])));
      }
    }
    process.stderr.write('\n');
    clearInterval(sampler);
    if (session && allocationProfile) {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(allocationProfile, JSON.stringify(profile));
      session.disconnect();
    }
    if (process.env['PROBE_HEAPSNAPSHOT']) {
      gc();
      process.stderr.write(`heap snapshot: ${writeHeapSnapshot(process.env['PROBE_HEAPSNAPSHOT'])}\n`);
    }
    // What V8 gives back when asked to reduce memory (shrinks the young generation, releases pooled pages,
    // compacts): the floor the heap could reach, as opposed to what it keeps while busy.
    (gc as unknown as (options: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    await new Promise((r) => setTimeout(r, 100));
    report['afterMemoryReducingGc'] = { memory: memory(), spaces: heapSpaces() };
    report['steady'] = steady;
    report['checkpoints'] = checkpoints;
    const median = (key: string): number => {
      const xs = steady.map((c) => c[key] as number).sort((a, b) => a - b);
      return xs[Math.floor(xs.length / 2)] ?? NaN;
    };
    report['steadyMedian'] = Object.fromEntries(['wallS', 'cpuS', 'points', 'requests', 'requestMiB', 'heapAllocatedMiB', 'buffersAllocatedMiB', 'gcs', 'gcPauseMs', 'peakRssMiB'].map((k) => [k, median(k)]));
    await controller.shutdown(1000);
  } finally {
    await exporter.shutdown();
    await pool.close();
    sink.child.disconnect();
    sim.kill('SIGTERM');
    await once(sim, 'exit');
  }
  const text = JSON.stringify(report, null, 1);
  const out = option('out', '');
  if (out) writeFileSync(out, text);
  console.log(text);
}

await main();
