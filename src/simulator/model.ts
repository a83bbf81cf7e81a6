// The pool database: one generic object store for every class in DATAMODEL_FIELDS, with xapi-style generations
// (every write bumps one counter, like xapi's DB) that drive event.from, and a per-object cache of the encoded
// record so get_all_records on thousands of VMs is a string concatenation.
import { DATAMODEL_FIELDS, type ClassName } from './datamodel.ts';
import { RpcRaw, RpcResponseBytes, SUCCESS_HEAD, SUCCESS_TAIL, encodeValue, escapeXml, formatG16, formatXapiDate, type RpcValue } from './xmlrpc.ts';

export const NULL_REF = 'OpaqueRef:NULL';

export type FieldValue = string | number | boolean | string[] | Record<string, unknown>;

export interface SimObject {
  readonly cls: ClassName;
  readonly ref: string;
  readonly fields: Record<string, FieldValue>;
  /** Generation at which the object was created / last modified. */
  created: number;
  modified: number;
  /** Cached `<value><struct>…</struct></value>` of the full record; undefined when stale. */
  xml: string | undefined;
}

type Encoder = (v: unknown) => string;

function encoderFor(type: string): Encoder {
  if (type === 'int') return (v) => `<value>${String(Math.trunc(Number(v)))}</value>`;
  if (type === 'float') return (v) => `<value><double>${formatG16(Number(v))}</double></value>`;
  if (type === 'bool') return (v) => (v === true ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>');
  if (type === 'datetime') return (v) => `<value><dateTime.iso8601>${formatXapiDate(Number(v))}</dateTime.iso8601></value>`;
  const setM = /^(.*) set$/.exec(type);
  if (setM !== null && !type.startsWith('(')) {
    const inner = encoderFor(setM[1] ?? 'string');
    return (v) => {
      let s = '<value><array><data>';
      for (const e of (v as unknown[]) ?? []) s += inner(e);
      return s + '</data></array></value>';
    };
  }
  const mapM = /^\((.*) -> (.*)\) map$/.exec(type);
  if (mapM !== null) {
    const inner = encoderFor(mapM[2] ?? 'string');
    return (v) => {
      let s = '<value><struct>';
      for (const [k, e] of Object.entries((v as Record<string, unknown>) ?? {})) s += `<member><name>${k}</name>${inner(e)}</member>`;
      return s + '</struct></value>';
    };
  }
  // string, uuid, enum, ref
  return (v) => `<value>${escapeXml(String(v ?? ''))}</value>`;
}

export function defaultFor(type: string): FieldValue {
  if (type === 'int' || type === 'float' || type === 'datetime') return 0;
  if (type === 'bool') return false;
  if (type.startsWith('(')) return {};
  if (type.endsWith(' set')) return [];
  if (type.endsWith(' ref')) return NULL_REF;
  return '';
}

/** defaultFor(type) decided once per field; maps and sets are fresh objects per record. */
function defaultMaker(type: string): () => FieldValue {
  const d = defaultFor(type);
  if (Array.isArray(d)) return () => [];
  if (typeof d === 'object') return () => ({});
  return () => d;
}

export interface ClassSchema {
  name: ClassName;
  fields: ReadonlyArray<{ name: string; type: string; encode: Encoder; prefix: string; makeDefault: () => FieldValue }>;
  byName: ReadonlyMap<string, { name: string; type: string; encode: Encoder }>;
}

export const SCHEMAS: ReadonlyMap<ClassName, ClassSchema> = new Map(
  (Object.keys(DATAMODEL_FIELDS) as ClassName[]).map((name) => {
    const fields = (DATAMODEL_FIELDS[name] as ReadonlyArray<readonly [string, string]>).map(([f, type]) => ({
      name: f,
      type,
      encode: encoderFor(type),
      prefix: `<member><name>${f}</name>`,
      makeDefault: defaultMaker(type),
    }));
    return [name, { name, fields, byName: new Map(fields.map((f) => [f.name, f])) }];
  }),
);

export function schemaOf(cls: ClassName): ClassSchema {
  const s = SCHEMAS.get(cls);
  if (s === undefined) throw new Error(`unknown class ${cls}`);
  return s;
}

export type EventOp = 'add' | 'mod' | 'del';
interface LogEntry {
  gen: number;
  cls: ClassName;
  ref: string;
  op: EventOp;
  created: number;
}

export interface EventBatchItem {
  id: number;
  cls: ClassName;
  ref: string;
  op: EventOp;
  /** Encoded record (absent for del). */
  snapshot: string | undefined;
}

export class PoolDb {
  private readonly _objects = new Map<string, SimObject>();
  private readonly _byClass = new Map<ClassName, Map<string, SimObject>>();
  private readonly _byUuid = new Map<string, SimObject>();
  private _generation = 0;
  private readonly _log: LogEntry[] = [];
  private _logStart = 0; // index of the first live entry in _log (entries before are dropped lazily)
  /** Oldest generation for which the log is complete: tokens older than this get EVENTS_LOST. */
  private _horizon = 0;
  private readonly _maxLog: number;
  private readonly _listeners = new Set<() => void>();
  /** Called once before each change batch (the RRD engine's advance). */
  beforeChange: () => void = () => {};
  private _inChange = 0;

  constructor(maxLog = 20_000) {
    this._maxLog = maxLog;
    for (const c of SCHEMAS.keys()) this._byClass.set(c, new Map());
  }

  get generation(): number {
    return this._generation;
  }

  /** Groups writes; beforeChange runs once and listeners are woken once at the end. */
  change<T>(fn: () => T): T {
    if (this._inChange === 0) this.beforeChange();
    this._inChange++;
    try {
      return fn();
    } finally {
      this._inChange--;
      if (this._inChange === 0) for (const l of [...this._listeners]) l();
    }
  }

  onChange(l: () => void): () => void {
    this._listeners.add(l);
    return () => this._listeners.delete(l);
  }

  get(ref: string): SimObject | undefined {
    return this._objects.get(ref);
  }
  getOf(cls: ClassName, ref: string): SimObject | undefined {
    return this._byClass.get(cls)?.get(ref);
  }
  byUuid(cls: ClassName, uuid: string): SimObject | undefined {
    const o = this._byUuid.get(uuid);
    return o !== undefined && o.cls === cls ? o : undefined;
  }
  all(cls: ClassName): IterableIterator<SimObject> {
    return (this._byClass.get(cls) ?? new Map<string, SimObject>()).values();
  }
  count(cls: ClassName): number {
    return this._byClass.get(cls)?.size ?? 0;
  }

  add(cls: ClassName, ref: string, values: Record<string, FieldValue>): SimObject {
    return this.change(() => {
      const schema = schemaOf(cls);
      const fields: Record<string, FieldValue> = {};
      for (const f of schema.fields) fields[f.name] = values[f.name] ?? f.makeDefault();
      for (const k of Object.keys(values)) if (!schema.byName.has(k)) throw new Error(`${cls} has no field ${k}`);
      const gen = ++this._generation;
      const obj: SimObject = { cls, ref, fields, created: gen, modified: gen, xml: undefined };
      this._objects.set(ref, obj);
      this._byClass.get(cls)?.set(ref, obj);
      if (typeof fields['uuid'] === 'string') this._byUuid.set(fields['uuid'], obj);
      this._append({ gen, cls, ref, op: 'add', created: gen });
      return obj;
    });
  }

  set(ref: string, field: string, value: FieldValue): void {
    this.update(ref, { [field]: value });
  }

  update(ref: string, values: Record<string, FieldValue>): void {
    const obj = this._objects.get(ref);
    if (obj === undefined) throw new Error(`no object ${ref}`);
    this.change(() => {
      const schema = schemaOf(obj.cls);
      for (const [k, v] of Object.entries(values)) {
        if (!schema.byName.has(k)) throw new Error(`${obj.cls} has no field ${k}`);
        obj.fields[k] = v;
      }
      const gen = ++this._generation;
      obj.modified = gen;
      obj.xml = undefined;
      this._append({ gen, cls: obj.cls, ref, op: 'mod', created: obj.created });
    });
  }

  /**
   * `Db_cache_types.touch` (event.inject): the row's `modified` moves to the next generation and a `mod` is
   * logged, then the generation is bumped once more (xapi increments twice so that a token from a later
   * event.from compares strictly greater than the one inject returns). The record itself is unchanged, so its
   * encoded caches stay valid. Returns the generation before the touch.
   */
  touch(ref: string): number {
    const obj = this._objects.get(ref);
    if (obj === undefined) throw new Error(`no object ${ref}`);
    const before = this._generation;
    this.change(() => {
      const gen = ++this._generation;
      obj.modified = gen;
      this._append({ gen, cls: obj.cls, ref, op: 'mod', created: obj.created }, false);
      this._generation++;
    });
    return before;
  }

  remove(ref: string): void {
    const obj = this._objects.get(ref);
    if (obj === undefined) return;
    this.change(() => {
      this._objects.delete(ref);
      this._byClass.get(obj.cls)?.delete(ref);
      const uuid = obj.fields['uuid'];
      if (typeof uuid === 'string' && this._byUuid.get(uuid) === obj) this._byUuid.delete(uuid);
      const gen = ++this._generation;
      this._append({ gen, cls: obj.cls, ref, op: 'del', created: obj.created });
    });
  }

  /** Encoded `<value><struct>…` of the record (cached until the next write). */
  recordXml(obj: SimObject): string {
    if (obj.xml !== undefined) return obj.xml;
    const schema = schemaOf(obj.cls);
    // join() yields a flat string; `+=` would build a deep rope that is slow to flatten when 6,000 are sent.
    const parts: string[] = ['<value><struct>'];
    for (const f of schema.fields) parts.push(f.prefix, f.encode(obj.fields[f.name]), '</member>');
    parts.push('</struct></value>');
    const s = parts.join('');
    obj.xml = s;
    return s;
  }

  fieldXml(obj: SimObject, field: string): string | undefined {
    const f = schemaOf(obj.cls).byName.get(field);
    return f === undefined ? undefined : f.encode(obj.fields[field]);
  }

  record(obj: SimObject): RpcRaw {
    return new RpcRaw(this.recordXml(obj));
  }

  /**
   * The whole `get_all_records` methodResponse of a class as UTF-8 bytes, cached until the class changes: a
   * repeated call costs nothing but the socket write. After a change only the records modified since are encoded
   * again; the others are copied from the previous response (one memcpy instead of re-encoding 47 MB).
   */
  allRecordsResponse(cls: ClassName): RpcResponseBytes {
    const gen = this._classGen.get(cls) ?? 0;
    const prev = this._allCache.get(cls);
    if (prev !== undefined && prev.gen === gen) return prev.response;
    const head = Buffer.from(`${SUCCESS_HEAD}<value><struct>`, 'utf8');
    const tail = Buffer.from(`</struct></value>${SUCCESS_TAIL}`, 'utf8');
    const parts: Buffer[] = [head];
    const spans = new Map<string, { start: number; end: number }>();
    let at = head.length;
    for (const o of this.all(cls)) {
      const old = prev === undefined || o.modified > prev.gen ? undefined : prev.spans.get(o.ref);
      const piece = old !== undefined && prev !== undefined ? prev.response.bytes.subarray(old.start, old.end) : encodeMember(o.ref, this.recordXml(o));
      parts.push(piece);
      spans.set(o.ref, { start: at, end: at + piece.length });
      at += piece.length;
    }
    parts.push(tail);
    const response = new RpcResponseBytes(Buffer.concat(parts, at + tail.length));
    this._allCache.set(cls, { gen, response, spans });
    return response;
  }

  private readonly _allCache = new Map<ClassName, { gen: number; response: RpcResponseBytes; spans: Map<string, { start: number; end: number }> }>();
  /** Last generation that touched each class (invalidates the get_all_records cache). */
  private readonly _classGen = new Map<ClassName, number>();

  private _append(e: LogEntry, recordChanged = true): void {
    if (recordChanged) this._classGen.set(e.cls, e.gen);
    this._log.push(e);
    if (this._log.length - this._logStart > this._maxLog) {
      const dropped = this._log[this._logStart];
      this._logStart++;
      if (dropped !== undefined) this._horizon = dropped.gen;
      if (this._logStart > 4096 && this._logStart * 2 > this._log.length) {
        this._log.splice(0, this._logStart);
        this._logStart = 0;
      }
    }
  }

  /**
   * Changes after generation `since`, coalesced per object like xapi's DB-backed event.from: an object created
   * after `since` is an `add`, one changed is a `mod` with its current snapshot, one deleted a `del`; an object
   * created and deleted in the window is not reported. Returns undefined when the log no longer reaches back.
   */
  changesSince(since: number, classes: ReadonlySet<string> | 'all'): EventBatchItem[] | undefined {
    if (since < this._horizon) return undefined;
    const wanted = (cls: ClassName, ref: string): boolean =>
      classes === 'all' || classes.has(cls.toLowerCase()) || classes.has(`${cls.toLowerCase()}/${ref}`);
    const latest = new Map<string, LogEntry>();
    for (let i = this._log.length - 1; i >= this._logStart; i--) {
      const e = this._log[i];
      if (e === undefined || e.gen <= since) break;
      if (!latest.has(e.ref) && wanted(e.cls, e.ref)) latest.set(e.ref, e);
    }
    const out: EventBatchItem[] = [];
    for (const e of [...latest.values()].sort((a, b) => a.gen - b.gen)) {
      const obj = this._objects.get(e.ref);
      if (obj === undefined) {
        if (e.created > since) continue;
        out.push({ id: e.gen, cls: e.cls, ref: e.ref, op: 'del', snapshot: undefined });
      } else {
        out.push({ id: obj.modified, cls: obj.cls, ref: obj.ref, op: obj.created > since ? 'add' : 'mod', snapshot: this.recordXml(obj) });
      }
    }
    return out;
  }

  /** Every current object as an `add` (token ""). */
  snapshotAll(classes: ReadonlySet<string> | 'all'): EventBatchItem[] {
    const out: EventBatchItem[] = [];
    for (const [cls, objs] of this._byClass) {
      const lc = cls.toLowerCase();
      for (const o of objs.values()) {
        if (classes !== 'all' && !classes.has(lc) && !classes.has(`${lc}/${o.ref}`)) continue;
        out.push({ id: o.modified, cls, ref: o.ref, op: 'add', snapshot: this.recordXml(o) });
      }
    }
    return out.sort((a, b) => a.id - b.id);
  }
}

/** `<member><name>ref</name>record</member>` as UTF-8, written without building the concatenated string. */
function encodeMember(ref: string, recordXml: string): Buffer {
  const size = MEMBER_WRAPPER_BYTES + Buffer.byteLength(ref) + Buffer.byteLength(recordXml);
  const b = Buffer.allocUnsafe(size);
  let at = b.write('<member><name>', 0, 'latin1');
  at += b.write(ref, at);
  at += b.write('</name>', at, 'latin1');
  at += b.write(recordXml, at);
  b.write('</member>', at, 'latin1');
  return b;
}
const MEMBER_WRAPPER_BYTES = '<member><name></name></member>'.length;

/** Encodes an event.from batch (XA `event_types.ml rpc_of_event_from`). */
export function encodeEventBatch(items: EventBatchItem[], counts: Array<[string, number]>, token: string): RpcValue {
  let ev = '<value><array><data>';
  for (const e of items) {
    ev +=
      `<value><struct><member><name>id</name>${encodeValue(String(e.id))}</member>` +
      `<member><name>timestamp</name><value>0.0</value></member>` +
      `<member><name>class</name>${encodeValue(e.cls.toLowerCase())}</member>` +
      `<member><name>operation</name>${encodeValue(e.op)}</member>` +
      `<member><name>ref</name>${encodeValue(e.ref)}</member>` +
      (e.snapshot === undefined ? '' : `<member><name>snapshot</name>${e.snapshot}</member>`) +
      '</struct></value>';
  }
  ev += '</data></array></value>';
  let rc = '<value><struct>';
  for (const [k, n] of counts) rc += `<member><name>${k}</name><value><i4>${n}</i4></value></member>`;
  rc += '</struct></value>';
  return new RpcRaw(
    `<value><struct><member><name>events</name>${ev}</member><member><name>valid_ref_counts</name>${rc}</member><member><name>token</name>${encodeValue(token)}</member></struct></value>`,
  );
}

export function formatToken(gen: number): string {
  return `${String(gen).padStart(20, '0')},${'0'.padStart(20, '0')}`;
}

export function parseToken(token: string): number | undefined {
  if (token === '') return 0;
  const m = /^(\d+),(\d+)$/.exec(token);
  return m === null ? undefined : Number(m[1]);
}
