// The legend of an `/rrd_updates` response (`<CF>:<owner>:<uuid>:<ds name>` per column) in compact form, and the
// per-host cache that recognises an unchanged legend.
//
// Why compact: the receiver keeps one legend per host between cycles, ~4,000 columns on a 100-VM host. As one
// object and four strings per column that was ~43 MB for 64 hosts. Here a column is two small integers: its
// source (`cf:owner:uuid`, shared by the ~40 columns of one VM) and its data-source name (shared by every VM
// with the same devices). The per-column objects are only built on demand (tests, tools).
//
// Why a digest: recognising the unchanged legend is the steady state of every host every cycle. Comparing with
// a copy of the previous legend bytes is the fastest way (memcmp) but keeps ~270 KB per host (~17 MB for 64
// hosts); a SHA-256 of those bytes keeps 44 characters and costs ~0.15 ms per host. A collision-resistant digest
// makes "same digest" mean "same bytes" for every practical purpose, so the mapping still depends only on the
// response (the cache stays memoisation). The copy is kept only from a legend change to the next response.

import { hash } from 'node:crypto';

export type RrdOwnerKind = 'host' | 'vm' | 'sr';

/** `<CF>:<owner>:<uuid>:<ds name>`, split on the first three `:` only (ds names may contain more). */
export interface LegendEntry {
  readonly raw: string;
  /** Consolidation function as sent: `AVERAGE`, `MIN`, `MAX`, `LAST`. */
  readonly cf: string;
  /** `other` for an owner kind this agent does not know (exported as unmapped, never dropped). */
  readonly owner: RrdOwnerKind | 'other';
  /** The owner kind exactly as sent. */
  readonly ownerRaw: string;
  readonly uuid: string;
  readonly ds: string;
}

/** The `<CF>:<owner>:<uuid>` part of legend entries: one per VM (per host, per SR) and consolidation function. */
export interface LegendSource {
  readonly cf: string;
  readonly owner: RrdOwnerKind | 'other';
  readonly ownerRaw: string;
  readonly uuid: string;
}

/** Column → index tables: 2 bytes per column while the table is small enough (always, for xapi's legends). */
export type IndexArray = Uint16Array | Uint32Array;

/** Parses one legend string. Returns undefined when it has fewer than four `:`-separated parts. */
export function parseLegendEntry(raw: string): LegendEntry | undefined {
  const builder = new CompactLegendBuilder();
  return builder.addEntry(raw) ? builder.build().entry(0) : undefined;
}

/** A parsed legend: per column a source and a data-source name, by index. Immutable. */
export class CompactLegend {
  readonly length: number;
  /** Distinct sources, in first-seen order. */
  readonly sources: readonly LegendSource[];
  /** Distinct data-source names, in first-seen order. */
  readonly names: readonly string[];
  /** Per column: index into `sources`. */
  readonly sourceOf: IndexArray;
  /** Per column: index into `names`. */
  readonly nameOf: IndexArray;

  constructor(sources: readonly LegendSource[], names: readonly string[], sourceOf: IndexArray, nameOf: IndexArray) {
    this.length = sourceOf.length;
    this.sources = sources;
    this.names = names;
    this.sourceOf = sourceOf;
    this.nameOf = nameOf;
    Object.freeze(this);
  }

  source(column: number): LegendSource {
    return this.sources[this.sourceOf[column]!]!;
  }

  name(column: number): string {
    return this.names[this.nameOf[column]!]!;
  }

  /** The entry exactly as sent (the three `:` it was split on put back). */
  raw(column: number): string {
    const source = this.source(column);
    return `${source.cf}:${source.ownerRaw}:${source.uuid}:${this.name(column)}`;
  }

  entry(column: number): LegendEntry {
    const { cf, owner, ownerRaw, uuid } = this.source(column);
    return { raw: this.raw(column), cf, owner, ownerRaw, uuid, ds: this.name(column) };
  }

  /** One object per column (tests, tools): what the receiver avoids keeping. */
  entries(): LegendEntry[] {
    const out: LegendEntry[] = new Array<LegendEntry>(this.length);
    for (let c = 0; c < this.length; c++) out[c] = this.entry(c);
    return out;
  }
}

export const EMPTY_LEGEND = new CompactLegend([], [], new Uint16Array(0), new Uint16Array(0));

