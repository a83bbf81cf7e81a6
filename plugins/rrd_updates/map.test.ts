import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { countPoints, type MetricBatch } from '../../src/plugin-api/index.ts';
import { toGolden } from '../../test/golden/normalize.ts';
import { mapRrdUpdates, RrdMapper, type RrdMapContext } from './map.ts';
import { LegendCache, parseRrdUpdates } from './parse.ts';
import { DD_DOM0_UUID, DD_HOST_UUID, DD_SR_CACHE_UNKNOWN_UUID, DD_SR_IO_UUID, ddContext, host, inventoryOf, pbd, pool, sr, vm } from './testdata/context.ts';

const SAMPLES = new URL('../../test/fixtures/xapi-samples/', import.meta.url);
const parseSample = (name: string) => parseRrdUpdates(readFileSync(new URL(name, SAMPLES)));
const H = `AVERAGE:host:${DD_HOST_UUID}`;

function body(legend: string[], rows: Array<[number, string[]]>): Buffer {
  const l = legend.map((e) => `"${e}"`).join(',');
  const d = rows.map(([t, v]) => `{"t":"${t}","values":[${v.map((x) => `"${x}"`).join(',')}]}`).join(',');
  return Buffer.from(`{"meta":{"start":"0","step":"5","end":"${rows[0]?.[0] ?? 0}","rows":"${rows.length}","columns":"${legend.length}","legend":[${l}]},"data":[${d}]}`);
}

const find = (batch: MetricBatch, key: string, metric: string) =>
  batch.resources.find((r) => r.key === key)?.metrics.find((m) => m.definition.name === metric);

