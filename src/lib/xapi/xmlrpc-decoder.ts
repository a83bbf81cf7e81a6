// Incremental decoder of XML-RPC `methodResponse` bodies, fed chunk by chunk straight from the socket.
//
// Why not the `xmlrpc` package's SAX deserializer: memory. Its answer to `VM.get_all_records` for 6,400 VMs (47 MB of
// XML) had to be buffered whole, decoded into full records (about 100 fields each, of which records.ts keeps 20),
// and copied once more (structuredClone) because the decoded strings were V8 slices of the whole body text. See
// README.md ("Why the xmlrpc package is only used as an encoder") for the measured figures.
//
// Design:
// - A byte scanner over each chunk with an explicit stack of element frames (no recursion, depth-limited). A token
//   that is cut by the end of a chunk (a tag, an entity, the `]]>` of a CDATA section, the last bytes of a multi-byte
//   UTF-8 character) is carried over and completed with the head of the next chunk, the chunk itself is never copied;
//   text and CDATA content are decoded as they come, so only such short tails are ever carried.
// - Every string is created by `buf.toString('utf8', start, end)` from the bytes of its own segment: a fresh
//   string, never a slice of one big string that would keep the whole body alive.
// - Projection (`recordFields`): in a `{Status, Value: {ref: {field: value}}}` answer, members of each record whose
//   name is not listed are skipped by counting tags; their names are compared as bytes and their values are never
//   turned into strings or objects.
// - A struct of more than 16 members is cloned from a template of its member names, so that V8 keeps it in fast mode
//   (records of one class share one hidden class) instead of a dictionary of about 3× the size.
// - The semantics are those of the previous decoder (`xmlrpc` 1.3.2 + codec.ts): untyped `<value>` is a string,
//   `<i8>` stays a decimal string, `<int>`/`<i4>` are read with parseInt, `<boolean>` is exactly `1` or `0`, doubles
//   and dateTimes use parseXapiDouble / parseXapiDateTime, tag names are case-insensitive. Malformed input is a
//   PROTOCOL error with the byte offset in `details` and never any text of the body (it may hold secrets).
import { XapiError, XapiErrorCode } from './errors.ts';

export type XmlRpcValue = string | number | boolean | Date | Buffer | null | XmlRpcValue[] | { [key: string]: XmlRpcValue };

export interface XmlRpcDecodeOptions {
  /**
   * For `<class>.get_all_records` answers (`{Status, Value: {ref: {field: value}}}`): the member names of each record
   * that are kept. Other members are skipped without creating strings or objects. Any other answer shape is decoded
   * in full.
   */
  readonly recordFields?: ReadonlySet<string>;
}

/** Element nesting limit (a `get_all_records` answer needs ~12, an event batch ~20). */
export const MAX_XMLRPC_DEPTH = 128;
/** Longest tag, declaration or processing instruction start that may be carried from one chunk to the next. */
const MAX_MARKUP_BYTES = 4096;
/** Properties V8 keeps in fast mode when added by computed name to `{}` (4 in-object + 12). */
const MAX_KEYED_FAST_PROPERTIES = 16;
/** Beyond this a struct is a map (e.g. ref → record), better served by a dictionary. */
const MAX_TEMPLATE_PROPERTIES = 128;
/** Distinct struct shapes with a template per response. */
const MAX_TEMPLATES = 64;
/** Bytes of a new chunk joined to a carried token to complete it (more than the longest carried token). */
const CARRY_HEAD_BYTES = MAX_MARKUP_BYTES + 64;
/** Longest entity name looked for between `&` and `;` (`#x0010FFFF`); a longer one stays literal text. */
const MAX_ENTITY_NAME = 16;

const LT = 0x3c;
const GT = 0x3e;
const AMP = 0x26;
const SEMICOLON = 0x3b;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const COMMENT_OPEN = Buffer.from('<!--', 'latin1');
const COMMENT_CLOSE = Buffer.from('-->', 'latin1');
const CDATA_OPEN = Buffer.from('<![CDATA[', 'latin1');
const CDATA_CLOSE = Buffer.from(']]>', 'latin1');
const PI_CLOSE = Buffer.from('?>', 'latin1');

// Scanner modes: plain text and tags, or inside a construct whose end marker is searched for.
const MODE_TEXT = 0;
const MODE_COMMENT = 1;
const MODE_CDATA = 2;
const MODE_PI = 3;
const MODE_DECL = 4;