const COMMON_CF: ReadonlyMap<string, string> = new Map(['AVERAGE', 'MIN', 'MAX', 'LAST'].map((cf) => [cf, cf]));
const KNOWN_OWNERS: ReadonlyMap<string, RrdOwnerKind> = new Map([
  ['host', 'host'],
  ['vm', 'vm'],
  ['sr', 'sr'],
]);

const COLON = 58;

/** How a legend is written: JSON strings or XML `<entry>` elements, as xapi writes them (no whitespace). */
export interface LegendSyntax {
  readonly open: Uint8Array;
  /** After each entry; its first byte ends the entry's text. */
  readonly close: Uint8Array;
  readonly separator: Uint8Array;
  /** After the last entry. */
  readonly end: Uint8Array;
  /** Starts an escape or entity: the entry needs decoding, left to the parser's general path. */
  readonly escape: number;
}

const latin1 = (text: string): Uint8Array => Buffer.from(text, 'latin1');
export const JSON_LEGEND_SYNTAX: LegendSyntax = { open: latin1('"'), close: latin1('"'), separator: latin1(','), end: latin1(']'), escape: 0x5c };
export const XML_LEGEND_SYNTAX: LegendSyntax = { open: latin1('<entry>'), close: latin1('</entry>'), separator: latin1(''), end: latin1('</legend>'), escape: 0x26 };

/**
 * Builds a CompactLegend entry by entry, from decoded entry strings (`addEntry`) or straight from the bytes of a
 * legend written as xapi writes it (`readCanonical`). A builder takes one of the two.
 */
export class CompactLegendBuilder {
  /** `cf:owner:uuid:` → source index. */
  private readonly _sourceIndex = new Map<string, number>();
  private readonly _nameIndex = new Map<string, number>();
  private readonly _sources: LegendSource[] = [];
  private readonly _names: string[] = [];
  private _sourceOf: Uint32Array;
  private _nameOf: Uint32Array;
  private _length = 0;
  private _lastSource = -1;
  private _lastPrefix = '';

  /** `expectedColumns`: room to reserve (meta.columns, when the legend comes after it as xapi writes it). */
  constructor(expectedColumns = 256) {
    this._sourceOf = new Uint32Array(Math.max(1, expectedColumns));
    this._nameOf = new Uint32Array(Math.max(1, expectedColumns));
  }

  /** Adds one decoded entry; false when it has fewer than four `:`-separated parts (nothing added). */
  addEntry(raw: string): boolean {
    let source = this._lastSource;
    let dsFrom = this._lastPrefix.length;
    if (source < 0 || raw.length <= dsFrom || !raw.startsWith(this._lastPrefix)) {
      const a = raw.indexOf(':');
      if (a <= 0) return false;
      const b = raw.indexOf(':', a + 1);
      if (b < 0) return false;
      const c = raw.indexOf(':', b + 1);
      if (c < 0 || c === raw.length - 1) return false;
      dsFrom = c + 1;
      const prefix = raw.slice(0, dsFrom);
      source = this._sourceIndex.get(prefix) ?? this._addSource(prefix, a, b);
      this._lastSource = source;
      this._lastPrefix = prefix;
    }
    const ds = raw.slice(dsFrom);
    this._push(source, this._nameIndex.get(ds) ?? this._addName(ds));
    return true;
  }

