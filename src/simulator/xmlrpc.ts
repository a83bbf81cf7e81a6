// XML-RPC as xapi speaks it (notes/xapi.md §4.1): the encoder reproduces ocaml-rpc's `Xmlrpc.string_of_response`
// byte for byte (compact, bare strings, int64 as strings, `%.16g` doubles, unescaped map keys); the decoder accepts
// what xapi's parser accepts (typed and untyped values, whitespace between elements).
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A value that XML-RPC writes under a type tag a plain JS value does not carry. */
class RpcTagged<T> {
  readonly value: T;
  constructor(value: T) {
    this.value = value;
  }
}
/** `<double>` (XenAPI float). */
export class RpcDouble extends RpcTagged<number> {}
/** `<i4>` (only used for event.from valid_ref_counts). */
export class RpcInt32 extends RpcTagged<number> {}
/** `<dateTime.iso8601>` from unix milliseconds. */
export class RpcDateTime extends RpcTagged<number> {}
/** An already-encoded `<value>…</value>` fragment (cached records). */
export class RpcRaw extends RpcTagged<string> {}
/** Struct with members in insertion order. */
export type RpcStruct = Map<string, RpcValue>;
export type RpcValue = string | boolean | RpcDouble | RpcInt32 | RpcDateTime | RpcRaw | RpcValue[] | RpcStruct;

/** XML escaping of ocaml-rpc (`Xmlrpc.encode`): `<`, `>`, `&`, `"`; control characters other than TAB/LF/CR dropped. */
export function escapeXml(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[<>&"\x00-\x08\x0b\x0c\x0e-\x1f]/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '&') out += '&amp;';
    else if (ch === '"') out += '&quot;';
    else if (c < 0x20 && c !== 9 && c !== 10 && c !== 13) continue;
    else out += ch;
  }
  return out;
}