// Element kinds. DOCUMENT is the virtual frame below the root element.
const DOCUMENT = 0;
const METHOD_RESPONSE = 1;
const PARAMS = 2;
const PARAM = 3;
const FAULT = 4;
const VALUE = 5;
const STRUCT = 6;
const MEMBER = 7;
const NAME = 8;
const ARRAY = 9;
const DATA = 10;
const STRING = 11;
const INT = 12;
const I8 = 13;
const BOOLEAN = 14;
const DOUBLE = 15;
const DATE_TIME = 16;
const BASE64 = 17;
const NIL = 18;
const UNKNOWN = -1;

const TAG_NAMES: readonly (readonly [string, number])[] = [
  ['methodresponse', METHOD_RESPONSE],
  ['params', PARAMS],
  ['param', PARAM],
  ['fault', FAULT],
  ['value', VALUE],
  ['struct', STRUCT],
  ['member', MEMBER],
  ['name', NAME],
  ['array', ARRAY],
  ['data', DATA],
  ['string', STRING],
  ['int', INT],
  ['i4', INT],
  ['i8', I8],
  ['boolean', BOOLEAN],
  ['double', DOUBLE],
  ['datetime.iso8601', DATE_TIME],
  ['base64', BASE64],
  ['nil', NIL],
];

/** Known tag names by byte length, lowercase; matched case-insensitively like sax's non-strict mode did. */
const TAGS_BY_LENGTH: { bytes: Buffer; kind: number }[][] = [];
for (const [name, kind] of TAG_NAMES) (TAGS_BY_LENGTH[name.length] ??= []).push({ bytes: Buffer.from(name, 'latin1'), kind });

function tagKind(buf: Buffer, start: number, end: number): number {
  const candidates = TAGS_BY_LENGTH[end - start];
  if (candidates === undefined) return UNKNOWN;
  next: for (const candidate of candidates) {
    const expected = candidate.bytes;
    for (let k = 0; k < expected.length; k++) {
      let b = buf[start + k]!;
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      if (b !== expected[k]) continue next;
    }
    return candidate.kind;
  }
  return UNKNOWN;
}

function isScalarKind(kind: number): boolean {
  return kind >= STRING && kind <= NIL;
}

// Roles of a struct, for the projection of get_all_records answers.
const ROLE_NONE = 0;
const ROLE_ENVELOPE = 1; // {Status, Value | ErrorDescription}
const ROLE_RECORD_MAP = 2; // the Value: ref -> record
const ROLE_RECORD = 3; // one record: field -> value

/** One open element. Frames are reused per depth, so the scanner allocates nothing per element. */
class Frame {
  kind = DOCUMENT;
  /** Absolute byte offset of the opening tag (error details). */
  offset = 0;
  /** Collected text (value, scalar, name). */
  text = '';
  /** value: a typed child element (scalar, struct, array) was opened. */
  typed = false;
  /** param, fault, member, methodResponse, params: a value was delivered (or skipped). */
  hasValue = false;
  /** value: the typed child's result; param, fault, member, params, methodResponse: the delivered value. */
  value: XmlRpcValue | undefined = undefined;
  /** struct: member names and values in order; the object is built at `</struct>` (see `_buildStruct`). */
  readonly keys: string[] = [];
  readonly values: XmlRpcValue[] = [];
  array: XmlRpcValue[] | undefined = undefined;
  /** member: the decoded name (undefined until `</name>`). */
  name: string | undefined = undefined;
  /** member of a projected record: the field is not wanted, its value is skipped or dropped. */
  skip = false;
  /** struct: ROLE_*. */
  role = ROLE_NONE;
  /** name of a projected record's member: compared against the wanted fields. */
  match = false;
  /** name being matched: its text as one byte span of the current chunk, not yet a string. */
  spanBuf: Buffer | undefined = undefined;
  spanStart = 0;
  spanEnd = 0;

  reset(kind: number, offset: number): void {
    this.kind = kind;
    this.offset = offset;
    this.text = '';
    this.typed = false;
    this.hasValue = false;
    this.value = undefined;
    if (this.keys.length !== 0) {
      this.keys.length = 0;
      this.values.length = 0;
    }
    this.array = undefined;
    this.name = undefined;
    this.skip = false;
    this.role = ROLE_NONE;
    this.match = false;
    this.spanBuf = undefined;
  }
}

