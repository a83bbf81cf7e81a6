// Resource identity across receivers: in OTLP a resource is identified by its whole attribute set, so the same
// host or SR reported by two receivers must carry exactly the same attributes (and key), or backends see two
// entities. Real simulator over HTTPS → real XapiPool → every built-in receiver's scraper, one scrape each.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinReceivers } from '../../plugins/index.ts';
import type { XapiPool } from '../../src/lib/xapi/types.ts';
import type { Attributes, ReceiverFactory } from '../../src/plugin-api/index.ts';
import type { RunningSimulator } from '../../src/simulator/index.ts';
import { receiverSettings, startSimulatedPool } from './support.ts';

let sim: RunningSimulator;
let pool: XapiPool;
/** Resource key → receiver type → attributes. */
const seen = new Map<string, Map<string, Attributes>>();

beforeAll(async () => {
  ({ sim, pool } = await startSimulatedPool(
    { hosts: 3, vmsPerHost: 2, seed: 7, historySeconds: 300 },
    { originator: 'resource-identity-test', requestTimeoutMs: 5_000, maxConcurrentHosts: 3 },
  ));
  await pool.ready(AbortSignal.timeout(10_000));
  for (const factory of builtinReceivers as readonly ReceiverFactory<object>[]) {
    const scraper = factory.createScraper(receiverSettings(`${factory.type}/identity`, pool), factory.configSchema.parse({ pools: ['sim'] }));
    const { batch, errors } = await scraper.scrape(AbortSignal.timeout(10_000));
    expect(errors, factory.type).toEqual([]);
    for (const r of batch.resources) {
      let byReceiver = seen.get(r.key);
      if (!byReceiver) seen.set(r.key, (byReceiver = new Map()));
      byReceiver.set(factory.type, r.resource);
    }
    await scraper.shutdown?.();
  }
});

afterAll(async () => {
  await pool?.close();
  await sim?.stop();
});

/** Keys of `kind` reported by more than one receiver. */
function shared(kind: 'host' | 'sr'): [string, Map<string, Attributes>][] {
  return [...seen].filter(([key, byReceiver]) => key.startsWith(`${kind}:`) && byReceiver.size > 1);
}

describe('resource identity across receivers (one simulated pool)', () => {
  it('every host is one resource: rrd_updates and multipath give identical attribute sets', () => {
    const hosts = shared('host');
    expect(hosts.map(([key]) => key).sort()).toEqual(sim.info.hosts.map((h) => `host:${h.uuid}`).sort());
    for (const [key, byReceiver] of hosts) {
      expect([...byReceiver.keys()].sort(), key).toEqual(['multipath', 'rrd_updates']);
      const [first, ...rest] = [...byReceiver.values()];
      for (const other of rest) expect(other, key).toStrictEqual(first);
      expect(Object.keys(first!).sort()).toEqual(['host.id', 'host.name', 'xen.host.address', 'xen.host.name', 'xen.host.uuid', 'xen.pool.name', 'xen.pool.uuid']);
    }
  });

  it('every SR reported by several receivers has identical attribute sets, rrd_updates included', () => {
    const srs = shared('sr');
    expect(srs.length).toBeGreaterThan(0);
    // The SR I/O columns of the hosts' RRDs land on the same SR resources as the storage receivers'.
    expect(srs.some(([, byReceiver]) => byReceiver.has('rrd_updates'))).toBe(true);
    for (const [key, byReceiver] of srs) {
      const [first, ...rest] = [...byReceiver.values()];
      for (const other of rest) expect(other, key).toStrictEqual(first);
      expect(Object.keys(first!).sort()).toEqual(['xen.pool.name', 'xen.pool.uuid', 'xen.sr.content_type', 'xen.sr.name', 'xen.sr.shared', 'xen.sr.type', 'xen.sr.uuid']);
    }
  });

  it('uses pool-free keys (`<kind>:<uuid>`) and the same key for the same entity everywhere', () => {
    for (const [key, byReceiver] of seen) {
      const [kind, uuid] = key.split(':');
      const attrs = [...byReceiver.values()][0]!;
      expect(attrs[`xen.${kind}.uuid`], key).toBe(uuid);
    }
  });
});
