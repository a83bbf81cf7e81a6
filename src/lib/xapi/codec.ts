// XML-RPC codec for XAPI, built on the `xmlrpc` package's serializer and SAX deserializer.
//
// What `xmlrpc` 1.3.2 gets wrong for XAPI, and what this file does about it (each one is proven in codec.test.ts):
// - It rejects `<double>inf</double>` / `nan` (xapi prints floats with OCaml `%.16g`): the deserializer's
//   `endDouble` is replaced per instance.
// - It decodes a dateTime without a zone in the agent's *local* time; xapi's times are UTC: `endDateTime` is
//   replaced with a strict UTC parser.
// - It writes every integral JS number as `<int>`, so an `event.from` timeout of 60 would go out as an int:
//   `XapiDouble` (an `xmlrpc` CustomType) always writes `<double>`.
// - Its Client has no timeout, abort signal, size cap or status handling (a 401 HTML page becomes "Unknown XML-RPC
//   tag 'HTML'"), so the transport (transport.ts) is our own and only the codec is reused.
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { XapiError, XapiErrorCode, errorFromXapiFailure } from './errors.ts';

const require = createRequire(import.meta.url);

interface XmlBuilderNode {
  ele(name: string): XmlBuilderNode;
  txt(text: string): XmlBuilderNode;
}
interface SerializerModule {
  serializeMethodCall(method: string, params: unknown[], encoding?: string): string;
}
interface DeserializerInstance {
  deserializeMethodResponse(stream: NodeJS.ReadableStream, callback: (err: unknown, result: unknown) => void): void;
  push(value: unknown): void;
  value: boolean;
  endDouble(data: string): void;
  endDateTime(data: string): void;
}
type DeserializerCtor = new (encoding?: string) => DeserializerInstance;
type CustomTypeCtor = new (raw: string) => { raw: string; tagName: string; serialize(xml: XmlBuilderNode): XmlBuilderNode };

const Serializer = require('xmlrpc/lib/serializer.js') as SerializerModule;
const Deserializer = require('xmlrpc/lib/deserializer.js') as DeserializerCtor;
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

export type XmlRpcValue = string | number | boolean | Date | Buffer | null | XmlRpcValue[] | { [key: string]: XmlRpcValue };

/** Parses an XML-RPC `methodResponse` body into a plain value (untyped `<value>` = string, dateTime = Date). */
export function decodeMethodResponse(body: Buffer | string): Promise<XmlRpcValue> {
  return new Promise((resolve, reject) => {
    const deserializer = new Deserializer('utf8');
    deserializer.endDouble = function endDouble(this: DeserializerInstance, data: string) {
      this.push(parseXapiDouble(data));
      this.value = false;
    };
    deserializer.endDateTime = function endDateTime(this: DeserializerInstance, data: string) {
      this.push(new Date(parseXapiDateTime(data)));
      this.value = false;
    };
    let settled = false;
    const input = new PassThrough();
    deserializer.deserializeMethodResponse(input, (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) {
        const faultCode = (err as { faultCode?: unknown }).faultCode;
        if (faultCode !== undefined) {
          // XAPI itself never answers with <fault>; something else (a proxy, another XML-RPC server) did.
          const faultString = String((err as { faultString?: unknown }).faultString ?? '');
          reject(new XapiError(XapiErrorCode.PROTOCOL, 'XML-RPC fault instead of an XAPI answer', { cause: err, details: { faultCode, faultString } }));
        } else {
          reject(new XapiError(XapiErrorCode.PROTOCOL, 'response is not XML-RPC', { cause: err }));
        }
        return;
      }
      // The decoded strings are V8 slices of the whole response text; without a copy every inventory record
      // keeps the full get_all_records body (tens of MB) alive for as long as the record lives.
      resolve(structuredClone(result) as XmlRpcValue);
    });
    input.end(body);
  });
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

const DATE_TIME = /^(\d{4})-?(\d{2})-?(\d{2})T(\d{2}):?(\d{2}):?(\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** XAPI dateTime (`20240101T12:00:00Z`, `…+01:00`, no zone = UTC) → unix ms. */
export function parseXapiDateTime(data: string): number {
  const m = DATE_TIME.exec(data.trim());
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