/** The wanted field names of a projection, also as UTF-8 bytes grouped by length (compared without a string). */
class FieldMatcher {
  private readonly _fields: ReadonlySet<string>;
  private readonly _byLength = new Map<number, { bytes: Buffer; name: string }[]>();

  constructor(fields: ReadonlySet<string>) {
    this._fields = fields;
    for (const name of fields) {
      const bytes = Buffer.from(name, 'utf8');
      let group = this._byLength.get(bytes.length);
      if (group === undefined) this._byLength.set(bytes.length, (group = []));
      group.push({ bytes, name });
    }
  }

  /** The wanted name spelled by `buf[start, end)`, as the projection's own string instance. */
  matchBytes(buf: Buffer, start: number, end: number): string | undefined {
    const group = this._byLength.get(end - start);
    if (group === undefined) return undefined;
    next: for (const candidate of group) {
      const expected = candidate.bytes;
      for (let k = 0; k < expected.length; k++) if (buf[start + k] !== expected[k]) continue next;
      return candidate.name;
    }
    return undefined;
  }

  matchText(text: string): string | undefined {
    return this._fields.has(text) ? text : undefined;
  }
}

const matchers = new WeakMap<ReadonlySet<string>, FieldMatcher>();

function matcherFor(fields: ReadonlySet<string>): FieldMatcher {
  let matcher = matchers.get(fields);
  if (matcher === undefined) matchers.set(fields, (matcher = new FieldMatcher(fields)));
  return matcher;
}

function decodeError(reason: string, offset: number): XapiError {
  return new XapiError(XapiErrorCode.PROTOCOL, 'response is not XML-RPC', { details: { reason, offset } });
}

/**
 * Decodes one `methodResponse`: `write()` each chunk of the body as it arrives, then `end()` for the value of its
 * single param. A `<fault>` or anything that is not XML-RPC throws a PROTOCOL XapiError (from `write` as soon as it is
 * seen, or from `end`); after an error the decoder only rethrows it.
 */
export class XmlRpcResponseDecoder {
  private readonly _fields: FieldMatcher | undefined;
  private _frames: Frame[] = [new Frame()];
  /** Frames in use: `_frames[0]` is the document, `_frames[_depth - 1]` the innermost open element. */
  private _depth = 1;
  private _mode = MODE_TEXT;
  /** Unconsumed bytes at the end of the previous chunk (an incomplete token). */
  private _carry: Buffer | undefined;
  /** Absolute offset of the first byte of the buffer being scanned. */
  private _bufferOffset = 0;
  /** Inside a skipped member value: open elements still to close. */
  private _skipDepth = 0;
  /** The innermost frame takes text. */
  private _collecting = false;
  private _rootSeen = false;
  private _done = false;
  private _result: XmlRpcValue | undefined;
  private _failure: XapiError | undefined;
  private _ended = false;
  /** Struct templates by member-name sequence (see `_buildStruct`). */
  private readonly _templates = new Map<string, Record<string, XmlRpcValue>>();

  constructor(options: XmlRpcDecodeOptions = {}) {
    this._fields = options.recordFields === undefined ? undefined : matcherFor(options.recordFields);
  }

  write(chunk: Buffer): void {
    if (this._failure !== undefined) throw this._failure;
    if (this._ended) throw new XapiError(XapiErrorCode.PROTOCOL, 'response decoder already ended');
    try {
      let buf = chunk;
      let start = 0;
      let stop = -1;
      const carry = this._carry;
      if (carry !== undefined) {
        // Complete the carried token with the head of the chunk only (a carried token is at most MAX_MARKUP_BYTES
        // long), then go on in the chunk itself: the chunk is not copied.
        this._carry = undefined;
        const headEnd = Math.min(chunk.length, CARRY_HEAD_BYTES);
        const head = Buffer.concat([carry, chunk.subarray(0, headEnd)]);
        const headStop = this._scan(head, 0);
        if (headEnd === chunk.length) {
          buf = head;
          stop = headStop;
        } else if (headStop >= carry.length) {
          this._bufferOffset += carry.length;
          start = headStop - carry.length;
        } else {
          this._bufferOffset += headStop;
          buf = Buffer.concat([head.subarray(headStop), chunk.subarray(headEnd)]);
        }
      }
      if (stop < 0) stop = this._scan(buf, start);
      // The unconsumed end (an incomplete token) is copied: the caller may reuse its buffer.
      if (stop < buf.length) this._carry = Buffer.from(buf.subarray(stop));
      this._bufferOffset += stop;
      // A name span must not outlive the call: the caller may reuse its buffer.
      const top = this._frames[this._depth - 1]!;
      if (top.spanBuf !== undefined) this._unspan(top);
    } catch (err) {
      this._fail(err);
    }
  }

