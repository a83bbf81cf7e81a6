// Parser for xcp-rrdd's `/rrd_updates` bodies (notes/xapi.md §1.6): XML and the three JSON dialects, with the
// three number formats (`%0.4f`, `%0.5g`, `%0.15g`), recognised from the bytes, never from headers.
//
// Why a hand-written byte scanner: a large pool sends ~4,000 columns per host every few seconds. Going through
// `JSON.parse`/an XML DOM allocates one string per value and cannot read the legacy JSON5-ish dialect anyway.
// This scanner reads numbers straight from the bytes (Clinger's fast path, falling back to `Number()` only for
// values with more than 15 significant digits or huge exponents) and writes them into one Float64Array.
// The legend is read into a CompactLegend (legend.ts); an unchanged legend is recognised without reading it.

import { AgentError } from '../../src/plugin-api/index.ts';
import { CompactLegend, CompactLegendBuilder, EMPTY_LEGEND, JSON_LEGEND_SYNTAX, LegendCache, XML_LEGEND_SYNTAX, type LegendEntry, type LegendSyntax } from './legend.ts';

export { CompactLegend, LegendCache, parseLegendEntry, type LegendEntry, type LegendSource, type RrdOwnerKind } from './legend.ts';

/** `legacy`: unquoted keys, bare numbers; `nested`: `data` inside `meta`; `strings`: current, numbers as strings. */
export type RrdDialect = 'xml' | 'legacy' | 'nested' | 'strings';

export interface ParsedRrdUpdates {
  readonly dialect: RrdDialect;
  /** `meta` as sent, unix seconds. `start` is not necessarily the oldest row (notes §8.2). */
  readonly start: number;
  readonly step: number;
  readonly end: number;
  readonly rows: number;
  readonly columns: number;
  /** The legend, one source and data-source name per column: what the receiver reads. */
  readonly compactLegend: CompactLegend;
  /** The legend as one object per column, built on first read (tests, tools); the receiver never reads it. */
  readonly legend: readonly LegendEntry[];
  /** Row timestamps in unix seconds, in the order sent: newest first. */
  readonly timestamps: Float64Array;
  /** Row-major: value of row r, column c is `values[r * columns + c]`. NaN = no sample; ±Infinity kept. */
  readonly values: Float64Array;
}

export const RRD_ERR_PARSE = 'RRD_ERR_PARSE';

export interface ParseOptions {
  /**
   * Reuses the parsed legend when its bytes equal the previous response's (the steady state: one cache per
   * scraped host). Then `compactLegend` is the same object as last time and no legend string is allocated.
   */
  readonly legendCache?: LegendCache;
}

/** Parses one `/rrd_updates` response body. Throws `AgentError(RRD_ERR_PARSE)` with position and context. */
export function parseRrdUpdates(body: Uint8Array, options?: ParseOptions): ParsedRrdUpdates {
  const scanner = new Scanner(body, options?.legendCache);
  scanner.skipBomAndSpace();
  const first = scanner.peek();
  if (first === LBRACE) return scanner.parseJson();
  if (first === LT) return scanner.parseXml();
  if (first === -1) throw scanner.fail('empty body');
  throw scanner.fail('body is neither XML nor JSON');
}

// ---------------------------------------------------------------------------------------------------------

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const D0 = 48;
const D9 = 57;
const COLON = 58;
const LT = 60;
const GT = 62;
const QMARK = 63;
const LBRACKET = 91;
const BACKSLASH = 92;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const AMP = 38;

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

// Key ids: JSON keys and XML element names are matched against these without allocating.
const K_OTHER = 0;
const K_META = 1;
const K_DATA = 2;
const K_START = 3;
const K_STEP = 4;
const K_END = 5;
const K_ROWS = 6;
const K_COLUMNS = 7;
const K_LEGEND = 8;
const K_T = 9;
const K_VALUES = 10;
const K_XPORT = 11;
const K_ENTRY = 12;
const K_ROW = 13;
const K_V = 14;
const KEY_NAMES: ReadonlyArray<readonly [number, string]> = [
  [K_META, 'meta'],
  [K_DATA, 'data'],
  [K_START, 'start'],
  [K_STEP, 'step'],
  [K_END, 'end'],
  [K_ROWS, 'rows'],
  [K_COLUMNS, 'columns'],
  [K_LEGEND, 'legend'],
  [K_T, 't'],
  [K_VALUES, 'values'],
  [K_XPORT, 'xport'],
  [K_ENTRY, 'entry'],
  [K_ROW, 'row'],
  [K_V, 'v'],
];
const JSON_LEGEND_END = Buffer.from(']', 'latin1');
const XML_LEGEND_END = Buffer.from('</legend>', 'latin1');
const KEY_BYTES = KEY_NAMES.map(([id, name]) => [id, Buffer.from(name, 'latin1')] as const);

