// Reads google.rpc.RetryInfo out of the `grpc-status-details-bin` trailer (a serialised google.rpc.Status), which
// is how an OTLP/gRPC server says "RESOURCE_EXHAUSTED, but retry after this long" (OTLP spec, "OTLP/gRPC Throttling").
//
//   google.rpc.Status { int32 code = 1; string message = 2; repeated google.protobuf.Any details = 3; }
//   google.protobuf.Any { string type_url = 1; bytes value = 2; }
//   google.rpc.RetryInfo { google.protobuf.Duration retry_delay = 1; }
//   google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2; }

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

interface Field {
  readonly field: number;
  readonly wireType: number;
  readonly value: number | Uint8Array;
}

function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let value = 0;
    let mul = 1;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++]!;
      value += (b & 127) * mul;
      if (b < 128) return value;
      mul *= 128;
    }
  };
  while (pos < buf.length) {
    const tag = varint();
    const wireType = tag & 7;
    const field = Math.floor(tag / 8);
    if (wireType === 0) yield { field, wireType, value: varint() };
    else if (wireType === 2) {
      const len = varint();
      if (pos + len > buf.length) throw new Error('truncated field');
      yield { field, wireType, value: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

/** The retry delay in milliseconds, or undefined when the status carries no (valid) RetryInfo. */
export function retryDelayFromStatusDetails(statusBin: Uint8Array | undefined): number | undefined {
  if (statusBin === undefined) return undefined;
  try {
    for (const detail of fields(statusBin)) {
      if (detail.field !== 3 || !(detail.value instanceof Uint8Array)) continue;
      let typeUrl = '';
      let payload: Uint8Array | undefined;
      for (const f of fields(detail.value)) {
        if (f.field === 1 && f.value instanceof Uint8Array) typeUrl = Buffer.from(f.value).toString('utf8');
        if (f.field === 2 && f.value instanceof Uint8Array) payload = f.value;
      }
      if (typeUrl !== RETRY_INFO_TYPE_URL || payload === undefined) continue;
      for (const f of fields(payload)) {
        if (f.field !== 1 || !(f.value instanceof Uint8Array)) continue;
        let seconds = 0;
        let nanos = 0;
        for (const d of fields(f.value)) {
          if (d.field === 1 && typeof d.value === 'number') seconds = d.value;
          if (d.field === 2 && typeof d.value === 'number') nanos = d.value;
        }
        return seconds * 1000 + nanos / 1e6;
      }
    }
  } catch {
    return undefined; // malformed details: treat as absent
  }
  return undefined;
}

/** Builds a Status with RetryInfo (used by the test receiver; kept beside the parser so they agree). */
export function encodeStatusWithRetryInfo(code: number, message: string, delayMs: number): Buffer {
  const varint = (v: number): number[] => {
    const out: number[] = [];
    while (v >= 128) {
      out.push((v % 128) | 128);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return out;
  };
  const ld = (field: number, body: Uint8Array): Buffer => Buffer.from([...varint(field * 8 + 2), ...varint(body.length), ...body]);
  const seconds = Math.floor(delayMs / 1000);
  const nanos = Math.round((delayMs - seconds * 1000) * 1e6);
  const duration = Buffer.from([...(seconds ? [0x08, ...varint(seconds)] : []), ...(nanos ? [0x10, ...varint(nanos)] : [])]);
  const retryInfo = ld(1, duration);
  const any = Buffer.concat([ld(1, Buffer.from(RETRY_INFO_TYPE_URL)), ld(2, retryInfo)]);
  return Buffer.concat([Buffer.from([0x08, ...varint(code)]), ld(2, Buffer.from(message)), ld(3, any)]);
}