  end(): XmlRpcValue {
    if (this._failure !== undefined) throw this._failure;
    if (this._ended) throw new XapiError(XapiErrorCode.PROTOCOL, 'response decoder already ended');
    if (!this._done) {
      const offset = this._bufferOffset + (this._carry?.length ?? 0);
      this._fail(decodeError(this._rootSeen ? 'response ends before </methodResponse>' : 'no <methodResponse> element', offset));
    }
    const result = this._result!;
    this._ended = true;
    this._release();
    return result;
  }

  private _fail(err: unknown): never {
    this._failure =
      err instanceof XapiError
        ? err
        : new XapiError(XapiErrorCode.PROTOCOL, 'response is not XML-RPC', { cause: err, details: { reason: 'decoder failure', offset: this._bufferOffset } });
    this._release();
    throw this._failure;
  }

  private _release(): void {
    this._frames = [];
    this._depth = 0;
    this._carry = undefined;
    this._result = undefined;
  }

  // ---- scanner ---------------------------------------------------------------------------------------------------

  /** Scans `buf` from `pos`; returns where an incomplete token starts (to carry over), or `buf.length`. */
  private _scan(buf: Buffer, pos: number): number {
    const len = buf.length;
    while (pos < len) {
      if (this._mode !== MODE_TEXT) {
        const next = this._scanSpecial(buf, pos);
        if (next < 0) return -1 - next;
        pos = next;
        continue;
      }
      // Text up to the next '<'.
      let lt = pos;
      if (this._collecting) {
        let amp = -1;
        while (lt < len) {
          const b = buf[lt];
          if (b === LT) break;
          if (b === AMP && amp < 0) amp = lt;
          lt++;
        }
        if (lt > pos) {
          const consumed = this._collectText(buf, pos, lt, amp, lt < len);
          if (consumed < lt) return consumed;
        }
      } else {
        while (lt < len && buf[lt] !== LT) lt++;
      }
      if (lt >= len) break;
      const next = this._markup(buf, lt);
      if (next < 0) return lt;
      pos = next;
    }
    return len;
  }

  /**
   * Skips to just after `close` (a comment or processing instruction: no content kept), or returns `-1 - stop` with
   * only a possible start of `close` to carry over.
   */
  private _skipPast(buf: Buffer, pos: number, close: Buffer): number {
    const end = buf.indexOf(close, pos);
    if (end >= 0) {
      this._mode = MODE_TEXT;
      return end + close.length;
    }
    return -1 - Math.max(pos, buf.length - (close.length - 1));
  }

  /**
   * Comment, CDATA, processing instruction or declaration: returns the position after it, or `-1 - stop` when it
   * goes on past the end of `buf` and `buf[stop…]` has to be carried over.
   */
  private _scanSpecial(buf: Buffer, pos: number): number {
    const len = buf.length;
    switch (this._mode) {
      case MODE_COMMENT:
        return this._skipPast(buf, pos, COMMENT_CLOSE);
      case MODE_CDATA: {
        const end = buf.indexOf(CDATA_CLOSE, pos);
        const collecting = this._collecting;
        if (end >= 0) {
          if (collecting && end > pos) this._appendText(buf, pos, end);
          this._mode = MODE_TEXT;
          return end + CDATA_CLOSE.length;
        }
        // Keep a possible `]]` and an incomplete UTF-8 character for the next chunk; the rest is content.
        let keep = Math.max(pos, len - (CDATA_CLOSE.length - 1));
        if (collecting) {
          keep = completeUtf8End(buf, pos, keep);
          if (keep > pos) this._appendText(buf, pos, keep);
        }
        return -1 - keep;
      }
      case MODE_PI:
        return this._skipPast(buf, pos, PI_CLOSE);
      default: {
        // <!DOCTYPE …> and other declarations: not XML-RPC content, skipped up to '>'.
        const end = buf.indexOf(GT, pos);
        if (end >= 0) {
          this._mode = MODE_TEXT;
          return end + 1;
        }
        return -1 - len;
      }
    }
  }

