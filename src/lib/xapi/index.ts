// Public surface of the XAPI client library (chosen by hand; see STYLE.md §2).
export { createXapiPool, encodeQuery } from './pool.ts';
export type { XapiPoolTuning } from './pool.ts';
export { XapiError, XapiErrorCode, isXapiError, xapiFailureCode } from './errors.ts';
export type { XapiErrorCodeValue } from './errors.ts';
export { XapiDouble, XmlRpcResponseDecoder, decodeMethodResponse, encodeMethodCall, parseXapiDateTime, parseXapiDouble, unwrapXapiResult } from './codec.ts';
export type { XmlRpcDecodeOptions, XmlRpcValue } from './codec.ts';
export { toInt, toUnixMs } from './records.ts';
export { NULL_REF } from './types.ts';
export { ResponseBuffer, ResponseBufferPool } from './response-buffer.ts';
export type * from './types.ts';
