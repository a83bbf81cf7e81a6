// What the receiver keeps per host between cycles (legend cache + mapper layout), measured on the heap: the
// performance bar (issue #6) is 64 hosts / 6,400 VMs in ≤ 300 MB RSS, and this state was ~80 MB of it.
// A generous bound on a GC'd heap measurement, never a timing.

import { describe, expect, it } from 'vitest';
import { forceGc as gc } from '../../test/helpers/gc.ts';
import { RrdMapper } from './map.ts';
import { LegendCache, parseRrdUpdates } from './parse.ts';
import { host, inventoryOf, pool, vm } from './testdata/context.ts';
import { generateRrdUpdates } from './testdata/generate.ts';

/** Heap plus ArrayBuffers (legend copies, typed arrays) after full GCs. */
function retainedBytes(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

const HOSTS = 64;
const COLUMNS = 4000;

describe('rrd_updates state kept between cycles', () => {
  it(`stays under 15 MB for ${HOSTS} hosts × ${COLUMNS} columns (VMs known to the inventory)`, () => {
    const hosts = Array.from({ length: HOSTS }, (_, i) => host({ uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, ref: `OpaqueRef:host-${i}` }));
    const bodies = hosts.map((h, i) => generateRrdUpdates({ columns: COLUMNS, rows: 1, dialect: 'strings', numberFormat: '%.15g', seed: i + 1, hostUuid: h.uuid }));
    const vms = bodies.flatMap(({ legend }, i) =>
      [...new Set(legend.filter((e) => e.includes(':vm:')).map((e) => e.split(':')[2]!))].map((uuid) => vm({ ref: `OpaqueRef:${uuid}`, uuid, resident_on: hosts[i]!.ref })),
    );
    const p = pool();
    const inventory = inventoryOf({ pool: p, hosts, vms });

    const before = retainedBytes();
    const mapper = new RrdMapper();
    const caches = hosts.map(() => new LegendCache());
    let points = 0;
    // Three cycles with the same legends: the first lays out, the second confirms each legend (its bytes then
    // give way to a digest), the third is the steady state.
    for (let cycle = 0; cycle < 3; cycle++) {
      hosts.forEach((h, i) => {
        points += mapper.map(parseRrdUpdates(bodies[i]!.body, { legendCache: caches[i] }), { pool: p, host: h, inventory }).stats.points;
      });
    }
    const retained = retainedBytes() - before;
    console.info(`rrd_updates state for ${HOSTS} hosts × ${COLUMNS} columns: ${(retained / 2 ** 20).toFixed(1)} MiB`);

    expect(caches.every((c) => c.hits === 2 && c.misses === 1)).toBe(true);
    expect(points).toBeGreaterThan(3 * HOSTS * 3000);
    expect(retained).toBeLessThan(15 * 2 ** 20);
    // Keep the state alive up to the measurement.
    expect(mapper).toBeDefined();
    expect(caches).toHaveLength(HOSTS);
  });
});