  /**
   * Text `buf[start, end)` of the collecting frame, with entity references decoded. `terminated`: a '<' follows, so
   * the text is complete in this chunk. Returns where consumption stopped (before `end` when an entity reference or
   * a UTF-8 character is cut by the end of the chunk).
   */
  private _collectText(buf: Buffer, start: number, end: number, firstAmp: number, terminated: boolean): number {
    let from = start;
    let amp = firstAmp;
    while (amp >= 0) {
      let q = amp + 1;
      const limit = Math.min(end, amp + 1 + MAX_ENTITY_NAME);
      while (q < limit && isEntityNameByte(buf[q]!)) q++;
      if (q < end && buf[q] === SEMICOLON) {
        const decoded = decodeEntity(buf, amp + 1, q);
        if (decoded !== undefined) {
          if (amp > from) this._appendText(buf, from, amp);
          this._appendString(decoded);
          from = q + 1;
        }
        // An unknown reference stays literal text (sax's non-strict mode did the same).
      } else if (!terminated && q === end) {
        if (amp > from) this._appendText(buf, from, amp);
        return amp; // the reference may continue in the next chunk
      }
      amp = -1;
      for (let k = Math.max(from, q); k < end; k++) {
        if (buf[k] === AMP) {
          amp = k;
          break;
        }
      }
    }
    if (from >= end) return end;
    const complete = terminated ? end : completeUtf8End(buf, from, end);
    if (complete > from) this._appendText(buf, from, complete);
    return complete;
  }

  private _appendText(buf: Buffer, start: number, end: number): void {
    const frame = this._frames[this._depth - 1]!;
    if (frame.match) {
      if (frame.spanBuf === undefined && frame.text === '') {
        frame.spanBuf = buf;
        frame.spanStart = start;
        frame.spanEnd = end;
        return;
      }
      this._unspan(frame);
    }
    frame.text += buf.toString('utf8', start, end);
  }

  private _appendString(text: string): void {
    const frame = this._frames[this._depth - 1]!;
    if (frame.match) this._unspan(frame);
    frame.text += text;
  }

  /** A name that is not one plain byte span after all (entity, CDATA, chunk boundary): make it a string. */
  private _unspan(frame: Frame): void {
    if (frame.spanBuf !== undefined) {
      frame.text = frame.spanBuf.toString('utf8', frame.spanStart, frame.spanEnd);
      frame.spanBuf = undefined;
    }
  }

