// The previous response decoder, kept as the reference of the differential test and of bench/xmlrpc-decode.ts: the
// `xmlrpc` package's SAX deserializer with `endDouble` / `endDateTime` replaced (inf/nan, zone-less dateTimes in UTC)
// and a structuredClone of the result (its strings were V8 slices of the whole body). Test code only.
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import { parseXapiDateTime, parseXapiDouble, type XmlRpcValue } from '../xmlrpc-decoder.ts';

const require = createRequire(import.meta.url);

interface DeserializerInstance {
  deserializeMethodResponse(stream: NodeJS.ReadableStream, callback: (err: unknown, result: unknown) => void): void;
  push(value: unknown): void;
  value: boolean;
  endDouble(data: string): void;
  endDateTime(data: string): void;
}
type DeserializerCtor = new (encoding?: string) => DeserializerInstance;
const Deserializer = require('xmlrpc/lib/deserializer.js') as DeserializerCtor;

/** Decodes a whole body the way codec.ts did before the incremental decoder; rejects with the package's error. */
export function referenceDecode(body: Buffer | string): Promise<XmlRpcValue> {
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
      if (err !== null && err !== undefined) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(structuredClone(result) as XmlRpcValue);
    });
    input.end(body);
  });
}