/** C `printf("%.16g")`, as OCaml's `Printf.sprintf "%.16g"` prints it (`inf`, `-inf`, `nan`). */
export function formatG16(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  // toExponential gives the exact decimal exponent after rounding to 16 significant digits.
  const expStr = x.toExponential(15);
  const m = /^(-?)(\d(?:\.\d+)?)e([+-]\d+)$/.exec(expStr);
  if (m === null) return String(x);
  const e = Number(m[3]);
  if (e < -4 || e >= 16) {
    const mant = stripZeros(m[2] ?? '');
    const ae = Math.abs(e);
    return `${m[1]}${mant}e${e < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  return stripZeros(x.toFixed(Math.max(0, 15 - e)));
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

/** `Date.to_rfc3339` in its XML-RPC form: `YYYYMMDDTHH:MM:SSZ`. */
export function formatXapiDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}Z`;
}

export function encodeValue(v: RpcValue): string {
  if (typeof v === 'string') return `<value>${escapeXml(v)}</value>`;
  if (typeof v === 'boolean') return v ? '<value><boolean>1</boolean></value>' : '<value><boolean>0</boolean></value>';
  if (v instanceof RpcRaw) return v.value;
  if (v instanceof RpcDouble) return `<value><double>${formatG16(v.value)}</double></value>`;
  if (v instanceof RpcInt32) return `<value><i4>${v.value}</i4></value>`;
  if (v instanceof RpcDateTime) return `<value><dateTime.iso8601>${formatXapiDate(v.value)}</dateTime.iso8601></value>`;
  if (Array.isArray(v)) {
    let s = '<value><array><data>';
    for (const e of v) s += encodeValue(e);
    return s + '</data></array></value>';
  }
  let s = '<value><struct>';
  // Member names are written without escaping, as ocaml-rpc's add_member does.
  for (const [k, e] of v) s += `<member><name>${k}</name>${encodeValue(e)}</member>`;
  return s + '</struct></value>';
}

const RESPONSE_HEAD = '<?xml version="1.0"?><methodResponse><params><param>';
const RESPONSE_TAIL = '</param></params></methodResponse>';

export function successResponse(value: RpcValue): string {
  return `${RESPONSE_HEAD}<value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name>${encodeValue(value)}</member></struct></value>${RESPONSE_TAIL}`;
}

/**
 * A complete, already encoded methodResponse (UTF-8 bytes). A method may return one instead of a value when it
 * caches whole responses (get_all_records of a big class); the dispatcher passes it through unchanged.
 */
export class RpcResponseBytes {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

/** The bytes of `successResponse(x)` before and after the encoded value x. */
export const SUCCESS_HEAD = successResponse(new RpcRaw('\u0000')).split('\u0000')[0]!;
export const SUCCESS_TAIL = successResponse(new RpcRaw('\u0000')).split('\u0000')[1]!;

export function failureResponse(code: string, params: readonly string[]): string {
  return `${RESPONSE_HEAD}<value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name>${encodeValue([code, ...params])}</member></struct></value>${RESPONSE_TAIL}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

export type DecodedValue = string | number | boolean | null | DecodedValue[] | { [k: string]: DecodedValue };

export interface MethodCall {
  method: string;
  params: DecodedValue[];
}

export class XmlRpcParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlRpcParseError';
  }
}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  trimValues: false,
  parseTagValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: true,
  htmlEntities: false,
});

function tagOf(n: Node): string | undefined {
  for (const k of Object.keys(n)) if (k !== ':@' && k !== '#text') return k;
  return undefined;
}
function childrenOf(n: Node): Node[] {
  const t = tagOf(n);
  return t === undefined ? [] : ((n[t] as Node[] | undefined) ?? []);
}
function textOf(nodes: Node[]): string {
  let s = '';
  for (const c of nodes) if ('#text' in c) s += String(c['#text']);
  return s;
}
function elements(nodes: Node[]): Node[] {
  return nodes.filter((c) => tagOf(c) !== undefined);
}
function only(nodes: Node[], tag: string): Node {
  const els = elements(nodes);
  const first = els[0];
  if (els.length !== 1 || first === undefined || tagOf(first) !== tag) throw new XmlRpcParseError(`expected <${tag}>`);
  return first;
}

function decodeValueNode(valueNode: Node): DecodedValue {
  const kids = childrenOf(valueNode);
  const els = elements(kids);
  const typed = els[0];
  if (typed === undefined) return textOf(kids); // untyped <value>text</value> is a string
  const tag = tagOf(typed) ?? '';
  const inner = childrenOf(typed);
  switch (tag) {
    case 'string':
      return textOf(inner);
    case 'int':
    case 'i4':
    case 'i8': {
      const t = textOf(inner).trim();
      if (!/^[+-]?\d+$/.test(t)) throw new XmlRpcParseError(`bad integer ${t}`);
      return Number(t);
    }
    case 'double': {
      const t = textOf(inner).trim();
      const n = t === 'inf' ? Infinity : t === '-inf' ? -Infinity : Number(t);
      if (t === '' || (Number.isNaN(n) && t !== 'nan')) throw new XmlRpcParseError(`bad double ${t}`);
      return n;
    }
    case 'boolean': {
      const t = textOf(inner).trim();
      if (t === '1' || t === 'true') return true;
      if (t === '0' || t === 'false') return false;
      throw new XmlRpcParseError(`bad boolean ${t}`);
    }
    case 'dateTime.iso8601':
    case 'base64':
      return textOf(inner);
    case 'nil':
      return null;
    case 'array': {
      const data = only(inner, 'data');
      return elements(childrenOf(data)).map((v) => {
        if (tagOf(v) !== 'value') throw new XmlRpcParseError('expected <value> in <data>');
        return decodeValueNode(v);
      });
    }
    case 'struct': {
      const out: { [k: string]: DecodedValue } = {};
      for (const m of elements(inner)) {
        if (tagOf(m) !== 'member') throw new XmlRpcParseError('expected <member>');
        const mk = elements(childrenOf(m));
        const nameNode = mk.find((x) => tagOf(x) === 'name');
        const valNode = mk.find((x) => tagOf(x) === 'value');
        if (nameNode === undefined || valNode === undefined) throw new XmlRpcParseError('bad <member>');
        out[textOf(childrenOf(nameNode))] = decodeValueNode(valNode);
      }
      return out;
    }
    default:
      throw new XmlRpcParseError(`unknown value type <${tag}>`);
  }
}

export function parseMethodCall(xml: string): MethodCall {
  if (XMLValidator.validate(xml) !== true) throw new XmlRpcParseError('malformed XML');
  const doc = parser.parse(xml) as Node[];
  const call = only(doc, 'methodCall');
  const parts = elements(childrenOf(call));
  const nameNode = parts.find((x) => tagOf(x) === 'methodName');
  if (nameNode === undefined) throw new XmlRpcParseError('no <methodName>');
  const method = textOf(childrenOf(nameNode)).trim();
  const paramsNode = parts.find((x) => tagOf(x) === 'params');
  const params: DecodedValue[] = [];
  if (paramsNode !== undefined) {
    for (const p of elements(childrenOf(paramsNode))) {
      if (tagOf(p) !== 'param') throw new XmlRpcParseError('expected <param>');
      params.push(decodeValueNode(only(childrenOf(p), 'value')));
    }
  }
  return { method, params };
}

/** Decodes a methodResponse (used by tests and tools that talk to the simulator). */
export function parseMethodResponse(xml: string): DecodedValue {
  if (XMLValidator.validate(xml) !== true) throw new XmlRpcParseError('malformed XML');
  const doc = parser.parse(xml) as Node[];
  const resp = only(doc, 'methodResponse');
  const params = only(childrenOf(resp), 'params');
  const param = only(childrenOf(params), 'param');
  return decodeValueNode(only(childrenOf(param), 'value'));
}