  /** Markup starting with the '<' at `lt`: returns the position after it, or -1 when it is cut by the chunk end. */
  private _markup(buf: Buffer, lt: number): number {
    const len = buf.length;
    if (lt + 1 >= len) return -1;
    const second = buf[lt + 1];
    if (second === BANG) {
      if (startsWithAt(buf, lt, COMMENT_OPEN)) {
        this._mode = MODE_COMMENT;
        return lt + COMMENT_OPEN.length;
      }
      if (startsWithAt(buf, lt, CDATA_OPEN)) {
        this._mode = MODE_CDATA;
        return lt + CDATA_OPEN.length;
      }
      if (isCutPrefix(buf, lt, COMMENT_OPEN) || isCutPrefix(buf, lt, CDATA_OPEN)) return -1;
      this._mode = MODE_DECL;
      return lt + 2;
    }
    if (second === QUESTION) {
      this._mode = MODE_PI;
      return lt + 2;
    }
    // An element tag: find its '>' (outside quoted attribute values, which XML-RPC does not use but XML allows).
    let gt = lt + 1;
    let quote = 0;
    for (; gt < len; gt++) {
      const b = buf[gt];
      if (quote !== 0) {
        if (b === quote) quote = 0;
      } else if (b === GT) {
        break;
      } else if (b === DOUBLE_QUOTE || b === SINGLE_QUOTE) {
        quote = b;
      }
    }
    if (gt >= len) {
      if (len - lt > MAX_MARKUP_BYTES) throw decodeError('tag too long', this._bufferOffset + lt);
      return -1;
    }
    const closing = second === SLASH;
    const selfClosing = !closing && buf[gt - 1] === SLASH;
    if (this._skipDepth > 0) {
      if (closing) {
        if (--this._skipDepth === 0) this._updateCollecting();
      } else if (!selfClosing && ++this._skipDepth + this._depth > MAX_XMLRPC_DEPTH) {
        throw decodeError('elements nested too deep', this._bufferOffset + lt);
      }
      return gt + 1;
    }
    const nameStart = closing ? lt + 2 : lt + 1;
    let nameEnd = nameStart;
    while (nameEnd < gt) {
      const b = buf[nameEnd];
      if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === SLASH) break;
      nameEnd++;
    }
    const kind = tagKind(buf, nameStart, nameEnd);
    const offset = this._bufferOffset + lt;
    if (closing) {
      this._close(kind, offset);
    } else if (this._open(kind, offset, selfClosing) && selfClosing) {
      this._close(kind, offset);
    }
    return gt + 1;
  }

  // ---- elements --------------------------------------------------------------------------------------------------

  /** Returns whether a frame was pushed (false when the element's value is skipped). */
  private _open(kind: number, offset: number, selfClosing: boolean): boolean {
    if (this._done) throw decodeError('content after </methodResponse>', offset);
    if (kind === UNKNOWN) throw decodeError('unknown element', offset);
    const parent = this._frames[this._depth - 1]!;
    const parentKind = parent.kind;
    let allowed: boolean;
    switch (kind) {
      case METHOD_RESPONSE:
        allowed = parentKind === DOCUMENT;
        this._rootSeen = true;
        break;
      case PARAMS:
      case FAULT:
        allowed = parentKind === METHOD_RESPONSE && !parent.hasValue;
        break;
      case PARAM:
        allowed = parentKind === PARAMS;
        break;
      case VALUE:
        if (parentKind === PARAM || parentKind === FAULT || parentKind === MEMBER) {
          if (parent.hasValue) throw decodeError('more than one <value>', offset);
          if (parent.skip) {
            // An unwanted field of a projected record: count tags until its </value>, decode nothing.
            parent.hasValue = true;
            if (!selfClosing) {
              this._skipDepth = 1;
              this._collecting = false;
            }
            return false;
          }
          allowed = true;
        } else {
          allowed = parentKind === ARRAY || parentKind === DATA;
        }
        break;
      case MEMBER:
        allowed = parentKind === STRUCT;
        break;
      case NAME:
        allowed = parentKind === MEMBER && parent.name === undefined;
        break;
      case DATA:
        allowed = parentKind === ARRAY;
        break;
      default:
        // struct, array and the scalar types are the typed content of a <value>.
        allowed = parentKind === VALUE && !parent.typed;
        if (allowed) {
          parent.typed = true;
          parent.text = '';
        }
    }
    if (!allowed) throw decodeError('element not allowed here', offset);
    if (this._depth >= MAX_XMLRPC_DEPTH) throw decodeError('elements nested too deep', offset);
    const frame = (this._frames[this._depth] ??= new Frame());
    frame.reset(kind, offset);
    this._depth++;
    switch (kind) {
      case STRUCT:
        if (this._fields !== undefined) frame.role = this._structRole();
        break;
      case ARRAY:
        frame.array = [];
        break;
      case DATA:
        frame.array = parent.array;
        break;
      case NAME:
        frame.match = this._fields !== undefined && this._frames[this._depth - 3]!.role === ROLE_RECORD;
        break;
    }
    this._updateCollecting();
    return true;
  }

  /** Role of the struct just pushed, from its holders: the envelope, Value's record map, or one record. */
  private _structRole(): number {
    const holder = this._frames[this._depth - 3]!; // struct ← value ← holder
    if (holder.kind === PARAM) return ROLE_ENVELOPE;
    if (holder.kind !== MEMBER) return ROLE_NONE;
    const owner = this._frames[this._depth - 4]!;
    if (owner.role === ROLE_ENVELOPE && holder.name === 'Value') return ROLE_RECORD_MAP;
    if (owner.role === ROLE_RECORD_MAP) return ROLE_RECORD;
    return ROLE_NONE;
  }

  private _close(kind: number, offset: number): void {
    const frame = this._frames[this._depth - 1]!;
    if (kind === UNKNOWN || frame.kind !== kind || this._depth <= 1) throw decodeError('closing tag does not match', offset);
    this._depth--;
    const parent = this._frames[this._depth - 1]!;
    switch (kind) {
      case VALUE:
        this._deliver(parent, frame.typed ? frame.value! : frame.text, offset);
        break;
      case STRUCT:
        parent.value = this._buildStruct(frame);
        break;
      case ARRAY:
        parent.value = frame.array;
        break;
      case DATA:
        break;
      case NAME:
        if (frame.match) {
          const name = frame.spanBuf !== undefined ? this._fields!.matchBytes(frame.spanBuf, frame.spanStart, frame.spanEnd) : this._fields!.matchText(frame.text);
          parent.name = name ?? '';
          parent.skip = name === undefined;
        } else {
          parent.name = frame.text;
        }
        break;
      case MEMBER:
        if (frame.name === undefined || !frame.hasValue) throw decodeError('<member> without <name> and <value>', frame.offset);
        if (!frame.skip) {
          parent.keys.push(frame.name);
          parent.values.push(frame.value!);
        }
        break;
      case PARAM:
        if (!frame.hasValue) throw decodeError('<param> without <value>', frame.offset);
        if (parent.hasValue) throw decodeError('more than one <param>', frame.offset);
        parent.value = frame.value;
        parent.hasValue = true;
        break;
      case PARAMS:
        if (!frame.hasValue) throw decodeError('<params> without <param>', frame.offset);
        parent.value = frame.value;
        parent.hasValue = true;
        break;
      case FAULT:
        throw faultError(frame.value, frame.offset);
      case METHOD_RESPONSE:
        if (!frame.hasValue) throw decodeError('<methodResponse> without <params>', frame.offset);
        this._result = frame.value;
        this._done = true;
        break;
      default:
        parent.value = scalarValue(kind, frame.text, frame.offset);
    }
    frame.reset(DOCUMENT, 0); // drop references to values and text
    this._updateCollecting();
  }

  /**
   * The object of a struct. V8 turns an object into a slow dictionary after 16 properties added by computed name
   * (`obj[key] = …`), which made a record take about 3× its size; a struct with more members is cloned from a
   * template with the same member names in the same order (built once per shape by JSON.parse, which makes fast
   * objects), so records of one class share one compact hidden class, as with the previous decoder's structuredClone.
   */
  private _buildStruct(frame: Frame): Record<string, XmlRpcValue> {
    const { keys, values } = frame;
    const count = keys.length;
    if (count > MAX_KEYED_FAST_PROPERTIES && count <= MAX_TEMPLATE_PROPERTIES && !keys.includes('__proto__')) {
      let shape = '';
      for (const key of keys) shape += `${key.length}:${key}`;
      let template = this._templates.get(shape);
      if (template === undefined && this._templates.size < MAX_TEMPLATES) {
        template = JSON.parse(JSON.stringify(Object.fromEntries(keys.map((key) => [key, null])))) as Record<string, XmlRpcValue>;
        this._templates.set(shape, template);
      }
      if (template !== undefined) {
        const struct = { ...template };
        for (let i = 0; i < count; i++) struct[keys[i]!] = values[i]!;
        return struct;
      }
    }
    const struct: Record<string, XmlRpcValue> = {};
    for (let i = 0; i < count; i++) setMember(struct, keys[i]!, values[i]!);
    return struct;
  }

  private _deliver(holder: Frame, value: XmlRpcValue, offset: number): void {
    switch (holder.kind) {
      case ARRAY:
      case DATA:
        holder.array!.push(value);
        return;
      case PARAM:
      case FAULT:
      case MEMBER:
        holder.value = value;
        holder.hasValue = true;
        return;
      default:
        throw decodeError('element not allowed here', offset);
    }
  }

  private _updateCollecting(): void {
    const top = this._frames[this._depth - 1]!;
    const kind = top.kind;
    this._collecting = this._skipDepth === 0 && (kind === NAME || (isScalarKind(kind) && kind !== NIL) || (kind === VALUE && !top.typed));
  }
}

