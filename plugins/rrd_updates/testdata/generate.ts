// Generates realistic `/rrd_updates` bodies (every dialect and number format of notes/xapi.md §1.6) for the
// benchmark and for large-body tests. Shapes follow §3: a host with per-pCPU C/P-states and frequencies, PIFs,
// host-owned SR I/O columns, IntelliCache, xapi process stats; VMs with vCPUs, memory, VIFs and VBDs.
// Deterministic (seeded), so tests can assert on what it produces.

import { mulberry32 } from '../../../src/lib/random/index.ts';

export type GeneratedDialect = 'xml' | 'legacy' | 'nested' | 'strings';
export type NumberFormat = '%.4f' | '%.5g' | '%.15g';

export interface GenerateOptions {
  /** Approximate column count; VMs are added until it is reached. */
  columns: number;
  rows: number;
  dialect: GeneratedDialect;
  numberFormat: NumberFormat;
  seed?: number;
  /** Newest row's timestamp (unix seconds). */
  end?: number;
  step?: number;
  /** Fraction of values written as NaN. */
  nanRatio?: number;
  /** Owner of the host columns; default GENERATED_HOST_UUID. */
  hostUuid?: string;
}

export interface GeneratedBody {
  body: Buffer;
  legend: string[];
  timestamps: number[];
  /** Row-major values as a formatter printed them, parsed back with `Number()` (what a parser must return). */
  values: Float64Array;
}

export const GENERATED_HOST_UUID = '0d3a7c1e-5b7f-4c59-9a8e-2f61d4b0c0de';

export function generateRrdUpdates(options: GenerateOptions): GeneratedBody {
  const random = mulberry32(options.seed ?? 42);
  const step = options.step ?? 5;
  const end = options.end ?? 1_700_000_000;
  const legend = legendFor(options.columns, random, options.hostUuid ?? GENERATED_HOST_UUID);
  const format = formatter(options.numberFormat);
  const nanRatio = options.nanRatio ?? 0.01;
  const timestamps: number[] = [];
  const printed: string[][] = [];
  for (let r = 0; r < options.rows; r++) {
    timestamps.push(end - r * step);
    const row: string[] = [];
    for (let c = 0; c < legend.length; c++) {
      const x = random();
      row.push(x < nanRatio ? 'NaN' : format(sampleValue(legend[c]!, random)));
    }
    printed.push(row);
  }
  const values = new Float64Array(options.rows * legend.length);
  printed.forEach((row, r) => row.forEach((v, c) => (values[r * legend.length + c] = Number(v))));
  const meta = { start: end - options.rows * step + step, step, end, rows: options.rows, columns: legend.length };
  return { body: Buffer.from(render(options.dialect, meta, legend, timestamps, printed)), legend, timestamps, values };
}

function render(
  dialect: GeneratedDialect,
  meta: { start: number; step: number; end: number; rows: number; columns: number },
  legend: string[],
  timestamps: number[],
  rows: string[][],
): string {
  if (dialect === 'xml') {
    const head = `<?xml version="1.0" encoding="UTF-8"?>\n<xport><meta><start>${meta.start}</start><step>${meta.step}</step><end>${meta.end}</end><rows>${meta.rows}</rows><columns>${meta.columns}</columns>`;
    const leg = legend.length === 0 ? '<legend/>' : `<legend>${legend.map((e) => `<entry>${e}</entry>`).join('')}</legend>`;
    const data = rows.length === 0 ? '<data/>' : `<data>${rows.map((r, i) => `<row><t>${timestamps[i]}</t>${r.map((v) => `<v>${v}</v>`).join('')}</row>`).join('')}</data>`;
    return `${head}${leg}</meta>${data}</xport>`;
  }
  if (dialect === 'legacy') {
    const data = rows.map((r, i) => `{t:${timestamps[i]},values:[${r.join(',')}]}`).join(',');
    return `{meta: {start:${meta.start},step:${meta.step},end:${meta.end},rows:${meta.rows},columns:${meta.columns},legend:[${legend.map((e) => `"${e}"`).join(',')}]},data:[${data}]}`;
  }
  const q = (v: string | number): string => `"${v}"`;
  const metaJson = `"start":${q(meta.start)},"step":${q(meta.step)},"end":${q(meta.end)},"rows":${q(meta.rows)},"columns":${q(meta.columns)},"legend":[${legend.map(q).join(',')}]`;
  const data = `[${rows.map((r, i) => `{"t":${q(timestamps[i]!)},"values":[${r.map(q).join(',')}]}`).join(',')}]`;
  return dialect === 'nested' ? `{"meta":{${metaJson},"data":${data}}}` : `{"meta":{${metaJson}},"data":${data}}`;
}