  /**
   * Reads the entries of a legend written exactly in `syntax` from `bytes[start…]`, up to and not including
   * `syntax.end`; returns the position of `syntax.end`, or -1 when the legend is not written that way (an
   * escape or entity, non-ASCII, whitespace, a malformed entry: the parser's general path reads those).
   *
   * Why bytes: this is the relayout after a VM started or stopped, ~270 KB and ~4,000 entries per host. Entries
   * are recognised by comparing bytes with an earlier occurrence in the same body: the next entry of one VM
   * starts with the same `cf:owner:uuid:`, and after a data-source name usually comes the same name as after
   * its last occurrence (every VM lists its data sources in the same order). Only a new source or a
   * mispredicted name is decoded to a string and looked up, unless `previous` (the host's last legend, mostly
   * the same) predicts it: then it is compared with the previous legend's strings and shares them.
   */
  readCanonical(bytes: Buffer, start: number, syntax: LegendSyntax, previous?: CompactLegend): number {
    if (this._length > 0) throw new Error('CompactLegendBuilder.readCanonical: the builder already has entries');
    const { open, close, separator, end, escape } = syntax;
    const stop = close[0]!;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Per source and name: where its bytes first occurred in `bytes`, and their length.
    const prefixAt: number[] = [];
    const prefixLength: number[] = [];
    const nameAt: number[] = [];
    const nameLength: number[] = [];
    /** Per name: the name that followed it last time (-1: none yet). */
    const successor: number[] = [];
    let source = -1;
    let sourceAt = 0;
    let sourceLength = 0;
    let name = -1;
    const open0 = open[0]!;
    const end0 = end[0]!;
    const separator0 = separator.length > 0 ? separator[0]! : -1;
    const guide = previous && previous.length > 0 ? new LegendGuide(previous, stop, escape) : undefined;
    let sourceOf = this._sourceOf;
    let nameOf = this._nameOf;
    let length = this._length;
    let p = start;
    if (matchesAt(bytes, p, end)) return p;
    for (;;) {
      if (bytes[p] !== open0 || (open.length > 1 && !matchesAt(bytes, p, open))) return -1;
      p += open.length;
      let dsFrom: number;
      let textEnd = -1;
      const guessed = guide?.expectedPrefix();
      if (source >= 0 && equalBytes(view, sourceAt, p, sourceLength)) {
        dsFrom = p + sourceLength;
      } else if (guessed !== undefined && textAt(bytes, p, guessed)) {
        dsFrom = p + guessed.length;
        const known = this._sourceIndex.get(guessed);
        if (known === undefined) {
          source = this._addSourceLike(guide!.expectedSource(), guessed);
          prefixAt.push(p);
          prefixLength.push(guessed.length);
        } else {
          source = known;
        }
        sourceAt = prefixAt[source]!;
        sourceLength = prefixLength[source]!;
      } else {
        textEnd = entryTextEnd(bytes, p, stop, escape);
        if (textEnd < 0) return -1;
        const a = indexOfByte(bytes, COLON, p, textEnd);
        if (a <= p) return -1;
        const b = indexOfByte(bytes, COLON, a + 1, textEnd);
        if (b < 0) return -1;
        const c = indexOfByte(bytes, COLON, b + 1, textEnd);
        if (c < 0 || c === textEnd - 1) return -1;
        dsFrom = c + 1;
        const prefix = bytes.toString('latin1', p, dsFrom);
        const known = this._sourceIndex.get(prefix);
        if (known === undefined) {
          source = this._addSource(prefix, a - p, b - p);
          prefixAt.push(p);
          prefixLength.push(dsFrom - p);
        } else {
          source = known;
        }
        sourceAt = prefixAt[source]!;
        sourceLength = prefixLength[source]!;
        guide?.followSource(prefix);
      }
      let next = name >= 0 ? successor[name]! : -1;
      if (next >= 0) {
        const length = nameLength[next]!;
        if (bytes[dsFrom + length] !== stop || !equalBytes(view, nameAt[next]!, dsFrom, length)) next = -1;
      }
      const guessedName = next < 0 ? guide?.expectedName() : undefined;
      if (guessedName !== undefined && bytes[dsFrom + guessedName.length] === stop && textAt(bytes, dsFrom, guessedName)) {
        next = this._nameIndex.get(guessedName) ?? -1;
        if (next < 0) {
          next = this._addName(guessedName);
          nameAt.push(dsFrom);
          nameLength.push(guessedName.length);
          successor.push(-1);
        }
        if (name >= 0) successor[name] = next;
      }
      if (next < 0) {
        if (textEnd < 0) textEnd = entryTextEnd(bytes, dsFrom, stop, escape);
        if (textEnd <= dsFrom) return -1;
        const ds = bytes.toString('latin1', dsFrom, textEnd);
        next = this._nameIndex.get(ds) ?? -1;
        if (next < 0) {
          next = this._addName(ds);
          nameAt.push(dsFrom);
          nameLength.push(textEnd - dsFrom);
          successor.push(-1);
        }
        if (name >= 0) successor[name] = next;
      }
      name = next;
      p = dsFrom + nameLength[name]!;
      if (bytes[p] !== stop || (close.length > 1 && !matchesAt(bytes, p, close))) return -1;
      p += close.length;
      if (length === sourceOf.length) {
        this._length = length;
        this._grow();
        sourceOf = this._sourceOf;
        nameOf = this._nameOf;
      }
      sourceOf[length] = source;
      nameOf[length] = name;
      this._length = ++length;
      guide?.advance();
      if (bytes[p] === end0 && (end.length === 1 || matchesAt(bytes, p, end))) return p;
      if (separator0 >= 0) {
        if (bytes[p] !== separator0 || (separator.length > 1 && !matchesAt(bytes, p, separator))) return -1;
        p += separator.length;
      }
    }
  }

