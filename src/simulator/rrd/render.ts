// Byte-exact bodies: rrd_updates (XMLM XML, three JSON dialects) and rrddump (/host_rrd, /vm_rrd), notes §1.6.
import type { Rra, Rrd } from './archive.ts';
import { TIMESTEP } from './archive.ts';
import { fToS, numberFormatter } from './format.ts';
import type { NumberFormat } from './format.ts';
import type { XapiWireProfile } from './contract.ts';

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n';

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function jsonString(s: string): string {
  return JSON.stringify(s);
}

/** One RRD's part of a response: its selected archives and how many columns each contributes. */
export interface UpdateSource {
  rras: Rra[];
  columns: number;
}

/** Legend rendered once per column set (cached by the engine). */
export interface RenderedLegend {
  columns: number;
  xml: string;
  /** `"a","b",…` */
  jsonItems: string;
}

export function renderLegend(entries: readonly string[]): RenderedLegend {
  let xml = '';
  let json = '';
  for (let i = 0; i < entries.length; i++) {
    xml += `<entry>${xmlEscape(entries[i]!)}</entry>`;
    json += i === 0 ? jsonString(entries[i]!) : `,${jsonString(entries[i]!)}`;
  }
  return { columns: entries.length, xml: `<legend>${xml}</legend>`, jsonItems: json };
}

export interface UpdatesFrame {
  metaStart: number;
  step: number;
  end: number;
  rowCount: number;
  legend: RenderedLegend;
  sources: readonly UpdateSource[];
}

/** Rows this near the newest keep their text cached (what pollers ask for); older ones are formatted each time. */
export const TEXT_CACHE_ROWS = 32;

/** One archive's part of row i: its first `columns` values formatted, each wrapped in pre/post, joined by sep. */
function rowChunk(rra: Rra, i: number, columns: number, style: string, fmt: (x: number) => string, pre: string, post: string, sep: string): string {
  const slot = rra.rowSlot(i);
  const data = rra.data;
  if (slot < 0 || data === null) return pre + new Array<string>(columns).fill('NaN').join(post + sep + pre) + post;
  const cache = i < TEXT_CACHE_ROWS ? rra.textCache(style) : undefined;
  if (cache !== undefined && cache.cols[slot] === columns) {
    const hit = cache.text[slot];
    if (hit !== undefined) return hit;
  }
  const off = slot * rra.stride;
  const parts = new Array<string>(columns);
  for (let c = 0; c < columns; c++) parts[c] = fmt(data[off + c]!);
  const text = pre + parts.join(post + sep + pre) + post;
  if (cache !== undefined) {
    cache.text[slot] = text;
    cache.cols[slot] = columns;
  }
  return text;
}

/** Values of row i in legend order, formatted and joined by `sep`, each wrapped in pre/post. */
function rowValues(sources: readonly UpdateSource[], i: number, style: string, fmt: (x: number) => string, pre: string, post: string, sep: string): string {
  const chunks: string[] = [];
  for (const src of sources) {
    if (src.columns === 0) continue;
    for (const rra of src.rras) chunks.push(rowChunk(rra, i, src.columns, style, fmt, pre, post, sep));
  }
  return chunks.join(sep);
}

export function renderUpdatesXml(f: UpdatesFrame, format: NumberFormat): string {
  const fmt = numberFormatter(format);
  const head = `${XML_DECL}<xport><meta><start>${f.metaStart}</start><step>${f.step}</step><end>${f.end}</end><rows>${f.rowCount}</rows><columns>${f.legend.columns}</columns>${f.legend.xml}</meta>`;
  if (f.rowCount === 0) return `${head}<data/></xport>`;
  const rows: string[] = [head, '<data>'];
  for (let i = 0; i < f.rowCount; i++) {
    rows.push(`<row><t>${f.end - i * f.step}</t>${rowValues(f.sources, i, `xml${format}`, fmt, '<v>', '</v>', '')}</row>`);
  }
  rows.push('</data></xport>');
  return rows.join('');
}

/** Legacy ad-hoc JSON (< 24.5.0). Zero rows is an exception in xapi (it indexes data.(length - 1)). */
export function renderUpdatesLegacyJson(f: UpdatesFrame, format: NumberFormat): string | undefined {
  if (f.rowCount === 0) return undefined;
  const fmt = numberFormatter(format);
  const rows: string[] = [];
  for (let i = 0; i < f.rowCount; i++) rows.push(`{t:${f.end - i * f.step},values:[${rowValues(f.sources, i, `bare${format}`, fmt, '', '', ',')}]}`);
  return `{meta: {start:${f.metaStart},step:${f.step},end:${f.end},rows:${f.rowCount},columns:${f.legend.columns},legend:[${f.legend.jsonItems}]},data:[${rows.join(',')}]}`;
}

