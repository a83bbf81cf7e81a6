import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../../src/plugin-api/index.ts';
import { LegendCache, parseLegendEntry, parseRrdUpdates, RRD_ERR_PARSE, type LegendEntry } from './parse.ts';
import { formatG, generateRrdUpdates } from './testdata/generate.ts';

const SAMPLES = new URL('../../test/fixtures/xapi-samples/', import.meta.url);
const sample = (name: string): Buffer => readFileSync(new URL(name, SAMPLES));
const parse = (text: string) => parseRrdUpdates(Buffer.from(text));
const H = 'AVERAGE:host:4cff6b2b-a236-42e0-b388-c78a413f5f46';

function parseError(text: string | Buffer): AgentError {
  try {
    parseRrdUpdates(typeof text === 'string' ? Buffer.from(text) : text);
  } catch (err) {
    if (err instanceof AgentError) return err;
    throw new Error(`not an AgentError: ${String(err)}`, { cause: err });
  }
  throw new Error('parsed without error');
}

describe('parseRrdUpdates on the real samples', () => {
  it('reads the CH 8.2 XML capture (%0.4f, literal \\n after the declaration)', () => {
    const p = parseRrdUpdates(sample('dd_ch82_rrd_updates.xml'));
    expect(p).toMatchObject({ dialect: 'xml', start: 1630575340, step: 5, end: 1630575355, rows: 4, columns: 45 });
    expect(p.legend).toHaveLength(45);
    expect(p.legend[44]).toMatchObject({ cf: 'AVERAGE', owner: 'vm', uuid: 'cc11e6e9-5071-4707-830a-b87e5618e874', ds: 'cpu0' });
    expect(Array.from(p.timestamps)).toEqual([1630575355, 1630575350, 1630575345, 1630575340]);
    expect(p.values).toHaveLength(4 * 45);
    expect(p.values[4]).toBe(10833308); // memory_total_kib, row 0
    expect(p.values[3 * 45 + 44]).toBe(0.1112);
  });

  it('reads the legacy JSON5-ish capture (unquoted keys, bare numbers)', () => {
    const p = parseRrdUpdates(sample('dd_ch82_rrd_updates_legacy.json5'));
    expect(p).toMatchObject({ dialect: 'legacy', start: 1627907540, end: 1627907565, rows: 6, columns: 31 });
    expect(p.values[2]).toBe(0.954);
    expect(p.values[29]).toBe(1191182336);
  });

  it('reads the synthesised current JSON and XML identically, NaN kept as NaN', () => {
    const json = parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.json'));
    const xml = parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.xml'));
    expect(json.dialect).toBe('strings');
    expect(xml.dialect).toBe('xml');
    expect(xml.legend.map((e) => e.raw)).toEqual(json.legend.map((e) => e.raw));
    expect(Array.from(xml.timestamps)).toEqual(Array.from(json.timestamps));
    expect(Array.from(xml.values)).toEqual(Array.from(json.values));
    expect(Number.isNaN(json.values[30])).toBe(true);
  });

  it('returns exactly what JSON.parse + Number() return for the current dialect', () => {
    const text = sample('synth_rrd_updates_v25.3plus.json').toString('utf8');
    const expected = (JSON.parse(text) as { data: Array<{ values: string[] }> }).data.flatMap((row) => row.values.map(Number));
    expect(Array.from(parse(text).values)).toEqual(expected);
  });

  it('agrees with fast-xml-parser on the XML capture (cross-check)', () => {
    const body = sample('dd_ch82_rrd_updates.xml');
    const doc = new XMLParser({ parseTagValue: false }).parse(body.toString('utf8').replace('\\n', '')) as {
      xport: { meta: { legend: { entry: string[] } }; data: { row: Array<{ t: string; v: string[] }> } };
    };
    const p = parseRrdUpdates(body);
    expect(p.legend.map((e) => e.raw)).toEqual(doc.xport.meta.legend.entry);
    expect(Array.from(p.timestamps)).toEqual(doc.xport.data.row.map((r) => Number(r.t)));
    expect(Array.from(p.values)).toEqual(doc.xport.data.row.flatMap((r) => r.v.map(Number)));
  });
});