function legendFor(columns: number, random: () => number, hostUuid: string): string[] {
  const host = `AVERAGE:host:${hostUuid}:`;
  const out: string[] = [];
  const cpus = 16;
  for (let n = 0; n < cpus; n++) {
    out.push(`${host}cpu${n}`, `${host}CPU${n}-avg-freq`);
    for (let m = 0; m < 4; m++) out.push(`${host}cpu${n}-C${m}`, `${host}cpu${n}-P${m}`);
  }
  for (const ds of ['cpu_avg', 'loadavg', 'hostload', 'memory_total_kib', 'memory_free_kib', 'memory_reclaimed', 'memory_reclaimed_max', 'pif_aggr_rx', 'pif_aggr_tx', 'Tapdisks_in_low_memory_mode', 'xapi_open_fds', 'pool_task_count', 'pool_session_count', 'xapi_memory_usage_kib', 'xapi_free_memory_kib', 'xapi_live_memory_kib', 'xapi_allocation_kib', 'DCMI-power-reading']) {
    out.push(host + ds);
  }
  for (const dev of ['eth0', 'eth1', 'eth2', 'bond0']) out.push(`${host}pif_${dev}_rx`, `${host}pif_${dev}_tx`);
  for (let s = 0; s < 3; s++) {
    const sr8 = hex(random, 8);
    for (const m of ['inflight', 'iowait', 'iops_total', 'iops_write', 'iops_read', 'io_throughput_total', 'io_throughput_write', 'io_throughput_read', 'write_latency', 'read_latency', 'write', 'read', 'avgqu_sz', 'latency']) {
      out.push(`${host}${m}_${sr8}`);
    }
  }
  while (out.length < columns) {
    const vm = `AVERAGE:vm:${uuid(random)}:`;
    out.push(`${vm}cpu0`, `${vm}cpu1`, `${vm}cpu_usage`, `${vm}memory`, `${vm}memory_target`, `${vm}memory_internal_free`);
    for (const vif of ['0', '1']) out.push(`${vm}vif_${vif}_rx`, `${vm}vif_${vif}_tx`);
    for (const vbd of ['xvda', 'xvdb']) {
      for (const m of ['read', 'write', 'read_latency', 'write_latency', 'io_throughput_read', 'io_throughput_write', 'io_throughput_total', 'iops_read', 'iops_write', 'iops_total', 'iowait', 'inflight', 'latency', 'avgqu_sz']) {
        out.push(`${vm}vbd_${vbd}_${m}`);
      }
    }
  }
  return out.slice(0, Math.max(columns, 0));
}

function sampleValue(entry: string, random: () => number): number {
  const ds = entry.slice(entry.lastIndexOf(':') + 1);
  if (ds.startsWith('memory') || ds.endsWith('_kib')) return Math.round(random() * 2 ** 33);
  if (/_(rx|tx|read|write)$/.test(ds)) return random() * 1e8;
  if (ds.includes('freq')) return 800 + random() * 3000;
  return random() < 0.2 ? 0 : random();
}

/** xapi's `f_to_s`: float32 value, NaN/±Infinity words, exact zero as `0.0`, then the era's printf format. */
export function formatter(format: NumberFormat): (x: number) => string {
  return (raw: number) => {
    const x = Math.fround(raw);
    if (Number.isNaN(x)) return 'NaN';
    if (x === Infinity) return 'Infinity';
    if (x === -Infinity) return '-Infinity';
    if (x === 0) return '0.0';
    if (format === '%.4f') return x.toFixed(4);
    return formatG(x, format === '%.5g' ? 5 : 15);
  };
}

/** C's `%.<p>g`: shortest of fixed/exponent form, trailing zeros removed, exponent at least two digits. */
export function formatG(x: number, precision: number): string {
  const [mantissa, expText] = x.toExponential(precision - 1).split('e') as [string, string];
  const exp = Number(expText);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= precision) {
    return `${strip(mantissa)}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return strip(x.toFixed(Math.max(0, precision - 1 - exp)));
}


function hex(random: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(random() * 16).toString(16);
  return s;
}

function uuid(random: () => number): string {
  return `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-a${hex(random, 3)}-${hex(random, 12)}`;
}