/** Yojson dialects: 'nested' (24.5.0–24.10.x, data inside meta) and 'strings' (≥ 24.11.0). Numbers are strings. */
export function renderUpdatesYojson(f: UpdatesFrame, format: NumberFormat, nested: boolean): string {
  const fmt = numberFormatter(format);
  const rows: string[] = [];
  for (let i = 0; i < f.rowCount; i++) rows.push(`{"t":"${f.end - i * f.step}","values":[${rowValues(f.sources, i, `quoted${format}`, fmt, '"', '"', ',')}]}`);
  const data = rows.join(',');
  const meta = `"meta":{"start":"${f.metaStart}","step":"${f.step}","end":"${f.end}","rows":"${f.rowCount}","columns":"${f.legend.columns}","legend":[${f.legend.jsonItems}]`;
  return nested ? `{${meta},"data":[${data}]}}` : `{${meta}},"data":[${data}]}`;
}

const INT = (x: number): string => String(Math.trunc(x));

/** rrddump XML (`Rrd.xml_to_output`): data rows oldest first, every row of every archive. */
export function renderRrdXml(rrd: Rrd, profile: XapiWireProfile, clockOffset = 0): string {
  const f = (x: number): string => fToS(x, profile.numberFormat);
  let out = `${XML_DECL}<rrd><version>0003</version><step>${TIMESTEP}</step><lastupdate>${INT(rrd.lastUpdated + clockOffset)}</lastupdate>`;
  const n = rrd.columnCount;
  for (let c = 0; c < n; c++) {
    const ds = rrd.dss[c]!;
    out += `<ds><name>${xmlEscape(ds.name)}</name><type>${ds.type}</type><minimal_heartbeat>${f(300)}</minimal_heartbeat><min>${f(ds.min)}</min><max>${f(ds.max)}</max><last_ds>${lastDs(rrd, c, f)}</last_ds><value>0.0</value><unknown_sec>0</unknown_sec></ds>`;
  }
  for (const rra of rrd.rras) {
    out += `<rra><cf>${rra.cf}</cf><pdp_per_row>${rra.pdp}</pdp_per_row><params><xff>${f(rra.xff)}</xff></params><cdp_prep>`;
    for (let c = 0; c < n; c++) {
      out += `<ds><primary_value>0.0</primary_value><secondary_value>0.0</secondary_value><value>${f(rra.cdpValue[c]!)}</value><unknown_datapoints>${rra.cdpUnknown[c]}</unknown_datapoints></ds>`;
    }
    out += '</cdp_prep><database>';
    for (let r = rra.rows - 1; r >= 0; r--) {
      out += '<row>';
      for (let c = 0; c < n; c++) out += `<v>${f(rra.peek(r, c))}</v>`;
      out += '</row>';
    }
    out += '</database></rra>';
  }
  return `${out}</rrd>`;
}

function lastDs(rrd: Rrd, c: number, f: (x: number) => string): string {
  const v = rrd.lastValues[c]!;
  // ds_value_to_string: VT_Unknown prints "0.0".
  return v !== v ? '0.0' : f(Math.fround(v));
}

/**
 * rrddump JSON (`Rrd.Json`, every value a string). The legacy era spelt `minimal_hearbeat` and printed
 * `unknown_sec` as an integer (real CH 8.2 capture: test/fixtures/xapi-samples/dd_ch82_host_rrd_truncated.json).
 */
export function renderRrdJson(rrd: Rrd, profile: XapiWireProfile, clockOffset = 0): string {
  const f = (x: number): string => fToS(x, profile.numberFormat);
  const legacy = profile.jsonDialect === 'legacy';
  const n = rrd.columnCount;
  const ds: string[] = [];
  for (let c = 0; c < n; c++) {
    const d = rrd.dss[c]!;
    ds.push(
      `{"name":${jsonString(d.name)},"type":"${d.type}","${legacy ? 'minimal_hearbeat' : 'minimal_heartbeat'}":"${f(300)}","min":"${f(d.min)}","max":"${f(d.max)}","last_ds":"${lastDs(rrd, c, f)}","value":"0.0","unknown_sec":"${legacy ? '0' : '0.0'}"}`,
    );
  }
  const rras: string[] = [];
  for (const rra of rrd.rras) {
    const cdps: string[] = [];
    for (let c = 0; c < n; c++) {
      cdps.push(`{"primary_value":"0.0","secondary_value":"0.0","value":"${f(rra.cdpValue[c]!)}","unknown_datapoints":"${rra.cdpUnknown[c]}"}`);
    }
    const rows: string[] = [];
    if (n > 0) {
      for (let r = rra.rows - 1; r >= 0; r--) {
        const vals: string[] = [];
        for (let c = 0; c < n; c++) vals.push(`"${f(rra.peek(r, c))}"`);
        rows.push(`[${vals.join(',')}]`);
      }
    }
    rras.push(`{"cf":"${rra.cf}","pdp_per_row":"${rra.pdp}","params":{"xff":"${f(rra.xff)}"},"cdp_prep":{"ds":[${cdps.join(',')}]},"database":[${rows.join(',')}]}`);
  }
  return `{"version":"0003","step":"${TIMESTEP}","lastupdate":"${f(rrd.lastUpdated + clockOffset)}","ds":[${ds.join(',')}],"rra":[${rras.join(',')}]}`;
}