interface MetaAcc {
  start: number;
  step: number;
  end: number;
  rows: number;
  columns: number;
  legend: CompactLegend | undefined;
}

/** `data` read before the end of the document, and the `meta` it was read with. */
interface EarlyData {
  readonly at: number;
  readonly rows: number;
  readonly columns: number;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
}

interface MetaHeader {
  readonly start: number;
  readonly step: number;
  readonly end: number;
  readonly rows: number;
  readonly columns: number;
  readonly legend: CompactLegend;
}

function parsedRrdUpdates(dialect: RrdDialect, header: MetaHeader, timestamps: Float64Array, values: Float64Array): ParsedRrdUpdates {
  const { start, step, end, rows, columns, legend: compactLegend } = header;
  let entries: readonly LegendEntry[] | undefined;
  return {
    dialect,
    start,
    step,
    end,
    rows,
    columns,
    compactLegend,
    get legend(): readonly LegendEntry[] {
      return (entries ??= Object.freeze(compactLegend.entries()));
    },
    timestamps,
    values,
  };
}

class Scanner {
  private readonly _buf: Uint8Array;
  /** The same bytes as a Buffer, for the few string decodes (legend entries, error context). */
  private readonly _view: Buffer;
  private readonly _len: number;
  private _pos = 0;
  private _unquotedKey = false;

  private readonly _legendCache: LegendCache | undefined;

  constructor(body: Uint8Array, legendCache: LegendCache | undefined) {
    this._legendCache = legendCache;
    this._buf = body;
    this._view = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    this._len = body.length;
  }

  peek(): number {
    return this._pos < this._len ? this._buf[this._pos]! : -1;
  }

  fail(reason: string, at: number = this._pos): AgentError {
    const from = Math.max(0, at - 24);
    const to = Math.min(this._len, at + 24);
    let context = '';
    for (let i = from; i < to; i++) {
      const ch = this._buf[i]!;
      context += ch >= 32 && ch < 127 ? String.fromCharCode(ch) : '.';
    }
    const looksHtml = /<\s*(!doctype|html|head|body)/i.test(this._view.toString('latin1', 0, Math.min(this._len, 512)));
    return new AgentError(RRD_ERR_PARSE, `rrd_updates body: ${reason} at byte ${at}`, {
      details: { position: at, context, length: this._len, ...(looksHtml ? { html: true } : {}) },
    });
  }

  skipBomAndSpace(): void {
    const b = this._buf;
    if (this._len >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) this._pos = 3;
    this._ws();
  }