describe('dialects and number formats of generated bodies', () => {
  it.each([
    ['strings', '%.15g'],
    ['strings', '%.5g'],
    ['nested', '%.5g'],
    ['legacy', '%.4f'],
    ['xml', '%.4f'],
    ['xml', '%.5g'],
    ['xml', '%.15g'],
  ] as const)('%s with %s: every value equals Number(printed)', (dialect, numberFormat) => {
    const g = generateRrdUpdates({ columns: 600, rows: 3, dialect, numberFormat, nanRatio: 0.05 });
    const p = parseRrdUpdates(g.body);
    expect(p.dialect).toBe(dialect);
    expect(p.columns).toBe(600);
    expect(Array.from(p.timestamps)).toEqual(g.timestamps);
    expect(Array.from(p.values)).toEqual(Array.from(g.values));
  });

  it('formatG prints like C %g', () => {
    expect(formatG(1191182336, 5)).toBe('1.1912e+09');
    expect(formatG(0.0627000033855438, 15)).toBe('0.0627000033855438');
    expect(formatG(10833308, 15)).toBe('10833308');
    expect(formatG(0.00001234, 5)).toBe('1.234e-05');
  });
});

describe('edge cases', () => {
  const meta = (rows: number, columns: number, legend: string[]) =>
    `"meta":{"start":"0","step":"5","end":"10","rows":"${rows}","columns":"${columns}","legend":[${legend.map((l) => `"${l}"`).join(',')}]}`;

  it.each([
    ['NaN', NaN],
    ['"NaN"', NaN],
    ['Infinity', Infinity],
    ['"-Infinity"', -Infinity],
    ['"+Infinity"', Infinity],
    ['"nan"', NaN],
    ['"-inf"', -Infinity],
    ['0.0', 0],
    ['"-0.0"', -0],
    ['1.1912e+09', 1.1912e9],
    ['"6.27e-2"', 0.0627],
    ['1E3', 1000],
    ['"10833308.0000"', 10833308],
    ['"0.0627000033855438"', 0.0627000033855438],
    ['"123456789012345678"', Number('123456789012345678')],
    ['"1e-30"', 1e-30],
    ['"-5"', -5],
  ])('value %s → %s', (text, expected) => {
    const p = parse(`{${meta(1, 1, [`${H}:cpu0`])},"data":[{"t":"10","values":[${text}]}]}`);
    expect(Object.is(p.values[0], expected)).toBe(true);
  });

  it('zero rows: JSON data [] and XML <data/>', () => {
    expect(parse(`{${meta(0, 1, [`${H}:cpu0`])},"data":[]}`).values).toHaveLength(0);
    const xml = parse(`<?xml version="1.0" encoding="UTF-8"?>\n<xport><meta><start>0</start><step>5</step><end>0</end><rows>0</rows><columns>0</columns><legend/></meta><data/></xport>`);
    expect(xml).toMatchObject({ rows: 0, columns: 0, legend: [] });
    expect(xml.timestamps).toHaveLength(0);
  });

  it('unquoted keys, data nested in meta, and indented XML', () => {
    expect(parse(`{meta: {start:0,step:5,end:10,rows:1,columns:1,legend:["${H}:cpu0"]},data:[{t:10,values:[0.5]}]}`).dialect).toBe('legacy');
    const nested = parse(`{"meta":{"start":"0","step":"5","end":"10","rows":"1","columns":"1","legend":["${H}:cpu0"],"data":[{"t":"10","values":["0.5"]}]}}`);
    expect(nested).toMatchObject({ dialect: 'nested', rows: 1 });
    expect(nested.values[0]).toBe(0.5);
    const xml = parse(`<xport>\n  <meta>\n    <start>0</start>\n <step>5</step><end>10</end><rows>1</rows><columns>1</columns>\n    <legend>\n      <entry>${H}:cpu0</entry>\n    </legend>\n  </meta>\n  <data>\n <row> <t>10</t> <v> 0.25 </v> </row>\n </data>\n</xport>\n`);
    expect(xml.values[0]).toBe(0.25);
  });

  it('data before meta is still read', () => {
    const p = parse(`{"data":[{"values":["1.5"],"t":"10"}],${meta(1, 1, [`${H}:cpu0`])}}`);
    expect(p.values[0]).toBe(1.5);
    expect(p.timestamps[0]).toBe(10);
  });

  it.each([
    ['AVERAGE:host:u:cpu0', { cf: 'AVERAGE', owner: 'host', uuid: 'u', ds: 'cpu0' }],
    ['AVERAGE:host:u:statefile/a:b/latency', { owner: 'host', ds: 'statefile/a:b/latency' }],
    ['MAX:vm:u:vbd_xvda_read', { cf: 'MAX', owner: 'vm', ds: 'vbd_xvda_read' }],
    ['AVERAGE:pool:u:x', { owner: 'other', ownerRaw: 'pool' }],
  ])('legend %s', (raw, expected) => {
    expect(parseLegendEntry(raw)).toMatchObject({ raw, ...expected });
  });

  it.each(['cpu0', 'AVERAGE:host', 'AVERAGE:host:u', 'AVERAGE:host:u:'])('legend %s is malformed', (raw) => {
    expect(parseLegendEntry(raw)).toBeUndefined();
  });

  it('XML entities in legend entries are decoded', () => {
    const p = parse(`<xport><meta><start>0</start><step>5</step><end>0</end><rows>0</rows><columns>1</columns><legend><entry>AVERAGE:host:u:a&amp;b</entry></legend></meta><data/></xport>`);
    expect(p.legend[0]!.ds).toBe('a&b');
  });

  it.each([
    ['empty body', '', /empty body/],
    ['HTML 500 page', '<html><body><h1>HTTP 500 internal server error</h1></body></html>', /not <xport>/],
    ['XO Lite page', '<!DOCTYPE html><html><head></head></html>', /unsupported markup/],
    ['plain text', 'Unauthorised', /neither XML nor JSON/],
    ['legend shorter than columns', `{${meta(1, 2, [`${H}:cpu0`])},"data":[{"t":"10","values":["1","2"]}]}`, /legend has 1 entries but meta.columns is 2/],
    ['too few values in a row', `{${meta(1, 2, [`${H}:cpu0`, `${H}:cpu1`])},"data":[{"t":"10","values":["1"]}]}`, /row 0 has 1 values/],
    ['too many values in a row', `{${meta(1, 1, [`${H}:cpu0`])},"data":[{"t":"10","values":["1","2"]}]}`, /more values than meta.columns/],
    ['fewer rows than meta.rows', `{${meta(2, 1, [`${H}:cpu0`])},"data":[{"t":"10","values":["1"]}]}`, /data has 1 rows but meta.rows is 2/],
    ['more rows than meta.rows', `{${meta(1, 1, [`${H}:cpu0`])},"data":[{"t":"10","values":["1"]},{"t":"5","values":["1"]}]}`, /more data rows/],
    ['XML rows mismatch', `<xport><meta><start>0</start><step>5</step><end>0</end><rows>2</rows><columns>1</columns><legend><entry>${H}:cpu0</entry></legend></meta><data><row><t>1</t><v>1</v></row></data></xport>`, /data has 1 rows but meta.rows is 2/],
    ['bad number', `{${meta(1, 1, [`${H}:cpu0`])},"data":[{"t":"10","values":["abc"]}]}`, /expected a number/],
    ['malformed legend entry', `{${meta(1, 1, ['cpu0'])},"data":[{"t":"10","values":["1"]}]}`, /malformed legend entry/],
    ['missing data', `{${meta(0, 1, [`${H}:cpu0`])}}`, /missing 'data'/],
    ['trailing garbage', `{${meta(0, 1, [`${H}:cpu0`])},"data":[]} x`, /unexpected content/],
    ['absurd meta.rows', `{${meta(1e9, 1, [`${H}:cpu0`])},"data":[]}`, /cannot fit/],
  ])('%s → RRD_ERR_PARSE', (_name, body, message) => {
    const err = parseError(body);
    expect(err.code).toBe(RRD_ERR_PARSE);
    expect(err.message).toMatch(message);
    expect(err.details).toHaveProperty('position');
    expect(err.details).toHaveProperty('context');
  });

  it('flags HTML bodies in the error details', () => {
    expect(parseError('<html><body>401</body></html>').details.html).toBe(true);
  });

  it.each(['dd_ch82_rrd_updates.xml', 'dd_ch82_rrd_updates_legacy.json5', 'synth_rrd_updates_v25.3plus.json'])(
    'every truncation of %s is a coded error, never a crash or a silent result',
    (name) => {
      const body = sample(name);
      let checked = 0;
      for (let cut = 0; cut < body.length - 1; cut += 7) {
        const err = parseError(body.subarray(0, cut));
        expect(err.code).toBe(RRD_ERR_PARSE);
        checked++;
      }
      expect(checked).toBeGreaterThan(400);
    },
  );

  it('random byte corruption never throws anything but RRD_ERR_PARSE', () => {
    const body = sample('synth_rrd_updates_v25.3plus.json');
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    let errors = 0;
    for (let i = 0; i < 500; i++) {
      const copy = Buffer.from(body);
      for (let k = 0; k < 3; k++) copy[next() % copy.length] = next() % 256;
      try {
        parseRrdUpdates(copy);
      } catch (err) {
        expect(err).toBeInstanceOf(AgentError);
        expect((err as AgentError).code).toBe(RRD_ERR_PARSE);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });
});

describe('LegendCache', () => {
  it('reuses the legend when the bytes are unchanged, reparses when they change', () => {
    const cache = new LegendCache();
    const a = parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.json'), { legendCache: cache });
    const b = parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.json'), { legendCache: cache });
    expect(b.compactLegend).toBe(a.compactLegend);
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
    expect(cache).toMatchObject({ hits: 1, misses: 1 });
    // Recognised by its digest from the third response on (the second one confirmed the bytes).
    expect(parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.json'), { legendCache: cache }).compactLegend).toBe(a.compactLegend);
    // Same legend in XML: different bytes, so a miss, with the same entries.
    const c = parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.xml'), { legendCache: cache });
    expect(c.compactLegend).not.toBe(a.compactLegend);
    expect(c.legend).toEqual(a.legend);
    const d = parseRrdUpdates(sample('synth_rrd_updates_v25.3plus.xml'), { legendCache: cache });
    expect(d.compactLegend).toBe(c.compactLegend);
    expect(cache).toMatchObject({ hits: 3, misses: 2 });
  });

  it('does not reuse a cached legend that is only a prefix of the new one', () => {
    const cache = new LegendCache();
    const one = `{"meta":{"start":"0","step":"5","end":"10","rows":"1","columns":"1","legend":["${H}:cpu0"]},"data":[{"t":"10","values":["1"]}]}`;
    const two = `{"meta":{"start":"0","step":"5","end":"10","rows":"1","columns":"2","legend":["${H}:cpu0","${H}:cpu1"]},"data":[{"t":"10","values":["1","2"]}]}`;
    parseRrdUpdates(Buffer.from(one), { legendCache: cache });
    expect(parseRrdUpdates(Buffer.from(two), { legendCache: cache }).legend.map((e) => e.ds)).toEqual(['cpu0', 'cpu1']);
  });

  it.each([1, 2, 5])('a legend that differs in one byte, same length, is a miss after %i identical responses', (identical) => {
    const cache = new LegendCache();
    const vm = (uuid: string) => `{"meta":{"start":"0","step":"5","end":"10","rows":"1","columns":"2","legend":["${H}:cpu0","AVERAGE:vm:${uuid}:cpu0"]},"data":[{"t":"10","values":["1","2"]}]}`;
    const first = '11111111-2222-4333-8444-555555555555';
    const second = '11111111-2222-4333-8444-555555555556';
    for (let i = 0; i < identical; i++) expect(parseRrdUpdates(Buffer.from(vm(first)), { legendCache: cache }).legend[1]!.uuid).toBe(first);
    expect(parseRrdUpdates(Buffer.from(vm(second)), { legendCache: cache }).legend[1]!.uuid).toBe(second);
    expect(cache).toMatchObject({ hits: identical - 1, misses: 2 });
  });
});

describe('legend reading', () => {
  const legendOf = (legend: readonly string[], dialect: 'json' | 'xml', spaced = false, legendCache?: LegendCache): LegendEntry[] => {
    const sep = spaced ? ' ' : '';
    const text =
      dialect === 'json'
        ? `{"meta":{"start":"0","step":"5","end":"0","rows":"0","columns":"${legend.length}","legend":[${sep}${legend.map((e) => JSON.stringify(e)).join(`${sep},${sep}`)}${sep}]},"data":[]}`
        : `<xport><meta><start>0</start><step>5</step><end>0</end><rows>0</rows><columns>${legend.length}</columns><legend>${legend.map((e) => `${sep}<entry>${escapeXml(e)}</entry>`).join('')}${sep}</legend></meta><data/></xport>`;
    return [...parseRrdUpdates(Buffer.from(text), { legendCache }).legend];
  };
  const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const expected = (legend: readonly string[]) => legend.map((raw) => parseLegendEntry(raw)!);

  const U1 = '11111111-2222-4333-8444-555555555555';
  const U2 = '66666666-7777-4888-9999-000000000000';
  it.each([
    ['empty', []],
    ['one VM after the host', [`${H}:cpu0`, `${H}:memory_total_kib`, `AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U1}:memory`]],
    ['two VMs with the same data sources, then one with others', [`AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U1}:cpu1`, `AVERAGE:vm:${U2}:cpu0`, `AVERAGE:vm:${U2}:cpu1`, `AVERAGE:vm:${U1}:vif_0_rx`]],
    ['a name that is a prefix of the next', [`AVERAGE:vm:${U1}:memory`, `AVERAGE:vm:${U1}:memory_target`, `AVERAGE:vm:${U2}:memory`, `AVERAGE:vm:${U2}:memory_target`, `AVERAGE:vm:${U2}:memory`]],
    ['other consolidation functions and owner kinds', [`MAX:vm:${U1}:cpu0`, `AVERAGE:vm:${U1}:cpu0`, `MIN:sr:${U2}:x`, 'AVERAGE:pool:p1:x', 'LAST:pool:p1:y', 'CUSTOM:vm:u:z']],
    ['colons in the data-source name', [`${H}:statefile/a:b/latency`, `${H}:statefile/a:c/latency`, `${H}:x:`]],
    ['empty owner and uuid', ['AVERAGE:::x', 'AVERAGE:vm::y']],
    ['a uuid that only differs at its end', [`AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U1.slice(0, -1)}6:cpu0`, `AVERAGE:vm:${U1}:cpu0`]],
    ['quotes, backslashes, entities and non-ASCII', [`${H}:a"b`, `${H}:a\\b`, `${H}:a&b<c`, `${H}:é`, `${H}:cpu0`]],
  ])('%s: canonical and general paths agree with parseLegendEntry', (_name, legend) => {
    for (const dialect of ['json', 'xml'] as const) {
      expect(legendOf(legend, dialect), dialect).toEqual(expected(legend));
      expect(legendOf(legend, dialect, true), `${dialect} with whitespace`).toEqual(expected(legend));
    }
  });

  it.each([
    ['a VM stopped', [`${H}:cpu0`, `AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U1}:memory`, `AVERAGE:vm:${U2}:cpu0`, `AVERAGE:vm:${U2}:memory`], [`${H}:cpu0`, `AVERAGE:vm:${U2}:cpu0`, `AVERAGE:vm:${U2}:memory`]],
    ['a VM started', [`${H}:cpu0`, `AVERAGE:vm:${U2}:cpu0`], [`${H}:cpu0`, `AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U1}:memory`, `AVERAGE:vm:${U2}:cpu0`]],
    ['a longer name where the previous legend had its prefix', [`${H}:memory`, `${H}:cpu0`], [`${H}:memory_target`, `${H}:memory`, `${H}:cpu0`]],
    ['a shorter name and a data source more', [`AVERAGE:vm:${U1}:memory_target`, `AVERAGE:vm:${U1}:cpu0`], [`AVERAGE:vm:${U1}:memory`, `AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U1}:cpu1`]],
    ['the previous legend had escapes and non-ASCII', [`${H}:a"b`, `${H}:é`, `${H}:a\\b`, `${H}:cpu0`], [`${H}:a`, `${H}:cpu0`, `${H}:b`]],
    ['same sources, another order', [`AVERAGE:vm:${U1}:cpu0`, `AVERAGE:vm:${U2}:cpu0`, `${H}:cpu0`], [`${H}:cpu0`, `AVERAGE:vm:${U2}:cpu0`, `AVERAGE:vm:${U1}:cpu0`]],
  ])('a changed legend read with the previous one as a guess (%s) reads as without it', (_name, previous, next) => {
    for (const dialect of ['json', 'xml'] as const) {
      const cache = new LegendCache();
      legendOf(previous, dialect, false, cache);
      expect(legendOf(next, dialect, false, cache), dialect).toEqual(expected(next));
      expect(cache.misses, dialect).toBe(2);
    }
  });

  it('a generated 4,000-column legend reads the same on both paths, in 2 bytes per column per index', () => {
    const g = generateRrdUpdates({ columns: 4000, rows: 1, dialect: 'strings', numberFormat: '%.15g' });
    expect(legendOf(g.legend, 'json')).toEqual(expected(g.legend));
    expect(legendOf(g.legend, 'xml', true)).toEqual(expected(g.legend));
    const compact = parseRrdUpdates(g.body).compactLegend;
    expect(compact.sourceOf.BYTES_PER_ELEMENT + compact.nameOf.BYTES_PER_ELEMENT).toBe(4);
    expect(compact.sources.length).toBeLessThan(200);
    expect(compact.names.length).toBeLessThan(300);
  });

  it.each([
    ['a malformed entry', ['cpu0'], /malformed legend entry 'cpu0'/],
    ['an empty data-source name', [`${H}:`], /malformed legend entry/],
    ['an empty consolidation function', [':host:u:cpu0'], /malformed legend entry/],
  ])('%s is reported the same way on both paths', (_name, legend, message) => {
    for (const dialect of ['json', 'xml'] as const) {
      for (const spaced of [false, true]) expect(() => legendOf(legend, dialect, spaced), `${dialect} ${spaced}`).toThrow(message);
    }
  });
});
