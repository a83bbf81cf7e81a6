// Issue #4: golden tests of the rrd_updates mapping on simulator output, one per wire dialect / number format
// (notes/xapi.md §1.6, §7). For each xapi version that selects a different dialect, a deterministic simulated pool
// (fixed seed and start time, dynamics off) serves `/rrd_updates` over a real loopback socket; the body is parsed
// and mapped with an inventory read from the simulator itself through the real XAPI client, and the normalised
// batch is compared with `golden/<version>-<format>.json`. Beyond the goldens:
//   - the dialect the parser detects is the one the version speaks;
//   - XML and JSON of the same version (same pool state) map to identical output;
//   - parsed and mapped values agree with the simulator's ground truth `rrdValue` within the number format's
//     precision (`%.4f` absolute, `%.5g` relative, `%.15g` exactly the float32 value).
//
// Determinism: the pool runs at timeScale 1 from a fixed start time, so rows newer than the start appear while the
// test runs (one every 5 s of real time). Requests use a fixed `start` and only the rows of the fixed window
// [T0 − 30 s, T0] are mapped (T0 = the last 5 s boundary at the simulated start), so neither wall-clock time nor
// the test's speed enters a golden. Ports, session refs and the CA do not appear in the mapped output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapRrdUpdates, type RrdMapContext } from '../../plugins/rrd_updates/map.ts';
import { parseRrdUpdates, type ParsedRrdUpdates, type RrdDialect } from '../../plugins/rrd_updates/parse.ts';
import type { Inventory, XapiPool } from '../../src/lib/xapi/types.ts';
import type { MetricBatch } from '../../src/plugin-api/index.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { toGolden } from '../golden/normalize.ts';
import { login, request } from '../simulator/helpers.ts';
import { startSimulatedPool } from './support.ts';

/** Simulated start: 2025-06-01T12:00:01Z, one second after a 5 s boundary. */
const START_MS = Date.UTC(2025, 5, 1, 12, 0, 1);
const T0 = Math.floor(START_MS / 5000) * 5; // newest row at start, unix s
const WINDOW_S = 30;
const WINDOW_ROWS = WINDOW_S / 5 + 1; // both ends included

type NumberFormat = '%.4f' | '%.5g' | '%.15g';
type WireFormat = 'xml' | 'json';

interface VersionCase {
  version: string;
  numberFormat: NumberFormat;
  /** How each format is asked for: before 23.17.0 only the `json` query key decides, afterwards `Accept` does. */
  requests: Partial<Record<WireFormat, { accept?: string; json?: boolean; dialect: RrdDialect }>>;
}

const CASES: readonly VersionCase[] = [
  {
    version: 'ch-8.2',
    numberFormat: '%.4f',
    requests: {
      xml: { dialect: 'xml' },
      json: { json: true, dialect: 'legacy' },
    },
  },
  { version: '24.10.0', numberFormat: '%.5g', requests: { json: { accept: 'application/json', dialect: 'nested' } } },
  { version: '25.0.0', numberFormat: '%.5g', requests: { json: { accept: 'application/json', dialect: 'strings' } } },
  {
    version: 'current',
    numberFormat: '%.15g',
    requests: {
      xml: { accept: 'text/xml', dialect: 'xml' },
      json: { accept: 'application/json', dialect: 'strings' },
    },
  },
];

interface Fetched {
  parsed: ParsedRrdUpdates;
  /** Host order of the pool (sim.info.hosts), each host's window only. */
  perHost: Array<{ hostUuid: string; parsed: ParsedRrdUpdates; context: RrdMapContext }>;
  batch: MetricBatch;
}

interface Pool {
  sim: RunningSimulator;
  xapi: XapiPool;
  session: string;
  inventory: Inventory;
}

async function startPool(version: string): Promise<Pool> {
  const { sim, pool: xapi } = await startSimulatedPool(
    { hosts: 2, vmsPerHost: 2, seed: 4242, xapiVersion: version, tls: false, timeScale: 1, startTimeMs: START_MS, historySeconds: 120 },
    { originator: 'dialect-goldens', requestTimeoutMs: 5000, maxConcurrentHosts: 2 },
  );
  const user = sim.info.users.find((u) => u.role === 'read-only')!;
  await xapi.ready(AbortSignal.timeout(10_000));
  const session = await login(sim.info.master_url, user.username, user.password);
  return { sim, xapi, session, inventory: xapi.inventory() };
}