  build(): CompactLegend {
    return new CompactLegend(this._sources.slice(), this._names.slice(), exactIndexArray(this._sourceOf, this._length, this._sources.length), exactIndexArray(this._nameOf, this._length, this._names.length));
  }

  /** A source of the previous legend, with its `cf:owner:uuid:` prefix. */
  private _addSourceLike(source: LegendSource, prefix: string): number {
    const index = this._sources.length;
    this._sources.push(source);
    this._sourceIndex.set(prefix, index);
    return index;
  }

  /** A new source from its `cf:owner:uuid:` prefix, with the positions of its first two `:`. */
  private _addSource(prefix: string, a: number, b: number): number {
    const ownerText = prefix.slice(a + 1, b);
    const owner = KNOWN_OWNERS.get(ownerText) ?? 'other';
    const cf = prefix.slice(0, a);
    const index = this._sources.length;
    this._sources.push(Object.freeze({ cf: COMMON_CF.get(cf) ?? cf, owner, ownerRaw: owner === 'other' ? ownerText : owner, uuid: prefix.slice(b + 1, -1) }));
    this._sourceIndex.set(prefix, index);
    return index;
  }

  private _addName(name: string): number {
    const index = this._names.length;
    this._names.push(name);
    this._nameIndex.set(name, index);
    return index;
  }

  private _push(source: number, name: number): void {
    if (this._length === this._sourceOf.length) this._grow();
    this._sourceOf[this._length] = source;
    this._nameOf[this._length] = name;
    this._length++;
  }

  private _grow(): void {
    const sourceOf = new Uint32Array(this._length * 2);
    sourceOf.set(this._sourceOf);
    this._sourceOf = sourceOf;
    const nameOf = new Uint32Array(this._length * 2);
    nameOf.set(this._nameOf);
    this._nameOf = nameOf;
  }
}

/**
 * The host's previous legend as a guess of the entries of a changed one: after a VM started or stopped the
 * other runs (consecutive entries of one source) are the same as before, in the same order. It follows the
 * previous legend column by column; at an entry of another source it continues from that source's run in the
 * previous legend (or guesses nothing until the next source, for a source the previous legend did not have).
 * Only strings that a canonical legend could contain are guessed (so a guess never accepts an escape).
 */
class LegendGuide {
  private readonly _legend: CompactLegend;
  private readonly _stop: number;
  private readonly _escape: number;
  /** Per source of the previous legend: `cf:owner:uuid:`, or null when not canonical (built when first guessed). */
  private readonly _prefixes: Array<string | null | undefined>;
  private readonly _nameUsable: Int8Array;
  private _sourceByPrefix: Map<string, number> | undefined;
  private _runStart: Int32Array | undefined;
  /** The previous legend's column guessed next (-1: no guess). */
  private _column = 0;

  constructor(legend: CompactLegend, stop: number, escape: number) {
    this._legend = legend;
    this._stop = stop;
    this._escape = escape;
    this._prefixes = new Array<string | null | undefined>(legend.sources.length);
    this._nameUsable = new Int8Array(legend.names.length);
  }

  /** The guessed entry's source (valid right after `expectedPrefix` returned a prefix). */
  expectedSource(): LegendSource {
    return this._legend.source(this._column);
  }

  expectedPrefix(): string | undefined {
    if (this._column < 0 || this._column >= this._legend.length) return undefined;
    return this._prefix(this._legend.sourceOf[this._column]!) ?? undefined;
  }

  expectedName(): string | undefined {
    if (this._column < 0 || this._column >= this._legend.length) return undefined;
    const name = this._legend.nameOf[this._column]!;
    if (this._nameUsable[name] === 0) this._nameUsable[name] = this._canonical(this._legend.names[name]!) ? 1 : -1;
    return this._nameUsable[name] === 1 ? this._legend.names[name] : undefined;
  }

  /** The entry just read has a source that was not guessed: continue from its run in the previous legend. */
  followSource(prefix: string): void {
    if (!this._sourceByPrefix) {
      const sources = this._legend.sources;
      this._sourceByPrefix = new Map();
      for (let s = 0; s < sources.length; s++) this._sourceByPrefix.set(prefixOf(sources[s]!), s);
      this._runStart = new Int32Array(sources.length).fill(-1);
      for (let c = this._legend.length - 1; c >= 0; c--) this._runStart[this._legend.sourceOf[c]!] = c;
    }
    const s = this._sourceByPrefix.get(prefix);
    this._column = s === undefined ? -1 : this._runStart![s]!;
  }