function setMember(struct: Record<string, XmlRpcValue>, name: string, value: XmlRpcValue): void {
  // A member named __proto__ is data, not the object's prototype.
  if (name === '__proto__') Object.defineProperty(struct, name, { value, writable: true, enumerable: true, configurable: true });
  else struct[name] = value;
}

const INTEGER = /^-?\d+$/;

function scalarValue(kind: number, text: string, offset: number): XmlRpcValue {
  switch (kind) {
    case STRING:
      return text;
    case INT: {
      const value = parseInt(text, 10);
      if (Number.isNaN(value)) throw decodeError('invalid <int>', offset);
      return value;
    }
    case I8:
      // Kept as the decimal string (an int64 does not fit a double), as xapi sends int64 without a type tag.
      if (!INTEGER.test(text)) throw decodeError('invalid <i8>', offset);
      return text;
    case BOOLEAN:
      if (text === '1') return true;
      if (text === '0') return false;
      throw decodeError('invalid <boolean>', offset);
    case DOUBLE:
      try {
        return parseXapiDouble(text);
      } catch {
        throw decodeError('invalid <double>', offset); // no cause: its message would quote the body
      }
    case DATE_TIME:
      try {
        return new Date(parseXapiDateTime(text));
      } catch {
        throw decodeError('invalid <dateTime.iso8601>', offset);
      }
    case BASE64:
      return Buffer.from(text, 'base64');
    default:
      return null; // <nil/>
  }
}