describe('golden: real samples parsed and mapped', () => {
  it.each([
    ['dd_ch82_rrd_updates.xml', 'ch82_xml.json'],
    ['dd_ch82_rrd_updates_legacy.json5', 'ch82_legacy_json5.json'],
    ['synth_rrd_updates_v25.3plus.json', 'v25_3_current.json'],
  ])('%s', async (sampleName, golden) => {
    const { batch, stats } = mapRrdUpdates(parseSample(sampleName), ddContext());
    expect(stats.points).toBe(countPoints(batch));
    await expect(toGolden(batch)).toMatchFileSnapshot(`./testdata/golden/${golden}`);
  });

  it('the XML and the JSON of the same data map to the same output', () => {
    const json = mapRrdUpdates(parseSample('synth_rrd_updates_v25.3plus.json'), ddContext());
    const xml = mapRrdUpdates(parseSample('synth_rrd_updates_v25.3plus.xml'), ddContext());
    expect(toGolden(xml.batch, { keepTimestamps: true })).toBe(toGolden(json.batch, { keepTimestamps: true }));
    expect(xml.stats).toEqual(json.stats);
  });

  it('the legacy %.4f capture and its %.15g re-rendering agree after float32 rounding (except the one NaN)', () => {
    const legacy = parseSample('dd_ch82_rrd_updates_legacy.json5');
    const current = parseSample('synth_rrd_updates_v25.3plus.json');
    let nan = 0;
    legacy.values.forEach((v, i) => {
      if (Number.isNaN(current.values[i])) nan++;
      else expect(Math.fround(current.values[i]!)).toBe(Math.fround(v));
    });
    expect(nan).toBe(1);
  });

  it('routes the CH 8.2 columns to host, dom0 and SR resources and converts units', () => {
    const { batch, stats } = mapRrdUpdates(parseSample('dd_ch82_rrd_updates.xml'), ddContext());
    expect(batch.resources.map((r) => r.key).sort()).toEqual([
      `host:${DD_HOST_UUID}`,
      `sr:70039e15-abfe-85f7-a703-798b05110ee8`,
      `sr:${DD_SR_IO_UUID}`,
      `sr:${DD_SR_CACHE_UNKNOWN_UUID}`,
      `vm:${DD_DOM0_UUID}`,
    ].sort());
    const memory = find(batch, `host:${DD_HOST_UUID}`, 'xen.host.memory.total')!;
    expect(memory.series[0]!.values[0]).toBe(10833308 * 1024);
    expect(memory.series[0]!.timesMs).toEqual([1630575340000, 1630575345000, 1630575350000, 1630575355000]);
    const dom0 = batch.resources.find((r) => r.key === `vm:${DD_DOM0_UUID}`)!;
    expect(dom0.resource).toMatchObject({ 'xen.vm.is_control_domain': true, 'xen.host.uuid': DD_HOST_UUID, 'xen.pool.name': 'dd-ch82-pool' });
    expect(find(batch, `vm:${DD_DOM0_UUID}`, 'xen.vm.memory.allocated')!.series[0]!.values[0]).toBe(1191182336); // already bytes
    const srIo = find(batch, `sr:${DD_SR_IO_UUID}`, 'xen.sr.io')!;
    expect(srIo.series.map((s) => s.attributes)).toEqual([
      { 'disk.io.direction': 'write', 'xen.host.uuid': DD_HOST_UUID },
      { 'disk.io.direction': 'read', 'xen.host.uuid': DD_HOST_UUID },
    ]);
    const unknownSr = batch.resources.find((r) => r.key === `sr:${DD_SR_CACHE_UNKNOWN_UUID}`)!;
    expect(unknownSr.resource['xen.sr.name']).toBe(DD_SR_CACHE_UNKNOWN_UUID);
    expect(stats).toMatchObject({ columns: 45, srColumnsResolved: 12, srColumnsUnknown: 0, unknownSrs: 1, unknownVms: 0, unmappedColumns: 0, rowsTaken: 4 });
    // C-states and the redundant SR totals (iops_total, io_throughput_total) are off by default.
    expect(stats.disabledColumns).toBe(4);
    expect(find(batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.cstate.residency')).toBeUndefined();
  });
});

describe('mapping rules', () => {
  it('takes only rows newer than minTimeExclusive, oldest first, and reports the newest time', () => {
    const parsed = parseRrdUpdates(body([`${H}:cpu0`], [[20, ['0.2']], [15, ['0.15']], [10, ['0.1']]]));
    const { batch, stats } = mapRrdUpdates(parsed, { ...ddContext(), options: { minTimeExclusive: 10 } });
    const s = find(batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.utilization')!.series[0]!;
    expect(Array.from(s.timesMs)).toEqual([15000, 20000]);
    expect(Array.from(s.values)).toEqual([0.15, 0.2]);
    expect(s.attributes).toEqual({ 'cpu.logical_number': 0 });
    expect(stats).toMatchObject({ rowsTaken: 2, newestTime: 20 });
    expect(mapRrdUpdates(parsed, { ...ddContext(), options: { minTimeExclusive: 20 } }).batch.resources).toEqual([]);
  });

  it('NaN and ±Infinity are no point; an all-NaN column yields no series', () => {
    const parsed = parseRrdUpdates(body([`${H}:cpu0`, `${H}:cpu1`], [[15, ['NaN', 'NaN']], [10, ['0.5', 'Infinity']], [5, ['0.25', 'NaN']]]));
    const { batch, stats } = mapRrdUpdates(parsed, ddContext());
    const metric = find(batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.utilization')!;
    expect(metric.series).toHaveLength(1);
    expect(Array.from(metric.series[0]!.timesMs)).toEqual([5000, 10000]);
    expect(stats).toMatchObject({ points: 2, skippedValues: 4 });
  });

  it('an unknown VM is exported with its uuid as name', () => {
    const uuid = '11111111-2222-4333-8444-555555555555';
    const { batch, stats } = mapRrdUpdates(parseRrdUpdates(body([`AVERAGE:vm:${uuid}:cpu_usage`], [[5, ['0.5']]])), ddContext());
    expect(batch.resources[0]).toMatchObject({ key: `vm:${uuid}`, resource: { 'xen.vm.uuid': uuid, 'xen.vm.name': uuid } });
    expect(batch.resources[0]!.resource).not.toHaveProperty('xen.vm.is_control_domain');
    expect(stats.unknownVms).toBe(1);
  });

  it('unknown data sources go to the generic unmapped metric, never dropped', () => {
    const { batch, stats } = mapRrdUpdates(
      parseRrdUpdates(body([`${H}:brand_new_ds`, `AVERAGE:vm:${DD_DOM0_UUID}:weird`, 'AVERAGE:pool:p1:x'], [[5, ['1', '2', '3']]])),
      ddContext(),
    );
    expect(find(batch, `host:${DD_HOST_UUID}`, 'xen.host.rrd.unmapped')!.series.map((s) => s.attributes)).toEqual([
      { 'xen.rrd.data_source': 'brand_new_ds' },
      { 'xen.rrd.data_source': 'AVERAGE:pool:p1:x' },
    ]);
    expect(find(batch, `vm:${DD_DOM0_UUID}`, 'xen.vm.rrd.unmapped')!.series[0]!.attributes).toEqual({ 'xen.rrd.data_source': 'weird' });
    expect(stats.unmappedColumns).toBe(3);
  });

  it('an SR prefix matching no SR, or two SRs on the host, stays on the host with the raw prefix, counted', () => {
    const base = ddContext();
    const h = host({ PBDs: ['OpaqueRef:p1', 'OpaqueRef:p2'] });
    const a = sr({ ref: 'OpaqueRef:a', uuid: 'abcdef12-0000-4000-8000-000000000001' });
    const b = sr({ ref: 'OpaqueRef:b', uuid: 'abcdef12-0000-4000-8000-000000000002' });
    const inventory = inventoryOf({ hosts: [h], srs: [a, b], pbds: [pbd('OpaqueRef:p1', h.ref, a.ref), pbd('OpaqueRef:p2', h.ref, b.ref)] });
    const parsed = parseRrdUpdates(body([`${H}:read_abcdef12`, `${H}:read_99999999`], [[5, ['100', '200']]]));
    const { batch, stats } = mapRrdUpdates(parsed, { pool: base.pool, host: h, inventory });
    expect(find(batch, `host:${DD_HOST_UUID}`, 'xen.sr.io')!.series.map((s) => s.attributes)).toEqual([
      { 'disk.io.direction': 'read', 'xen.sr.uuid_prefix': 'abcdef12' },
      { 'disk.io.direction': 'read', 'xen.sr.uuid_prefix': '99999999' },
    ]);
    expect(stats).toMatchObject({ srColumnsAmbiguous: 1, srColumnsUnknown: 1, srColumnsResolved: 0 });
  });

  it('an SR prefix shared with an SR not attached to this host still resolves to the attached one', () => {
    const h = host({ PBDs: ['OpaqueRef:p1'] });
    const a = sr({ ref: 'OpaqueRef:a', uuid: 'abcdef12-0000-4000-8000-000000000001', name_label: 'attached' });
    const b = sr({ ref: 'OpaqueRef:b', uuid: 'abcdef12-0000-4000-8000-000000000002' });
    const inventory = inventoryOf({ hosts: [h], srs: [a, b], pbds: [pbd('OpaqueRef:p1', h.ref, a.ref)] });
    const { batch } = mapRrdUpdates(parseRrdUpdates(body([`${H}:read_latency_abcdef12`], [[5, ['1500']]])), { pool: pool(), host: h, inventory });
    const latency = find(batch, `sr:${a.uuid}`, 'xen.sr.io.latency')!;
    expect(latency.series[0]!.values[0]).toBeCloseTo(0.0015, 12);
    expect(batch.resources[0]!.resource).toMatchObject({ 'xen.sr.name': 'attached', 'xen.sr.type': 'lvm' });
  });

  it('per-metric enablement turns metrics on and off', () => {
    const parsed = parseSample('dd_ch82_rrd_updates.xml');
    const { batch } = mapRrdUpdates(parsed, {
      ...ddContext(),
      options: { metrics: { 'xen.host.cpu.cstate.residency': { enabled: true }, 'xen.host.cpu.utilization': { enabled: false } } },
    });
    const cstate = find(batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.cstate.residency')!;
    expect(cstate.series.map((s) => s.attributes['xen.cpu.cstate']).sort()).toEqual(['C0', 'C1']);
    expect(find(batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.utilization')).toBeUndefined();
  });

  it('RrdMapper reuses its layout for the same legend and inventory, rebuilds on a new generation', () => {
    const mapper = new RrdMapper();
    const parsed = parseSample('dd_ch82_rrd_updates.xml');
    const context: RrdMapContext = ddContext();
    const first = mapper.map(parsed, context);
    const second = mapper.map(parsed, context);
    expect(second.batch.resources[0]!.resource).toBe(first.batch.resources[0]!.resource); // cached, frozen attributes
    const renamed = ddContext();
    const dom0 = [...renamed.inventory.vms.values()][0]!;
    const inventory = inventoryOf({ pool: renamed.pool, hosts: [renamed.host], vms: [{ ...dom0, name_label: 'renamed' }], srs: [...renamed.inventory.srs.values()], pbds: [...renamed.inventory.pbds.values()], generation: 2 });
    const third = mapper.map(parsed, { ...context, inventory });
    expect(third.batch.resources.find((r) => r.key === `vm:${DD_DOM0_UUID}`)!.resource['xen.vm.name']).toBe('renamed');
  });
});

describe('RrdMapper relayout (legend or context changed)', () => {
  const vmUuid = (n: number) => `00000000-0000-4000-8000-0000000000${String(n).padStart(2, '0')}`;
  const [A, B, C, D, E] = [1, 2, 3, 4, 5].map(vmUuid) as [string, string, string, string, string];
  const HOST_COLUMNS = [
    `${H}:cpu0`,
    `${H}:cpu1`,
    `${H}:memory_total_kib`,
    `${H}:cpu0-C1`,
    `${H}:read_caa66549`,
    `${H}:write_latency_caa66549`,
    `${H}:read_99999999`,
    `${H}:sr_70039e15-abfe-85f7-a703-798b05110ee8_cache_size`,
    `${H}:brand_new_ds`,
  ];
  const VM_SOURCES = ['cpu0', 'cpu1', 'memory', 'memory_internal_free', 'vif_0_rx', 'vbd_xvda_read', 'vbd_xvda_read_latency', 'weird_ds'];
  const vmColumns = (uuid: string, cf = 'AVERAGE') => VM_SOURCES.map((ds) => `${cf}:vm:${uuid}:${ds}`);

  function xmlBody(legend: string[], rows: Array<[number, string[]]>): Buffer {
    const entries = legend.map((e) => `<entry>${e}</entry>`).join('');
    const data = rows.map(([t, v]) => `<row><t>${t}</t>${v.map((x) => `<v>${x}</v>`).join('')}</row>`).join('');
    return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><xport><meta><start>0</start><step>5</step><end>${rows[0]?.[0] ?? 0}</end><rows>${rows.length}</rows><columns>${legend.length}</columns><legend>${entries}</legend></meta><data>${data}</data></xport>`);
  }

  /** Two rows (one for odd steps), NaN here and there, values that depend on the column's text. */
  function rowsFor(legend: string[], step: number): Array<[number, string[]]> {
    const values = (t: number) => legend.map((e, c) => ((c + step + t) % 7 === 0 ? 'NaN' : String((e.length * 31 + c * 7 + t) / 8)));
    const t = 100 + step * 5;
    return step % 2 === 1 ? [[t, values(t)]] : [[t, values(t)], [t - 5, values(t - 5)]];
  }

  function contexts(): RrdMapContext[] {
    const base = ddContext();
    const known = [A, B, D].map((uuid) => vm({ ref: `OpaqueRef:${uuid}`, uuid, name_label: `vm ${uuid.slice(-2)}` }));
    const vms = [...base.inventory.vms.values(), ...known];
    const srs = [...base.inventory.srs.values()];
    const pbds = [...base.inventory.pbds.values()];
    const inventory = inventoryOf({ pool: base.pool, hosts: [base.host], vms, srs, pbds, generation: 1 });
    const renamed = inventoryOf({ pool: base.pool, hosts: [base.host], vms: vms.map((v) => (v.uuid === A ? { ...v, name_label: 'renamed' } : v)), srs, pbds, generation: 2 });
    const first: RrdMapContext = { pool: base.pool, host: base.host, inventory };
    return [first, { ...first, inventory: renamed }, { ...first, inventory: renamed, options: { metrics: { 'xen.host.cpu.cstate.residency': { enabled: true }, 'xen.vm.cpu.utilization': { enabled: false } } } }, { ...first, inventory: renamed, options: { cf: 'MAX' } }];
  }

  // Each step: the legend and which context (0 first, 1 new inventory generation, 2 other enablement, 3 cf MAX).
  const dom0 = vmColumns(DD_DOM0_UUID);
  const steps: Array<[string, string[], number]> = [
    ['first poll', [...HOST_COLUMNS, ...dom0, ...vmColumns(A), ...vmColumns(B)], 0],
    ['same legend', [...HOST_COLUMNS, ...dom0, ...vmColumns(A), ...vmColumns(B)], 0],
    ['a VM stopped', [...HOST_COLUMNS, ...dom0, ...vmColumns(A)], 0],
    ['a VM started', [...HOST_COLUMNS, ...dom0, ...vmColumns(A), ...vmColumns(D)], 0],
    ['same again (legend confirmed)', [...HOST_COLUMNS, ...dom0, ...vmColumns(A), ...vmColumns(D)], 0],
    ['one VM left, an unknown one arrived: same length, other uuid', [...HOST_COLUMNS, ...dom0, ...vmColumns(A), ...vmColumns(C)], 0],
    ['columns reordered', [...vmColumns(C), ...HOST_COLUMNS, ...vmColumns(A), ...dom0], 0],
    ['other consolidation functions beside', [...HOST_COLUMNS, ...vmColumns(A), ...vmColumns(A, 'MAX'), ...vmColumns(E, 'MIN')], 0],
    ['new inventory generation, same legend', [...HOST_COLUMNS, ...vmColumns(A), ...vmColumns(A, 'MAX'), ...vmColumns(E, 'MIN')], 1],
    ['other enablement, same legend', [...HOST_COLUMNS, ...vmColumns(A), ...vmColumns(A, 'MAX'), ...vmColumns(E, 'MIN')], 2],
    ['cf MAX, same legend', [...HOST_COLUMNS, ...vmColumns(A), ...vmColumns(A, 'MAX'), ...vmColumns(E, 'MIN')], 3],
    ['unknown owner kinds and a duplicated column', [...HOST_COLUMNS, 'AVERAGE:pool:p1:x', `${H}:cpu0`, ...vmColumns(A), 'AVERAGE:pool:p1:y', ...vmColumns(A).slice(0, 2)], 1],
    ['back to the first legend', [...HOST_COLUMNS, ...dom0, ...vmColumns(A), ...vmColumns(B)], 0],
  ];

  it.each([
    ['JSON', body],
    ['XML', xmlBody],
  ])('%s: through one legend cache and mapper, every step maps as a fresh parse and mapper do', (_format, render) => {
    const cache = new LegendCache();
    const mapper = new RrdMapper();
    const context = contexts();
    steps.forEach(([name, legend, contextIndex], step) => {
      const bytes = render(legend, rowsFor(legend, step));
      const cached = mapper.map(parseRrdUpdates(bytes, { legendCache: cache }), context[contextIndex]!);
      const fresh = new RrdMapper().map(parseRrdUpdates(bytes), context[contextIndex]!);
      expect(cached, name).toEqual(fresh);
      expect(cached.stats.points, name).toBeGreaterThan(0);
    });
    expect(cache).toMatchObject({ hits: 5, misses: 8 });
  });

  it('a relayout changes what it should: names, enablement, cf, merged duplicate columns', () => {
    const mapper = new RrdMapper();
    const cache = new LegendCache();
    const context = contexts();
    const legend = [...HOST_COLUMNS, ...vmColumns(A), ...vmColumns(A, 'MAX'), `${H}:cpu0`];
    const rows = rowsFor(legend, 0);
    const map = (i: number) => mapper.map(parseRrdUpdates(body(legend, rows), { legendCache: cache }), context[i]!);
    expect(find(map(0).batch, `vm:${A}`, 'xen.vm.cpu.utilization')).toBeDefined();
    expect(map(1).batch.resources.find((r) => r.key === `vm:${A}`)!.resource['xen.vm.name']).toBe('renamed');
    const disabled = map(2);
    expect(find(disabled.batch, `vm:${A}`, 'xen.vm.cpu.utilization')).toBeUndefined();
    expect(find(disabled.batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.cstate.residency')).toBeDefined();
    const max = map(3);
    expect(max.stats.otherCfColumns).toBe(legend.length - VM_SOURCES.length);
    // The duplicated host cpu0 column is one series: both columns' points merged by time (the later column wins).
    const cpu0 = find(map(0).batch, `host:${DD_HOST_UUID}`, 'xen.host.cpu.utilization')!.series.find((s) => s.attributes['cpu.logical_number'] === 0)!;
    const last = legend.length - 1;
    expect(Array.from(cpu0.values)).toEqual([rows[1]![1][last], rows[0]![1][last]].map(Number).filter((v) => !Number.isNaN(v)));
  });
});