  /** One entry read. */
  advance(): void {
    if (this._column >= 0) this._column++;
  }

  private _prefix(s: number): string | null {
    let prefix = this._prefixes[s];
    if (prefix === undefined) {
      const text = prefixOf(this._legend.sources[s]!);
      this._prefixes[s] = prefix = this._canonical(text) ? text : null;
    }
    return prefix;
  }

  private _canonical(text: string): boolean {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80 || c === this._stop || c === this._escape) return false;
    }
    return true;
  }
}

const prefixOf = (source: LegendSource): string => `${source.cf}:${source.ownerRaw}:${source.uuid}:`;

/** `bytes[at…]` starts with the bytes of `text` (ASCII). */
function textAt(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

function matchesAt(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  const n = expected.length;
  if (n === 0) return true;
  if (bytes[at] !== expected[0] || at + n > bytes.length) return false;
  for (let i = 1; i < n; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/** `bytes[a, a + n)` equals `bytes[b, b + n)`: eight bytes per step (two 32-bit reads each side), then the rest. */
function equalBytes(view: DataView, a: number, b: number, n: number): boolean {
  if (b + n > view.byteLength) return false;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    if (view.getInt32(a + i, true) !== view.getInt32(b + i, true) || view.getInt32(a + i + 4, true) !== view.getInt32(b + i + 4, true)) return false;
  }
  for (; i < n; i++) if (view.getUint8(a + i) !== view.getUint8(b + i)) return false;
  return true;
}

/** Position of the first `stop` from `from`; -1 at an `escape` byte, a non-ASCII byte or the end of the bytes. */
function entryTextEnd(bytes: Uint8Array, from: number, stop: number, escape: number): number {
  for (let p = from; p < bytes.length; p++) {
    const c = bytes[p]!;
    if (c === stop) return p;
    if (c === escape || c >= 0x80) return -1;
  }
  return -1;
}

function indexOfByte(bytes: Uint8Array, value: number, from: number, to: number): number {
  for (let p = from; p < to; p++) if (bytes[p] === value) return p;
  return -1;
}

/** The first `length` values as an exact-size array of the narrowest type that holds indexes below `bound`. */
export function exactIndexArray(values: Int32Array | Uint32Array, length: number, bound: number): IndexArray {
  const out = bound <= 0x10000 ? new Uint16Array(length) : new Uint32Array(length);
  out.set(values.subarray(0, length));
  return out;
}

/**
 * The legend of the last response of one host (see ParseOptions.legendCache), recognised by its bytes between
 * the legend's opening and closing delimiters. Right after a change the cache holds a copy of those bytes; once
 * the next response confirms them (the usual case) it keeps their SHA-256 instead, so a steady host costs 44
 * characters, and a legend change costs no digest (its relayout is the expensive cycle already).
 */
export class LegendCache {
  hits = 0;
  misses = 0;
  private _legend: CompactLegend | undefined;
  private _byteLength = 0;
  /** The bytes of a legend stored by the last response, until the next one confirms or replaces it. */
  private _bytes: Buffer | undefined;
  /** SHA-256 of the cached legend's bytes, once confirmed. */
  private _digest = '';

  get legend(): CompactLegend | undefined {
    return this._legend;
  }

  /** Byte length of the cached legend's content (undefined when nothing is cached). */
  get byteLength(): number | undefined {
    return this._legend ? this._byteLength : undefined;
  }

  /** True when `content` is the cached legend's bytes. */
  matches(content: Uint8Array): boolean {
    if (!this._legend || content.length !== this._byteLength) return false;
    if (this._bytes) {
      if (!this._bytes.equals(content)) return false;
      this._digest = legendDigest(content);
      this._bytes = undefined;
      return true;
    }
    return legendDigest(content) === this._digest;
  }

  store(content: Uint8Array, legend: CompactLegend): CompactLegend {
    this._legend = legend;
    this._byteLength = content.length;
    this._bytes = Buffer.from(content);
    this._digest = '';
    return legend;
  }
}

function legendDigest(content: Uint8Array): string {
  return hash('sha256', content, 'base64');
}