function faultError(value: XmlRpcValue | undefined, offset: number): XapiError {
  // XAPI itself never answers with <fault>; something else (a proxy, another XML-RPC server) did.
  const fault = value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value) ? value : {};
  return new XapiError(XapiErrorCode.PROTOCOL, 'XML-RPC fault instead of an XAPI answer', {
    details: { faultCode: fault['faultCode'], faultString: String(fault['faultString'] ?? ''), offset },
  });
}

function isEntityNameByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || (b >= 0x30 && b <= 0x39) || b === 0x23;
}

/** The character of `&name;` (`buf[start, end)` = name), or undefined when it is not an XML or character reference. */
function decodeEntity(buf: Buffer, start: number, end: number): string | undefined {
  const length = end - start;
  if (length === 0) return undefined;
  if (buf[start] === 0x23) {
    let k = start + 1;
    const hex = k < end && (buf[k] === 0x78 || buf[k] === 0x58);
    if (hex) k++;
    if (k === end) return undefined;
    let code = 0;
    for (; k < end; k++) {
      const b = buf[k]!;
      let digit: number;
      if (b >= 0x30 && b <= 0x39) digit = b - 0x30;
      else if (hex && b >= 0x61 && b <= 0x66) digit = b - 0x57;
      else if (hex && b >= 0x41 && b <= 0x46) digit = b - 0x37;
      else return undefined;
      code = code * (hex ? 16 : 10) + digit;
      if (code > 0x10ffff) return undefined;
    }
    return code === 0 ? undefined : String.fromCodePoint(code);
  }
  const name = buf.toString('latin1', start, end).toLowerCase();
  switch (name) {
    case 'lt':
      return '<';
    case 'gt':
      return '>';
    case 'amp':
      return '&';
    case 'quot':
      return '"';
    case 'apos':
      return "'";
    default:
      return undefined;
  }
}

/** End of the last complete UTF-8 character in `buf[start, end)` (a character cut by the chunk end is left out). */
function completeUtf8End(buf: Buffer, start: number, end: number): number {
  let k = end - 1;
  let continuation = 0;
  while (k >= start && continuation < 3 && (buf[k]! & 0xc0) === 0x80) {
    k--;
    continuation++;
  }
  if (k < start) return end;
  const lead = buf[k]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return k + size > end ? k : end;
}

function startsWithAt(buf: Buffer, at: number, marker: Buffer): boolean {
  if (at + marker.length > buf.length) return false;
  for (let k = 0; k < marker.length; k++) if (buf[at + k] !== marker[k]) return false;
  return true;
}

/** The chunk ends inside what may still become `marker`. */
function isCutPrefix(buf: Buffer, at: number, marker: Buffer): boolean {
  const available = buf.length - at;
  if (available >= marker.length) return false;
  for (let k = 0; k < available; k++) if (buf[at + k] !== marker[k]) return false;
  return true;
}

/** `%.16g` output of OCaml: `1`, `0.5`, `1e+20`, `inf`, `-inf`, `nan`, `-nan`. */
export function parseXapiDouble(data: string): number {
  const text = data.trim().toLowerCase();
  switch (text) {
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Infinity;
    case '-inf':
    case '-infinity':
      return -Infinity;
    case 'nan':
    case '-nan':
    case '+nan':
      return NaN;
  }
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`Expected a double but got '${data}'`);
  return value;
}

const DATE_TIME_FORMAT = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** XAPI dateTime (`20240101T12:00:00Z`, `…+01:00`, no zone = UTC) → unix ms. */
export function parseXapiDateTime(data: string): number {
  const m = DATE_TIME_FORMAT.exec(data.trim());
  if (m === null) throw new Error(`Expected an ISO 8601 dateTime but got '${data}'`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (frac !== undefined) ms += Math.round(Number(frac) * 1000);
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
    ms -= sign * offsetMinutes * 60_000;
  }
  return ms;
}