  private _ws(): void {
    const b = this._buf;
    let p = this._pos;
    while (p < this._len) {
      const c = b[p]!;
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) break;
      p++;
    }
    this._pos = p;
  }

  private _expect(ch: number, what: string): void {
    this._ws();
    if (this._pos >= this._len) throw this.fail(`unexpected end of input, expected ${what}`);
    if (this._buf[this._pos] !== ch) throw this.fail(`expected ${what}`);
    this._pos++;
  }

  private _keyId(from: number, to: number): number {
    const n = to - from;
    const b = this._buf;
    for (const [id, bytes] of KEY_BYTES) {
      if (bytes.length !== n) continue;
      let ok = true;
      for (let i = 0; i < n; i++) {
        if (b[from + i] !== bytes[i]) {
          ok = false;
          break;
        }
      }
      if (ok) return id;
    }
    return K_OTHER;
  }

  // ---- numbers ------------------------------------------------------------------------------------------

  /** Reads a number (or NaN/Infinity word) at the cursor; stops at the first byte that cannot belong to it. */
  private _number(): number {
    const b = this._buf;
    const len = this._len;
    const begin = this._pos;
    let p = begin;
    let negative = false;
    let c = p < len ? b[p]! : -1;
    if (c === MINUS || c === PLUS) {
      negative = c === MINUS;
      p++;
      c = p < len ? b[p]! : -1;
    }
    if (c < D0 || c > D9) {
      if (c !== DOT) return this._word(begin, p, negative);
    }
    // Digits go into `mantissa` (exact up to 15 significant digits, which is all the fast path below uses).
    let mantissa = 0;
    let significant = 0;
    let digits = 0;
    let exp10 = 0;
    while (p < len && b[p] === D0) {
      p++;
      digits++;
    }
    while (p < len) {
      c = b[p]!;
      if (c < D0 || c > D9) break;
      mantissa = mantissa * 10 + (c - D0);
      significant++;
      digits++;
      p++;
    }
    if (p < len && b[p] === DOT) {
      p++;
      if (significant === 0) {
        while (p < len && b[p] === D0) {
          p++;
          digits++;
          exp10--;
        }
      }
      while (p < len) {
        c = b[p]!;
        if (c < D0 || c > D9) break;
        mantissa = mantissa * 10 + (c - D0);
        significant++;
        exp10--;
        digits++;
        p++;
      }
    }
    if (digits === 0) throw this.fail('malformed number', begin);
    if (p < len && (b[p] === 101 || b[p] === 69)) {
      p++;
      let expNegative = false;
      if (p < len && (b[p] === MINUS || b[p] === PLUS)) {
        expNegative = b[p] === MINUS;
        p++;
      }
      let e = 0;
      let expDigits = 0;
      while (p < len) {
        c = b[p]!;
        if (c < D0 || c > D9) break;
        if (e < 100000) e = e * 10 + (c - D0);
        expDigits++;
        p++;
      }
      if (expDigits === 0) throw this.fail('malformed exponent', begin);
      exp10 += expNegative ? -e : e;
    }
    this._pos = p;
    let value: number;
    if (significant > 15 || exp10 > 22 || exp10 < -22) {
      // Outside Clinger's fast path (mantissa < 2^53 and |exponent| <= 22, one correctly rounded operation).
      value = Number(this._view.toString('latin1', negative || b[begin] === PLUS ? begin + 1 : begin, p));
      if (Number.isNaN(value)) throw this.fail('malformed number', begin);
    } else {
      value = exp10 === 0 ? mantissa : exp10 > 0 ? mantissa * POW10[exp10]! : mantissa / POW10[-exp10]!;
    }
    return negative ? -value : value;
  }

  /** NaN / Infinity spelled as xapi (`NaN`, `Infinity`, `-Infinity`) or as C printf (`nan`, `inf`). */
  private _word(begin: number, p: number, negative: boolean): number {
    const b = this._buf;
    let q = p;
    while (q < this._len && ((b[q]! >= 65 && b[q]! <= 90) || (b[q]! >= 97 && b[q]! <= 122))) q++;
    const word = this._view.toString('latin1', p, q).toLowerCase();
    this._pos = q;
    if (word === 'nan') return NaN;
    if (word === 'infinity' || word === 'inf') return negative ? -Infinity : Infinity;
    throw this.fail(q === p ? 'expected a number' : `expected a number, got '${word.slice(0, 16)}'`, begin);
  }

  /** JSON number that may be bare or quoted (`"0.0627"`), as the dialects differ. */
  private _jsonNumber(): number {
    this._ws();
    if (this._pos < this._len && this._buf[this._pos] === QUOTE) {
      this._pos++;
      const v = this._number();
      if (this._pos >= this._len || this._buf[this._pos] !== QUOTE) throw this.fail('expected \'"\' after number');
      this._pos++;
      return v;
    }
    return this._number();
  }

  private _jsonInteger(what: string): number {
    const at = this._pos;
    const v = this._jsonNumber();
    if (!Number.isSafeInteger(v)) throw this.fail(`meta.${what} is not an integer`, at);
    return v;
  }

  // ---- JSON ---------------------------------------------------------------------------------------------

  parseJson(): ParsedRrdUpdates {
    const meta: MetaAcc = { start: NaN, step: NaN, end: NaN, rows: NaN, columns: NaN, legend: undefined };
    let dataPos = -1;
    let early: EarlyData | undefined;
    const data = (): void => {
      dataPos = this._pos;
      early = this._jsonDataEarly(meta);
      if (!early) this._skipValue();
    };
    let nested = false;
    this._expect(LBRACE, "'{'");
    this._object((key) => {
      if (key === K_META) {
        this._expect(LBRACE, "'{' (meta)");
        this._object((metaKey) => {
          if (metaKey === K_DATA) {
            nested = true;
            data();
          } else {
            this._metaField(meta, metaKey);
          }
        });
      } else if (key === K_DATA) {
        data();
      } else {
        this._skipValue();
      }
    });
    this._ws();
    if (this._pos < this._len) throw this.fail('unexpected content after the document');
    const end = this._pos;
    const header = this._checkMeta(meta);
    if (dataPos < 0) throw this.fail("missing 'data'", end);
    // `data` is parsed after the whole document so its size is known from `meta` whatever the key order, unless
    // it was already read with the same `meta` (see _jsonDataEarly).
    const readEarly: EarlyData | undefined = early;
    let rowsRead: { timestamps: Float64Array; values: Float64Array };
    if (readEarly && readEarly.at === dataPos && readEarly.rows === header.rows && readEarly.columns === header.columns) {
      rowsRead = readEarly;
    } else {
      this._pos = dataPos;
      rowsRead = this._jsonData(header.rows, header.columns);
    }
    const { timestamps, values } = rowsRead;
    this._pos = end;
    // Legacy = JSON5-ish keys; otherwise valid JSON, with `data` either nested in `meta` or beside it. Quoted vs
    // bare numbers is not part of the dialect name: the scanner takes both anywhere.
    const dialect: RrdDialect = this._unquotedKey ? 'legacy' : nested ? 'nested' : 'strings';
    return parsedRrdUpdates(dialect, header, timestamps, values);
  }

  /** Iterates `key: value` pairs of an object whose `{` was consumed; `onKey` must consume the value. */
  private _object(onKey: (key: number) => void): void {
    this._ws();
    if (this.peek() === RBRACE) {
      this._pos++;
      return;
    }
    for (;;) {
      const key = this._jsonKey();
      this._expect(COLON, "':'");
      onKey(key);
      if (this._nextOrClose(RBRACE, "unexpected end of input, expected ',' or '}'", "expected ',' or '}'")) return;
    }
  }

  /**
   * The step after each element of a JSON object or array: consumes `,` (false: another element follows) or
   * `close` (true: the container ended); anything else fails with `endMsg` at the end of input, else `sepMsg`.
   * Messages are constants at the call sites, so the value loop allocates nothing here.
   */
  private _nextOrClose(close: number, endMsg: string, sepMsg: string): boolean {
    // Fast path: no whitespace before the separator in any dialect xapi writes.
    let c = this._pos < this._len ? this._buf[this._pos]! : -1;
    if (c !== COMMA && c !== close) {
      this._ws();
      c = this.peek();
    }
    if (c === COMMA) {
      this._pos++;
      return false;
    }
    if (c === close) {
      this._pos++;
      return true;
    }
    throw this.fail(c === -1 ? endMsg : sepMsg);
  }

  private _jsonKey(): number {
    this._ws();
    const b = this._buf;
    let p = this._pos;
    if (p >= this._len) throw this.fail('unexpected end of input, expected a key');
    if (b[p] === QUOTE) {
      const from = p + 1;
      p = from;
      while (p < this._len && b[p] !== QUOTE) p += b[p] === BACKSLASH ? 2 : 1;
      if (p >= this._len) throw this.fail('unterminated key');
      this._pos = p + 1;
      return this._keyId(from, p);
    }
    // JSON5 identifier key (legacy dialect).
    const from = p;
    while (p < this._len && isIdentByte(b[p]!)) p++;
    if (p === from) throw this.fail('expected a key');
    this._unquotedKey = true;
    this._pos = p;
    return this._keyId(from, p);
  }

  private _metaField(meta: MetaAcc, key: number): void {
    switch (key) {
      case K_START:
        meta.start = this._jsonInteger('start');
        return;
      case K_STEP:
        meta.step = this._jsonInteger('step');
        return;
      case K_END:
        meta.end = this._jsonInteger('end');
        return;
      case K_ROWS:
        meta.rows = this._jsonInteger('rows');
        return;
      case K_COLUMNS:
        meta.columns = this._jsonInteger('columns');
        return;
      case K_LEGEND: {
        this._expect(LBRACKET, "'[' (legend)");
        const contentStart = this._pos;
        const reused = this._reuseLegend(JSON_LEGEND_END);
        if (reused) {
          this._pos++;
          meta.legend = reused;
          return;
        }
        let legend = this._canonicalLegend(JSON_LEGEND_SYNTAX, meta.columns);
        if (legend) {
          this._pos++;
        } else {
          const builder = new CompactLegendBuilder();
          this._ws();
          if (this.peek() === RBRACKET) {
            this._pos++;
          } else {
            for (;;) {
              this._legendEntry(builder, this._jsonString());
              if (this._nextOrClose(RBRACKET, 'unexpected end of input in legend', "expected ',' or ']' in legend")) break;
            }
          }
          legend = builder.build();
        }
        meta.legend = this._storeLegend(contentStart, this._pos - 1, legend);
        return;
      }
      default:
        this._skipValue();
    }
  }

  /**
   * If the bytes at the cursor are the cached legend's content and are followed by `terminator`, moves the cursor
   * to the terminator and returns the cached legend. Content followed by the terminator is the same complete
   * legend, because the cached content was a complete legend when it was stored.
   */
  private _reuseLegend(terminator: Uint8Array): CompactLegend | undefined {
    const cache = this._legendCache;
    const length = cache?.byteLength;
    if (!cache || length === undefined) return undefined;
    const start = this._pos;
    const end = start + length;
    if (end + terminator.length > this._len) return undefined;
    for (let i = 0; i < terminator.length; i++) if (this._buf[end + i] !== terminator[i]) return undefined;
    if (!cache.matches(this._view.subarray(start, end))) return undefined;
    cache.hits++;
    this._pos = end;
    return cache.legend;
  }

  private _storeLegend(contentStart: number, contentEnd: number, legend: CompactLegend): CompactLegend {
    const cache = this._legendCache;
    if (!cache) return legend;
    cache.misses++;
    return cache.store(this._view.subarray(contentStart, contentEnd), legend);
  }

  private _legendEntry(builder: CompactLegendBuilder, raw: string): void {
    if (!builder.addEntry(raw)) throw this.fail(`malformed legend entry '${raw.slice(0, 80)}'`);
  }

  /**
   * A legend written exactly as xapi writes it (see CompactLegendBuilder.readCanonical), read straight from the
   * bytes; the cursor is left on the legend's end. Anything else returns undefined with the cursor unmoved, and
   * the general path reads it (and reports what is wrong with it).
   */
  private _canonicalLegend(syntax: LegendSyntax, columns: number): CompactLegend | undefined {
    // meta.columns, when it came first and is plausible, sizes the builder (each entry takes ≥ 4 bytes).
    const builder = new CompactLegendBuilder(columns >= 0 && columns <= this._len / 4 ? columns : undefined);
    const end = builder.readCanonical(this._view, this._pos, syntax, this._legendCache?.legend);
    if (end < 0) return undefined;
    this._pos = end;
    return builder.build();
  }

  private _jsonString(): string {
    this._ws();
    const b = this._buf;
    if (this.peek() !== QUOTE) throw this.fail(this.peek() === -1 ? 'unexpected end of input, expected a string' : 'expected a string');
    const from = this._pos + 1;
    let p = from;
    let escaped = false;
    let ascii = true;
    while (p < this._len) {
      const c = b[p]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        p += 2;
        continue;
      }
      if (c >= 0x80) ascii = false;
      p++;
    }
    if (p >= this._len) throw this.fail('unterminated string', from - 1);
    this._pos = p + 1;
    if (escaped) {
      try {
        return JSON.parse(this._view.toString('utf8', from - 1, p + 1)) as string;
      } catch (cause) {
        throw new AgentError(RRD_ERR_PARSE, `rrd_updates body: bad string escape at byte ${from}`, { cause, details: { position: from } });
      }
    }
    return this._view.toString(ascii ? 'latin1' : 'utf8', from, p);
  }

  private _skipValue(): void {
    this._ws();
    const b = this._buf;
    const c = this.peek();
    if (c === QUOTE) {
      this._jsonString();
      return;
    }
    if (c === LBRACE || c === LBRACKET) {
      let depth = 0;
      let p = this._pos;
      while (p < this._len) {
        const ch = b[p]!;
        if (ch === QUOTE) {
          p++;
          while (p < this._len && b[p] !== QUOTE) p += b[p] === BACKSLASH ? 2 : 1;
        } else if (ch === LBRACE || ch === LBRACKET) {
          depth++;
        } else if (ch === RBRACE || ch === RBRACKET) {
          depth--;
          if (depth === 0) {
            this._pos = p + 1;
            return;
          }
        }
        p++;
      }
      throw this.fail('unexpected end of input inside a value');
    }
    // Bare scalar (number, true/false/null, NaN): up to the next delimiter.
    let p = this._pos;
    while (p < this._len) {
      const ch = b[p]!;
      if (ch === COMMA || ch === RBRACE || ch === RBRACKET || ch === SPACE || ch === LF || ch === CR || ch === TAB) break;
      p++;
    }
    if (p === this._pos) throw this.fail(c === -1 ? 'unexpected end of input, expected a value' : 'expected a value');
    this._pos = p;
  }

  private _checkMeta(meta: MetaAcc): MetaHeader {
    const problem = this._metaProblem(meta);
    if (problem !== undefined) throw this.fail(problem);
    return { start: meta.start, step: meta.step, end: meta.end, rows: meta.rows, columns: meta.columns, legend: meta.legend! };
  }

  private _metaProblem(meta: MetaAcc): string | undefined {
    for (const field of ['start', 'step', 'end', 'rows', 'columns'] as const) {
      if (Number.isNaN(meta[field])) return `missing meta.${field}`;
    }
    if (!meta.legend) return 'missing meta.legend';
    if (meta.rows < 0 || meta.columns < 0) return 'negative meta.rows or meta.columns';
    if (meta.legend.length !== meta.columns) return `legend has ${meta.legend.length} entries but meta.columns is ${meta.columns}`;
    // Each value takes at least two bytes: a claimed size larger than the body is garbage, not a reason to
    // allocate gigabytes.
    if (meta.rows * Math.max(1, meta.columns) > this._len) return `meta.rows × meta.columns (${meta.rows} × ${meta.columns}) cannot fit in ${this._len} bytes`;
    return undefined;
  }

  /**
   * `data` read where it stands, when `meta` before it is complete and consistent (xapi writes `meta` first):
   * saves skipping over every value once. If that fails, the cursor is put back and `data` is skipped; it is
   * read again after the whole document (as it is when `meta` changes later), so errors and results are always
   * those of that path.
   */
  private _jsonDataEarly(meta: MetaAcc): EarlyData | undefined {
    if (this._metaProblem(meta) !== undefined) return undefined;
    const at = this._pos;
    try {
      return { at, rows: meta.rows, columns: meta.columns, ...this._jsonData(meta.rows, meta.columns) };
    } catch {
      this._pos = at; // reported by the read after the document
      return undefined;
    }
  }

  private _jsonData(rows: number, columns: number): { timestamps: Float64Array; values: Float64Array } {
    const timestamps = new Float64Array(rows);
    const values = new Float64Array(rows * columns);
    this._expect(LBRACKET, "'[' (data)");
    this._ws();
    let row = 0;
    if (this.peek() === RBRACKET) {
      this._pos++;
    } else {
      for (;;) {
        if (row >= rows) throw this.fail(`more data rows than meta.rows (${rows})`);
        this._expect(LBRACE, "'{' (row)");
        let t = NaN;
        let seenValues = false;
        this._object((key) => {
          if (key === K_T) {
            t = this._jsonInteger('t');
          } else if (key === K_VALUES) {
            seenValues = true;
            this._expect(LBRACKET, "'[' (values)");
            const base = row * columns;
            let n = 0;
            this._ws();
            if (this.peek() === RBRACKET) {
              this._pos++;
            } else {
              for (;;) {
                if (n >= columns) throw this.fail(`row ${row} has more values than meta.columns (${columns})`);
                values[base + n++] = this._jsonNumber();
                if (this._nextOrClose(RBRACKET, 'unexpected end of input in values', "expected ',' or ']' in values")) break;
              }
            }
            if (n !== columns) throw this.fail(`row ${row} has ${n} values but meta.columns is ${columns}`);
          } else {
            this._skipValue();
          }
        });
        if (Number.isNaN(t)) throw this.fail(`row ${row} has no 't'`);
        if (!seenValues) throw this.fail(`row ${row} has no 'values'`);
        timestamps[row] = t;
        row++;
        if (this._nextOrClose(RBRACKET, 'unexpected end of input in data', "expected ',' or ']' in data")) break;
      }
    }
    if (row !== rows) throw this.fail(`data has ${row} rows but meta.rows is ${rows}`);
    return { timestamps, values };
  }

  // ---- XML ----------------------------------------------------------------------------------------------

  parseXml(): ParsedRrdUpdates {
    const b = this._buf;
    if (this._startsWith('<?')) {
      const close = indexOf2(b, QMARK, GT, this._pos, this._len);
      if (close < 0) throw this.fail('unterminated XML declaration');
      this._pos = close + 2;
    }
    // The DataDog capture carries the two characters `\n` after the declaration (a fixture artefact): skip
    // whitespace and such literal escapes before the root element.
    for (;;) {
      this._ws();
      if (this._pos + 1 < this._len && b[this._pos] === BACKSLASH && b[this._pos + 1] === 110) this._pos += 2;
      else break;
    }
    const root = this._openTag();
    if (root.id !== K_XPORT) throw this.fail('root element is not <xport>', root.at);
    const meta: MetaAcc = { start: NaN, step: NaN, end: NaN, rows: NaN, columns: NaN, legend: undefined };
    let header: ReturnType<Scanner['_checkMeta']> | undefined;
    let data: { timestamps: Float64Array; values: Float64Array } | undefined;
    if (!root.selfClosing) {
      for (;;) {
        if (this._closeTagNext()) {
          this._closeTag(K_XPORT, 'xport');
          break;
        }
        const tag = this._openTag();
        if (tag.id === K_META) {
          if (!tag.selfClosing) this._xmlMeta(meta);
        } else if (tag.id === K_DATA) {
          header = this._checkMeta(meta);
          data = tag.selfClosing ? this._emptyData(header.rows) : this._xmlData(header.rows, header.columns);
        } else if (!tag.selfClosing) {
          this._skipElement();
        }
      }
    }
    this._ws();
    if (this._pos < this._len) throw this.fail('unexpected content after </xport>');
    if (!header) header = this._checkMeta(meta);
    if (!data) throw this.fail('missing <data>');
    return parsedRrdUpdates('xml', header, data.timestamps, data.values);
  }

  private _startsWith(s: string): boolean {
    if (this._pos + s.length > this._len) return false;
    for (let i = 0; i < s.length; i++) if (this._buf[this._pos + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  private _emptyData(rows: number): { timestamps: Float64Array; values: Float64Array } {
    if (rows !== 0) throw this.fail(`data has 0 rows but meta.rows is ${rows}`);
    return { timestamps: new Float64Array(0), values: new Float64Array(0) };
  }

  /** Reads `<name attr…>` or `<name/>` after optional whitespace. */
  private _openTag(): { id: number; selfClosing: boolean; at: number } {
    this._ws();
    const b = this._buf;
    const at = this._pos;
    if (at >= this._len) throw this.fail('unexpected end of input, expected an element');
    if (b[at] !== LT) throw this.fail("expected '<'");
    let p = at + 1;
    if (p < this._len && (b[p] === 33 || b[p] === QMARK)) throw this.fail('unsupported markup (comment, DOCTYPE or processing instruction)', at);
    const from = p;
    while (p < this._len && isNameByte(b[p]!)) p++;
    if (p === from) throw this.fail('expected an element name', at);
    const id = this._keyId(from, p);
    // Attributes are not produced by xapi; tolerate and ignore them.
    while (p < this._len && b[p] !== GT) p++;
    if (p >= this._len) throw this.fail('unexpected end of input in a tag', at);
    const selfClosing = b[p - 1] === SLASH;
    this._pos = p + 1;
    return { id, selfClosing, at };
  }

  private _closeTagNext(): boolean {
    this._ws();
    return this._pos + 1 < this._len && this._buf[this._pos] === LT && this._buf[this._pos + 1] === SLASH;
  }

  private _closeTag(id: number, name: string): void {
    this._ws();
    const b = this._buf;
    const at = this._pos;
    if (at + 1 >= this._len) throw this.fail(`unexpected end of input, expected </${name}>`);
    if (b[at] !== LT || b[at + 1] !== SLASH) throw this.fail(`expected </${name}>`);
    let p = at + 2;
    const from = p;
    while (p < this._len && isNameByte(b[p]!)) p++;
    if (this._keyId(from, p) !== id) throw this.fail(`expected </${name}>`, at);
    while (p < this._len && b[p] !== GT) p++;
    if (p >= this._len) throw this.fail(`unexpected end of input, expected </${name}>`, at);
    this._pos = p + 1;
  }

  /** Skips the rest of an element whose start tag was consumed (any depth). */
  private _skipElement(): void {
    const b = this._buf;
    let depth = 1;
    let p = this._pos;
    while (p < this._len) {
      if (b[p] === LT) {
        const closing = b[p + 1] === SLASH;
        let q = p + 1;
        while (q < this._len && b[q] !== GT) q++;
        if (q >= this._len) break;
        if (closing) depth--;
        else if (b[q - 1] !== SLASH) depth++;
        p = q + 1;
        if (depth === 0) {
          this._pos = p;
          return;
        }
        continue;
      }
      p++;
    }
    throw this.fail('unexpected end of input inside an element');
  }

  private _xmlMeta(meta: MetaAcc): void {
    for (;;) {
      if (this._closeTagNext()) {
        this._closeTag(K_META, 'meta');
        return;
      }
      const tag = this._openTag();
      if (tag.selfClosing) {
        if (tag.id === K_LEGEND) meta.legend = EMPTY_LEGEND;
        continue;
      }
      switch (tag.id) {
        case K_START:
        case K_STEP:
        case K_END:
        case K_ROWS:
        case K_COLUMNS: {
          const name = KEY_NAMES.find(([id]) => id === tag.id)![1];
          this._ws();
          const at = this._pos;
          const v = this._number();
          if (!Number.isSafeInteger(v)) throw this.fail(`meta.${name} is not an integer`, at);
          meta[name as 'start' | 'step' | 'end' | 'rows' | 'columns'] = v;
          this._closeTag(tag.id, name);
          break;
        }
        case K_LEGEND: {
          const contentStart = this._pos;
          const reused = this._reuseLegend(XML_LEGEND_END);
          if (reused) {
            this._closeTag(K_LEGEND, 'legend');
            meta.legend = reused;
            break;
          }
          const canonical = this._canonicalLegend(XML_LEGEND_SYNTAX, meta.columns);
          if (canonical) {
            meta.legend = this._storeLegend(contentStart, this._pos, canonical);
            this._closeTag(K_LEGEND, 'legend');
            break;
          }
          const builder = new CompactLegendBuilder();
          for (;;) {
            if (this._closeTagNext()) {
              meta.legend = this._storeLegend(contentStart, this._pos, builder.build());
              this._closeTag(K_LEGEND, 'legend');
              break;
            }
            const entry = this._openTag();
            if (entry.id !== K_ENTRY) throw this.fail('expected <entry>', entry.at);
            this._legendEntry(builder, entry.selfClosing ? '' : this._xmlText(K_ENTRY, 'entry'));
          }
          break;
        }
        default:
          this._skipElement();
      }
    }
  }

  /** Text content up to the closing tag, with the five predefined entities and numeric references decoded. */
  private _xmlText(id: number, name: string): string {
    const b = this._buf;
    const from = this._pos;
    let p = from;
    let ascii = true;
    let entities = false;
    while (p < this._len && b[p] !== LT) {
      if (b[p]! >= 0x80) ascii = false;
      else if (b[p] === AMP) entities = true;
      p++;
    }
    if (p >= this._len) throw this.fail(`unexpected end of input in <${name}>`);
    let text = this._view.toString(ascii ? 'latin1' : 'utf8', from, p);
    if (entities) text = decodeEntities(text);
    this._pos = p;
    this._closeTag(id, name);
    return text;
  }

  private _xmlData(rows: number, columns: number): { timestamps: Float64Array; values: Float64Array } {
    const timestamps = new Float64Array(rows);
    const values = new Float64Array(rows * columns);
    const b = this._buf;
    const len = this._len;
    let row = 0;
    for (;;) {
      if (this._closeTagNext()) {
        this._closeTag(K_DATA, 'data');
        break;
      }
      const rowTag = this._openTag();
      if (rowTag.id !== K_ROW) throw this.fail('expected <row>', rowTag.at);
      if (row >= rows) throw this.fail(`more data rows than meta.rows (${rows})`, rowTag.at);
      if (rowTag.selfClosing) throw this.fail(`row ${row} is empty`, rowTag.at);
      const tTag = this._openTag();
      if (tTag.id !== K_T || tTag.selfClosing) throw this.fail(`row ${row} does not start with <t>`, tTag.at);
      this._ws();
      const tAt = this._pos;
      const t = this._number();
      if (!Number.isSafeInteger(t)) throw this.fail(`row ${row}: <t> is not an integer`, tAt);
      timestamps[row] = t;
      this._closeTag(K_T, 't');
      const base = row * columns;
      let n = 0;
      for (;;) {
        let p = this._pos;
        // Fast path: `<v>` … `</v>` exactly as XMLM writes them.
        if (p + 2 < len && b[p] === LT && b[p + 1] === 118 && b[p + 2] === GT) {
          if (n >= columns) throw this.fail(`row ${row} has more values than meta.columns (${columns})`);
          this._pos = p + 3;
          values[base + n++] = this._number();
          p = this._pos;
          if (p + 3 < len && b[p] === LT && b[p + 1] === SLASH && b[p + 2] === 118 && b[p + 3] === GT) {
            this._pos = p + 4;
            continue;
          }
          this._ws();
          this._closeTag(K_V, 'v');
          continue;
        }
        if (this._closeTagNext()) {
          this._closeTag(K_ROW, 'row');
          break;
        }
        const tag = this._openTag();
        if (tag.id !== K_V) throw this.fail(`expected <v> in row ${row}`, tag.at);
        if (n >= columns) throw this.fail(`row ${row} has more values than meta.columns (${columns})`, tag.at);
        if (tag.selfClosing) throw this.fail(`empty <v/> in row ${row}`, tag.at);
        this._ws();
        values[base + n++] = this._number();
        this._closeTag(K_V, 'v');
      }
      if (n !== columns) throw this.fail(`row ${row} has ${n} values but meta.columns is ${columns}`);
      row++;
    }
    if (row !== rows) throw this.fail(`data has ${row} rows but meta.rows is ${rows}`);
    return { timestamps, values };
  }
}

function isIdentByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= D0 && c <= D9) || c === 95 || c === 36;
}

function isNameByte(c: number): boolean {
  return isIdentByte(c) || c === MINUS || c === DOT || c === COLON;
}

function indexOf2(b: Uint8Array, c1: number, c2: number, from: number, to: number): number {
  for (let i = from; i + 1 < to; i++) if (b[i] === c1 && b[i + 1] === c2) return i;
  return -1;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(Number.parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(Number.parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}
