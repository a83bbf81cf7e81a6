// XML-RPC response bodies exactly as the embedded simulator sends them (xapi's byte format), built in-process from
// the simulator's pool model without starting any server: for the decoder's differential and memory tests and for
// bench/xmlrpc-decode.ts. Test code only (the library itself never imports the simulator).
import type { ClassName } from '../../../simulator/datamodel.ts';
import { PoolDb, encodeEventBatch } from '../../../simulator/model.ts';
import { resolveXapiVersion } from '../../../simulator/options.ts';
import { buildPool, planTopology } from '../../../simulator/topology.ts';
import { successResponse } from '../../../simulator/xmlrpc.ts';

export interface SimulatedPoolBodies {
  readonly db: PoolDb;
  /** `<class>.get_all_records` answer (cached by the model: repeated calls return the same bytes). */
  allRecords(cls: ClassName): Buffer;
  /** `<class>.get_record` answer of every object of the class. */
  records(cls: ClassName): Buffer[];
  /** The answer of `event.from(classes, '', …)`: every object of the classes as an `add` event. */
  eventFromScratch(classes: readonly string[]): Buffer;
}

export function simulatedPoolBodies(options: { hosts: number; vmsPerHost: number; seed?: number }): SimulatedPoolBodies {
  const seed = options.seed ?? 7;
  const db = new PoolDb();
  const plan = planTopology({ hosts: options.hosts, vmsPerHost: options.vmsPerHost, seed });
  buildPool(db, plan, { seed, addressPrefix: '127.0.0', xapiVersion: resolveXapiVersion('current'), minMaxRras: false, nowMs: Date.UTC(2026, 0, 1) });
  return {
    db,
    allRecords: (cls) => db.allRecordsResponse(cls).bytes,
    records: (cls) => [...db.all(cls)].map((obj) => Buffer.from(successResponse(db.record(obj)), 'utf8')),
    eventFromScratch: (classes) => {
      const items = db.snapshotAll(new Set(classes.map((c) => c.toLowerCase())));
      const counts = new Map<string, number>();
      for (const item of items) counts.set(item.cls.toLowerCase(), (counts.get(item.cls.toLowerCase()) ?? 0) + 1);
      return Buffer.from(successResponse(encodeEventBatch(items, [...counts], '00000000000000000042,00000000000000000000')), 'utf8');
    },
  };
}