/** Only the rows of the fixed window, in the order sent (newest first). */
function window(parsed: ParsedRrdUpdates): ParsedRrdUpdates {
  const rows: number[] = [];
  parsed.timestamps.forEach((t, r) => {
    if (t >= T0 - WINDOW_S && t <= T0) rows.push(r);
  });
  const c = parsed.columns;
  const values = new Float64Array(rows.length * c);
  rows.forEach((r, i) => values.set(parsed.values.subarray(r * c, (r + 1) * c), i * c));
  return { ...parsed, rows: rows.length, timestamps: Float64Array.from(rows, (r) => parsed.timestamps[r]!), values };
}

function merge(batches: MetricBatch[]): MetricBatch {
  return { resources: batches.flatMap((b) => b.resources) };
}

async function fetchAll(pool: Pool, spec: { accept?: string; json?: boolean }): Promise<Fetched> {
  const perHost: Fetched['perHost'] = [];
  let first: ParsedRrdUpdates | undefined;
  for (const h of pool.sim.info.hosts) {
    const query = `session_id=${encodeURIComponent(pool.session)}&start=${T0 - WINDOW_S}&cf=AVERAGE&interval=5&host=true${spec.json === true ? '&json=true' : ''}`;
    const res = await request(`${h.url}/rrd_updates?${query}`, spec.accept === undefined ? {} : { headers: { accept: spec.accept } });
    expect(res.status, res.body.slice(0, 300)).toBe(200);
    const parsed = parseRrdUpdates(Buffer.from(res.body, 'utf8'));
    first ??= parsed;
    expect(parsed.step).toBe(5);
    expect(parsed.end).toBeGreaterThanOrEqual(T0);
    const windowed = window(parsed);
    expect(Array.from(windowed.timestamps)).toEqual(Array.from({ length: WINDOW_ROWS }, (_, i) => T0 - i * 5));
    const ref = pool.inventory.refOfUuid(h.uuid)!;
    const host = pool.inventory.hosts.get(ref)!;
    perHost.push({ hostUuid: h.uuid, parsed: windowed, context: { pool: pool.inventory.pool, host, inventory: pool.inventory } });
  }
  const batch = merge(perHost.map(({ parsed, context }) => mapRrdUpdates(parsed, context).batch));
  return { parsed: first!, perHost, batch };
}

/** Largest difference a format allows between a printed float32 value and the value itself (raw RRD units). */
function tolerance(format: NumberFormat, truth: number): number {
  // 15 significant digits: the printed value is within half a unit of the 15th digit of the float32 value.
  if (format === '%.15g') return Math.abs(truth) * 0.5e-14 * (1 + 1e-6);
  // Half a unit of the last printed digit, plus a little for the double arithmetic of parsing.
  if (format === '%.4f') return 0.5e-4 * (1 + 1e-9) + Math.abs(truth) * 1e-15;
  return Math.abs(truth) * 0.5e-4 * (1 + 1e-9);
}

