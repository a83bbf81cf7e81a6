// XML-RPC codec for XAPI: the `xmlrpc` package's serializer for requests, our own incremental decoder
// (xmlrpc-decoder.ts) for responses.
//
// What `xmlrpc` 1.3.2 gets wrong for XAPI (each one is proven in codec.test.ts):
// - Its deserializer rejects `<double>inf</double>` / `nan` (xapi prints floats with OCaml `%.16g`) and decodes a
//   dateTime without a zone in the agent's *local* time, while xapi's times are UTC.
// - It writes every integral JS number as `<int>`, so an `event.from` timeout of 60 would go out as an int:
//   `XapiDouble` (an `xmlrpc` CustomType) always writes `<double>`.
// - Its Client has no timeout, abort signal, size cap or status handling (a 401 HTML page becomes "Unknown XML-RPC
//   tag 'HTML'"), so the transport (transport.ts) is our own.
// Its SAX deserializer was replaced because of memory: it needs the whole body (47 MB for `VM.get_all_records` of
// 6,400 VMs), decodes every field of every record, and its strings are slices of the body text (hence a
// structuredClone of the result). Measured by bench/xmlrpc-decode.ts on that body: 300 MiB of peak RSS and 5 CPU-s,
// against 33 MiB and 0.35 CPU-s for the incremental decoder fed 64 KiB chunks with the projection pool.ts uses (heap
// after GC with the result kept: 23 MiB vs 10 MiB); README.md has the table. The package's deserializer stays in the tests
// as the reference of a differential test (xmlrpc-decoder.test.ts).
import { createRequire } from 'node:module';
import { XmlRpcResponseDecoder, type XmlRpcDecodeOptions, type XmlRpcValue } from './xmlrpc-decoder.ts';
import { XapiError, XapiErrorCode, errorFromXapiFailure } from './errors.ts';

export { XmlRpcResponseDecoder, parseXapiDateTime, parseXapiDouble } from './xmlrpc-decoder.ts';
export type { XmlRpcDecodeOptions, XmlRpcValue } from './xmlrpc-decoder.ts';

const require = createRequire(import.meta.url);

interface XmlBuilderNode {
  ele(name: string): XmlBuilderNode;
  txt(text: string): XmlBuilderNode;
}
interface SerializerModule {
  serializeMethodCall(method: string, params: unknown[], encoding?: string): string;
}
type CustomTypeCtor = new (raw: string) => { raw: string; tagName: string; serialize(xml: XmlBuilderNode): XmlBuilderNode };

const Serializer = require('xmlrpc/lib/serializer.js') as SerializerModule;
const CustomType = require('xmlrpc/lib/customtype.js') as CustomTypeCtor;

/** A float parameter that must be sent as `<double>` even when integral (e.g. the `event.from` timeout). */
export class XapiDouble extends CustomType {
  constructor(value: number) {
    super(formatDouble(value));
  }
}
XapiDouble.prototype.tagName = 'double';

function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

/** Builds an XML-RPC `methodCall` body (strings as `<string>`, CDATA when they hold `<` or `&`). */
export function encodeMethodCall(method: string, params: readonly unknown[]): string {
  return Serializer.serializeMethodCall(method, [...params]);
}

/**
 * Parses a whole XML-RPC `methodResponse` body into a plain value (untyped `<value>` = string, dateTime = Date). The
 * client streams responses through XmlRpcResponseDecoder instead; this is for callers that hold a complete body.
 */
export function decodeMethodResponse(body: Buffer | string, options?: XmlRpcDecodeOptions): Promise<XmlRpcValue> {
  try {
    const decoder = new XmlRpcResponseDecoder(options);
    decoder.write(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    return Promise.resolve(decoder.end());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Unwraps XAPI's `{Status, Value}` / `{Status, ErrorDescription}` envelope. Failures become coded errors with every
 * `secrets` entry (session id, password) redacted.
 */
export function unwrapXapiResult(response: XmlRpcValue, secrets: readonly string[]): XmlRpcValue {
  if (response === null || typeof response !== 'object' || Array.isArray(response) || response instanceof Date || Buffer.isBuffer(response)) {
    throw new XapiError(XapiErrorCode.PROTOCOL, 'XAPI answer is not a Status struct');
  }
  const status = response['Status'];
  if (status === 'Success') return response['Value'] ?? '';
  if (status === 'Failure') throw errorFromXapiFailure(response['ErrorDescription'], secrets);
  throw new XapiError(XapiErrorCode.PROTOCOL, 'XAPI answer has an unknown Status', { details: { status: String(status) } });
}
