// In-process micro benches of `npm run bench`: rrd_updates parse (+ map) throughput against JSON.parse on the same
// body, per dialect, and the OTLP serialisation rate of the native encoder (+ gzip) on a synthetic pool batch.
// CPU-bound and single-threaded, so wall time of the interleaved samples is what is measured (medians).

import { gzipSync } from 'node:zlib';
import { RrdMapper } from '../plugins/rrd_updates/map.ts';
import { LegendCache, parseRrdUpdates } from '../plugins/rrd_updates/parse.ts';
import { host, inventoryOf, pool } from '../plugins/rrd_updates/testdata/context.ts';
import { generateRrdUpdates, GENERATED_HOST_UUID, type GeneratedDialect, type NumberFormat } from '../plugins/rrd_updates/testdata/generate.ts';
import { encodeResourceBounded, encodeScopeField } from '../src/exporters/otlp-common/proto-encoder.ts';
import { batchPoints, syntheticBatch } from '../src/exporters/otlp-common/synthetic.ts';

/** Median ms of each function, sampled interleaved (A, B, C, A, B, C …) so background load hits all alike. */
export function measure(fns: ReadonlyArray<() => unknown>, minMs: number): number[] {
  for (let i = 0; i < 5; i++) for (const fn of fns) fn(); // JIT warm-up
  const samples: number[][] = fns.map(() => []);
  const deadline = performance.now() + minMs;
  while (performance.now() < deadline || samples[0]!.length < 9) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      fn();
      samples[i]!.push(performance.now() - t0);
    });
  }
  return samples.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]!);
}

export interface ParseFigure {
  dialect: GeneratedDialect;
  numberFormat: NumberFormat;
  rows: number;
  columns: number;
  bodyBytes: number;
  /** JSON.parse of the same data in the current JSON dialect (for XML and legacy: the equivalent JSON body). */
  jsonParseMBps: number;
  parseMBps: number;
  /** Steady state: legend cache and mapper layout reused (same legend as the previous cycle). */
  parseMapWarmMBps: number;
  /**
   * Legend changed (VM start/stop/migrate): legend-cache miss (the changed legend read with the previous one as a
   * guide) + layout rebuild. Its digest is left to the next response with the same legend, measured as warm.
   */
  parseMapRelayoutMBps: number;
  parseMapWarmMValuesPerS: number;
  jsonParseMValuesPerS: number;
  /** parse+map (warm) MB/s as a fraction of JSON.parse MB/s; the bar is ≥ 0.5. */
  warmRatio: number;
  relayoutRatio: number;
}

export function parseBench(quick: boolean): ParseFigure[] {
  const h = host({ uuid: GENERATED_HOST_UUID });
  const context = { pool: pool(), host: h, inventory: inventoryOf({ hosts: [h] }) };
  const cases: Array<[GeneratedDialect, NumberFormat]> = [
    ['strings', '%.15g'],
    ['nested', '%.5g'],
    ['legacy', '%.4f'],
    ['xml', '%.15g'],
    ['xml', '%.4f'],
  ];
  const out: ParseFigure[] = [];
  for (const rows of quick ? [1] : [1, 12]) {
    for (const [dialect, numberFormat] of cases) {
      const g = generateRrdUpdates({ columns: 4000, rows, dialect, numberFormat });
      const jsonText =
        dialect === 'nested' || dialect === 'strings' ? g.body.toString('utf8') : generateRrdUpdates({ columns: 4000, rows, dialect: 'strings', numberFormat }).body.toString('utf8');
      const jsonBytes = Buffer.byteLength(jsonText);
      const cache = new LegendCache();
      const warm = new RrdMapper();
      // Legend changed (a VM started or stopped): alternate with a body one VM shorter, through the scraper's
      // per-host legend cache and mapper, so every call is a legend miss and a relayout.
      const other = generateRrdUpdates({ columns: 4000 - 45, rows, dialect, numberFormat });
      const relayoutCache = new LegendCache();
      const relayout = new RrdMapper();
      let flip = false;
      const [tJson, tParse, tRelayout, tWarm] = measure(
        [
          () => JSON.parse(jsonText),
          () => parseRrdUpdates(g.body),
          () => {
            flip = !flip;
            return relayout.map(parseRrdUpdates(flip ? g.body : other.body, { legendCache: relayoutCache }), context);
          },
          () => warm.map(parseRrdUpdates(g.body, { legendCache: cache }), context),
        ],
        quick ? 400 : 1500,
      ) as [number, number, number, number];
      const values = rows * g.legend.length;
      const jsonMBps = jsonBytes / tJson / 1e3;
      const mbps = (ms: number): number => g.body.length / ms / 1e3;
      out.push({
        dialect,
        numberFormat,
        rows,
        columns: g.legend.length,
        bodyBytes: g.body.length,
        jsonParseMBps: jsonMBps,
        parseMBps: mbps(tParse),
        parseMapWarmMBps: mbps(tWarm),
        parseMapRelayoutMBps: mbps(tRelayout),
        parseMapWarmMValuesPerS: values / tWarm / 1e3,
        jsonParseMValuesPerS: values / tJson / 1e3,
        warmRatio: mbps(tWarm) / jsonMBps,
        relayoutRatio: mbps(tRelayout) / jsonMBps,
      });
    }
  }
  return out;
}

export interface ExportFigure {
  resources: number;
  points: number;
  rows: number;
  /** Native encoder, one pass over the batch: CPU seconds, points/s, MB/s of protobuf produced. */
  encodeCpuSeconds: number;
  encodeMPointsPerS: number;
  encodeMBps: number;
  bytesPerPoint: number;
  /** gzip (level default) of the whole encoded batch, on this thread: CPU seconds and MB/s of input. */
  gzipCpuSeconds: number;
  gzipMBps: number;
  gzipRatio: number;
}

/** Serialisation rate of the exporter's encoder on a synthetic L-sized batch (64 hosts × 100 VMs, 1 row). */
export function exportBench(quick: boolean): ExportFigure {
  const batch = syntheticBatch({ hosts: quick ? 8 : 64, vmsPerHost: quick ? 50 : 100, rows: 1 });
  const points = batchPoints(batch);
  const scopeField = encodeScopeField(batch.scope);
  const runs = quick ? 3 : 5;
  let best = Infinity;
  let encoded: Buffer[] = [];
  for (let run = 0; run < runs; run++) {
    const parts: Buffer[] = [];
    const t = process.cpuUsage();
    for (const rm of batch.resources) for (const f of encodeResourceBounded(rm, scopeField, 3 << 20)) parts.push(f.bytes);
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1e6);
    encoded = parts;
  }
  const whole = Buffer.concat(encoded);
  const tz = process.cpuUsage();
  const gz = gzipSync(whole);
  const dz = process.cpuUsage(tz);
  const gzipCpu = (dz.user + dz.system) / 1e6;
  return {
    resources: batch.resources.length,
    points,
    rows: 1,
    encodeCpuSeconds: best,
    encodeMPointsPerS: points / best / 1e6,
    encodeMBps: whole.length / best / 1e6,
    bytesPerPoint: whole.length / points,
    gzipCpuSeconds: gzipCpu,
    gzipMBps: whole.length / gzipCpu / 1e6,
    gzipRatio: gz.length / whole.length,
  };
}