/** `{resource key → metric → attributes → time → value}` of a batch, for point-wise comparison. */
function pointsOf(batch: MetricBatch): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of batch.resources) {
    for (const m of r.metrics) {
      for (const s of m.series) {
        const attrs = JSON.stringify(Object.entries(s.attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
        for (let i = 0; i < s.timesMs.length; i++) out.set(`${r.key}|${m.definition.name}|${attrs}|${s.timesMs[i]}`, s.values[i]!);
      }
    }
  }
  return out;
}

/** The same legend and rows with other values (ground truth or a probe), mapped with the same context. */
function mapWith(perHost: Fetched['perHost'], value: (hostUuid: string, parsed: ParsedRrdUpdates, row: number, column: number) => number): MetricBatch {
  return merge(
    perHost.map(({ hostUuid, parsed, context }) => {
      const values = new Float64Array(parsed.values.length);
      for (let r = 0; r < parsed.rows; r++) for (let c = 0; c < parsed.columns; c++) values[r * parsed.columns + c] = value(hostUuid, parsed, r, c);
      return mapRrdUpdates({ ...parsed, values }, context).batch;
    }),
  );
}

describe.each(CASES)('rrd_updates golden on the simulator speaking $version', (vc) => {
  let pool: Pool;
  const fetched = new Map<WireFormat, Fetched>();

  beforeAll(async () => {
    pool = await startPool(vc.version);
    for (const [format, spec] of Object.entries(vc.requests) as Array<[WireFormat, { accept?: string; json?: boolean }]>) fetched.set(format, await fetchAll(pool, spec));
  });
  afterAll(async () => {
    await pool?.xapi.close();
    await pool?.sim.stop();
  });

  const formats = Object.entries(vc.requests) as Array<[WireFormat, { dialect: RrdDialect }]>;

  it.each(formats)('%s: detected dialect, golden', async (format, spec) => {
    const f = fetched.get(format)!;
    expect(f.parsed.dialect).toBe(spec.dialect);
    for (const h of f.perHost) expect(h.parsed.dialect).toBe(spec.dialect);
    // Every host and VM of the pool reports: 2 hosts, each with dom0 and its 2 VMs.
    expect(f.batch.resources.filter((r) => r.key.startsWith('host:'))).toHaveLength(2);
    expect(f.batch.resources.filter((r) => r.key.startsWith('vm:'))).toHaveLength(6);
    await expect(toGolden(f.batch)).toMatchFileSnapshot(`golden/${vc.version}-${format}.json`);
  });

  if (formats.length > 1) {
    it('XML and JSON of the same pool state map to identical output', () => {
      const xml = fetched.get('xml')!.batch;
      const json = fetched.get('json')!.batch;
      expect(toGolden(xml, { keepTimestamps: true })).toBe(toGolden(json, { keepTimestamps: true }));
    });
  }

  it.each(formats)(`%s: parsed values agree with rrdValue within ${vc.numberFormat}`, (format) => {
    let compared = 0;
    let nan = 0;
    for (const { hostUuid, parsed } of fetched.get(format)!.perHost) {
      for (let c = 0; c < parsed.columns; c++) {
        const e = parsed.legend[c]!;
        // host=true and no sr_uuid: this host's own RRD and its resident VMs' only.
        expect(e.owner === 'vm' || (e.owner === 'host' && e.uuid === hostUuid), e.raw).toBe(true);
        for (let r = 0; r < parsed.rows; r++) {
          const truth = pool.sim.rrdValue(e.owner as 'host' | 'vm', e.uuid, e.ds, parsed.timestamps[r]!);
          const got = parsed.values[r * parsed.columns + c]!;
          if (Number.isNaN(truth)) {
            expect(got, `${e.raw} @${parsed.timestamps[r]}`).toBeNaN();
            nan++;
            continue;
          }
          // %.15g keeps more digits than a float32 has (9): rounding the printed value to float32 gives it back.
          if (vc.numberFormat === '%.15g') expect(Math.fround(got), `${e.raw} @${parsed.timestamps[r]}`).toBe(truth);
          expect(Math.abs(got - truth), `${e.raw} @${parsed.timestamps[r]}: ${got} vs ${truth}`).toBeLessThanOrEqual(tolerance(vc.numberFormat, truth));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
    expect(nan).toBeLessThan(compared);
  });

  it.each(formats)(`%s: mapped values agree with the mapped ground truth within ${vc.numberFormat}`, (format) => {
    const f = fetched.get(format)!;
    const rawTruth = (hostUuid: string, p: ParsedRrdUpdates, r: number, c: number): number => {
      const e = p.legend[c]!;
      return pool.sim.rrdValue(e.owner as 'host' | 'vm', e.uuid, e.ds, p.timestamps[r]!);
    };
    const truth = pointsOf(mapWith(f.perHost, rawTruth));
    // Each point's unit conversion, from the same columns mapped with 1 wherever the response had a sample.
    const scale = pointsOf(mapWith(f.perHost, (_h, p, r, c) => (Number.isFinite(p.values[r * p.columns + c]!) ? 1 : NaN)));
    const got = pointsOf(f.batch);
    expect([...got.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [key, v] of got) {
      const t = truth.get(key)!;
      const s = scale.get(key)!;
      expect(Math.abs(v - t), `${key}: ${v} vs ${t}`).toBeLessThanOrEqual(tolerance(vc.numberFormat, t / s) * Math.abs(s) * (1 + 1e-9) + Math.abs(t) * 1e-15);
    }
  });
});
