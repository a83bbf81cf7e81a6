// Immutable inventory snapshots. A snapshot is never mutated: an event batch produces a new snapshot that shares
// the untouched maps with the previous one, so a reader holding a snapshot sees one consistent pool state.
import type { XmlRpcValue } from './codec.ts';
import { INVENTORY_CLASSES, internTable, type InventoryKey } from './records.ts';
import type { Inventory, PoolRecord, Ref } from './types.ts';

type Tables = { readonly [K in InventoryKey]: ReadonlyMap<Ref, { readonly ref: Ref; readonly uuid: string }> };

const EMPTY: ReadonlyMap<Ref, never> = new Map<Ref, never>();

class InventorySnapshot implements Inventory {
  readonly generation: number;
  readonly pool: PoolRecord | undefined;
  readonly tables: Tables;
  readonly uuidIndex: ReadonlyMap<string, Ref>;

  constructor(generation: number, tables: Tables, uuids: ReadonlyMap<string, Ref>) {
    this.generation = generation;
    this.tables = tables;
    this.uuidIndex = uuids;
    this.pool = (tables.pool.values().next().value as PoolRecord | undefined) ?? undefined;
    Object.freeze(this);
  }

  get hosts() { return this.tables.hosts as Inventory['hosts']; }
  get hostMetrics() { return this.tables.hostMetrics as Inventory['hostMetrics']; }
  get vms() { return this.tables.vms as Inventory['vms']; }
  get srs() { return this.tables.srs as Inventory['srs']; }
  get pbds() { return this.tables.pbds as Inventory['pbds']; }
  get vbds() { return this.tables.vbds as Inventory['vbds']; }
  get vifs() { return this.tables.vifs as Inventory['vifs']; }
  get pifs() { return this.tables.pifs as Inventory['pifs']; }

  refOfUuid(uuid: string): Ref | undefined {
    return this.uuidIndex.get(uuid);
  }
}

function emptyTables(): Tables {
  const tables: Partial<Record<InventoryKey, ReadonlyMap<Ref, never>>> = {};
  for (const cls of INVENTORY_CLASSES) tables[cls.key] = EMPTY;
  return tables as Tables;
}

export function emptyInventory(): Inventory {
  return new InventorySnapshot(0, emptyTables(), new Map());
}

/** Raw `get_all_records` answers (ref → struct) per inventory key. */
export type RawRecordsByKey = Partial<Record<InventoryKey, XmlRpcValue>>;

export function inventoryFromRecords(generation: number, raw: RawRecordsByKey): Inventory {
  const tables: Partial<Record<InventoryKey, Map<Ref, { ref: Ref; uuid: string }>>> = {};
  const uuids = new Map<string, Ref>();
  // One copy of each ref and short value across every class of this load (the table is dropped with the load).
  const intern = internTable();
  for (const cls of INVENTORY_CLASSES) {
    const table = new Map<Ref, { ref: Ref; uuid: string }>();
    const records = raw[cls.key];
    if (records !== null && typeof records === 'object' && !Array.isArray(records) && !(records instanceof Date) && !Buffer.isBuffer(records)) {
      for (const [ref, record] of Object.entries(records)) {
        const typed = cls.normalise(ref, record, intern);
        table.set(typed.ref, typed);
        if (typed.uuid !== '') uuids.set(typed.uuid, typed.ref);
      }
    }
    tables[cls.key] = table;
  }
  return new InventorySnapshot(generation, tables as Tables, uuids);
}

export interface XapiEvent {
  class: string;
  operation: string;
  ref: Ref;
  snapshot: XmlRpcValue | undefined;
}

const CLASS_BY_EVENT_NAME = new Map<string, (typeof INVENTORY_CLASSES)[number]>(INVENTORY_CLASSES.map((cls) => [cls.event, cls]));

/** Event class names to subscribe to with `event.from`. */
export const EVENT_CLASSES: readonly string[] = INVENTORY_CLASSES.map((cls) => cls.event);

/**
 * Applies one `event.from` batch. Returns the previous snapshot when nothing we follow changed, otherwise a new
 * snapshot with `generation + 1`.
 */
export function applyEvents(previous: Inventory, events: readonly XapiEvent[]): Inventory {
  if (!(previous instanceof InventorySnapshot)) throw new TypeError('not an inventory snapshot');
  const changed = new Map<InventoryKey, Map<Ref, { ref: Ref; uuid: string }>>();
  let uuids: Map<string, Ref> | undefined;
  const tableFor = (key: InventoryKey) => {
    let table = changed.get(key);
    if (table === undefined) {
      table = new Map(previous.tables[key]);
      changed.set(key, table);
    }
    return table;
  };
  const uuidIndex = () => (uuids ??= new Map(previous.uuidIndex));

  for (const event of events) {
    const cls = CLASS_BY_EVENT_NAME.get(event.class.toLowerCase());
    if (cls === undefined) continue;
    const table = tableFor(cls.key);
    const old = table.get(event.ref);
    if (old !== undefined && old.uuid !== '') uuidIndex().delete(old.uuid);
    if (event.operation === 'del') {
      table.delete(event.ref);
      continue;
    }
    if (event.snapshot === undefined || event.snapshot === null || event.snapshot === '') continue; // add/mod without a snapshot: nothing to apply
    const typed = cls.normalise(event.ref, event.snapshot);
    table.set(event.ref, typed);
    if (typed.uuid !== '') uuidIndex().set(typed.uuid, event.ref);
  }
  if (changed.size === 0) return previous;
  const tables = { ...previous.tables } as Record<InventoryKey, ReadonlyMap<Ref, { ref: Ref; uuid: string }>>;
  for (const [key, table] of changed) tables[key] = table;
  return new InventorySnapshot(previous.generation + 1, tables, uuids ?? previous.uuidIndex);
}

/** Decodes the `events` array of an event batch; malformed entries are skipped. */
export function decodeEvents(raw: XmlRpcValue | undefined): XapiEvent[] {
  if (!Array.isArray(raw)) return [];
  const events: XapiEvent[] = [];
  for (const item of raw) {
    if (item === null || typeof item !== 'object' || Array.isArray(item) || item instanceof Date || Buffer.isBuffer(item)) continue;
    const cls = item['class'];
    const operation = item['operation'];
    const ref = item['ref'];
    if (typeof cls !== 'string' || typeof operation !== 'string' || typeof ref !== 'string') continue;
    events.push({ class: cls, operation, ref, snapshot: item['snapshot'] });
  }
  return events;
}
