// Hand-written OTLP protobuf encoder for our columnar model (otel-js.md Q1 option B, without per-point objects).
//
// Each ResourceMetricsData becomes one *fragment*: a complete ExportMetricsServiceRequest holding exactly one
// `resource_metrics` entry (field 1). Protobuf appends repeated fields of concatenated messages, so fragments
// written one after the other make one valid request with N resources; the packer relies on that and writes them
// straight into a request buffer it reuses (`ResourceEncoder`: measure, then write), so a cycle allocates no
// buffer per resource and no concatenated copy.
//
// Why not the upstream ProtobufMetricsSerializer here: it needs an SDK DataPoint (an object plus two HrTime arrays)
// per point. This encoder computes every length arithmetically from the columns before writing, and reuses the
// encoded bytes of attribute sets, metric headers and the scope. The upstream path stays as a tested fallback
// (`sdk-encoder.ts`); both decode to the same request (see the tests).
//
// Field numbers (opentelemetry-proto v1.4.0):
//   ExportMetricsServiceRequest: 1 resource_metrics
//   ResourceMetrics: 1 resource, 2 scope_metrics          Resource: 1 attributes
//   ScopeMetrics: 1 scope, 2 metrics                      InstrumentationScope: 1 name, 2 version
//   Metric: 1 name, 2 description, 3 unit, 5 gauge, 7 sum
//   Gauge: 1 data_points     Sum: 1 data_points, 2 aggregation_temporality, 3 is_monotonic
//   NumberDataPoint: 2 start_time_unix_nano (fixed64), 3 time_unix_nano (fixed64), 4 as_double, 6 as_int (sfixed64),
//                    7 attributes
//   KeyValue: 1 key, 2 value      AnyValue: 1 string, 2 bool, 3 int (varint int64), 4 double

import type { Attributes, AttributeValue, MetricData, MetricDefinition, ResourceMetricsData, SeriesData } from '../../plugin-api/index.ts';
import type { InstrumentationScope } from '../types.ts';

/** One resource (or a slice of one) encoded as a complete single-resource ExportMetricsServiceRequest. */
export interface Fragment {
  readonly bytes: Buffer;
  readonly points: number;
  readonly key: string;
  /** What was encoded, so a fragment the server refuses as too large can be split again. */
  readonly source: ResourceMetricsData;
}

const TAG_RESOURCE_METRICS = 0x0a; // field 1, length-delimited
const TAG_RESOURCE = 0x0a;
const TAG_SCOPE_METRICS = 0x12;
const TAG_SCOPE = 0x0a;
const TAG_METRIC = 0x12;
const TAG_GAUGE = 0x2a;
const TAG_SUM = 0x3a;
const TAG_DATA_POINT = 0x0a;
const TAG_START_TIME = 0x11;
const TAG_TIME = 0x19;
const TAG_AS_DOUBLE = 0x21;
const TAG_AS_INT = 0x31;
const SUM_CUMULATIVE_AND_MONOTONIC_MAX = 4; // 0x10 0x02, 0x18 0x01
const TWO_POW_32 = 4294967296;

export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

const utf8 = new TextEncoder();

// ---- small cached encodings (few distinct objects per cycle, reused across resources and cycles) ----

/** Encoded bytes of an attribute set as repeated KeyValue under `field`; cached per object (receivers reuse them). */
const pointAttributeCache = new WeakMap<Attributes, Uint8Array>();
const resourceCache = new WeakMap<Attributes, Uint8Array>();
const metricHeaderCache = new WeakMap<MetricDefinition, Uint8Array>();
const EMPTY = new Uint8Array(0);

class GrowableWriter {
  private _buf = new Uint8Array(256);
  private _view = new DataView(this._buf.buffer);
  pos = 0;

  private _ensure(n: number): void {
    if (this.pos + n <= this._buf.length) return;
    let size = this._buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this._buf.subarray(0, this.pos));
    this._buf = next;
    this._view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this._ensure(1);
    this._buf[this.pos++] = b;
  }

  varint(v: number): void {
    this._ensure(10);
    if (v < 0) {
      // int64 two's complement, 10 bytes; only negative integer attributes get here.
      let big = BigInt.asUintN(64, BigInt(v));
      while (big > 127n) {
        this._buf[this.pos++] = Number(big & 127n) | 128;
        big >>= 7n;
      }
      this._buf[this.pos++] = Number(big);
      return;
    }
    while (v >= 128) {
      this._buf[this.pos++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    this._buf[this.pos++] = v;
  }

  double(v: number): void {
    this._ensure(8);
    this._view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    this._ensure(b.length);
    this._buf.set(b, this.pos);
    this.pos += b.length;
  }

  lengthDelimited(tag: number, body: Uint8Array): void {
    this.byte(tag);
    this.varint(body.length);
    this.bytes(body);
  }

  string(tag: number, s: string): void {
    this.lengthDelimited(tag, utf8.encode(s));
  }

  finish(): Uint8Array {
    return this._buf.slice(0, this.pos);
  }
}

function encodeAnyValue(value: AttributeValue): Uint8Array {
  const w = new GrowableWriter();
  if (typeof value === 'string') w.string(0x0a, value);
  else if (typeof value === 'boolean') {
    w.byte(0x10);
    w.byte(value ? 1 : 0);
  } else if (Number.isInteger(value) && Number.isSafeInteger(value)) {
    w.byte(0x18);
    w.varint(value);
  } else {
    w.byte(0x21);
    w.double(value);
  }
  return w.finish();
}

function encodeKeyValues(attributes: Attributes, tag: number): Uint8Array {
  const w = new GrowableWriter();
  for (const key of Object.keys(attributes)) {
    const kv = new GrowableWriter();
    kv.string(0x0a, key);
    kv.lengthDelimited(0x12, encodeAnyValue(attributes[key]!));
    w.lengthDelimited(tag, kv.finish());
  }
  return w.finish();
}

function pointAttributes(attributes: Attributes): Uint8Array {
  let bytes = pointAttributeCache.get(attributes);
  if (bytes === undefined) {
    bytes = Object.keys(attributes).length === 0 ? EMPTY : encodeKeyValues(attributes, 0x3a);
    pointAttributeCache.set(attributes, bytes);
  }
  return bytes;
}

/** `resource` field of ResourceMetrics (tag included). */
function resourceField(attributes: Attributes): Uint8Array {
  let bytes = resourceCache.get(attributes);
  if (bytes === undefined) {
    const w = new GrowableWriter();
    w.lengthDelimited(TAG_RESOURCE, encodeKeyValues(attributes, 0x0a));
    bytes = w.finish();
    resourceCache.set(attributes, bytes);
  }
  return bytes;
}

/** name/description/unit fields of a Metric. */
function metricHeader(def: MetricDefinition): Uint8Array {
  let bytes = metricHeaderCache.get(def);
  if (bytes === undefined) {
    const w = new GrowableWriter();
    w.string(0x0a, def.name);
    if (def.description) w.string(0x12, def.description);
    if (def.unit) w.string(0x1a, def.unit);
    bytes = w.finish();
    metricHeaderCache.set(def, bytes);
  }
  return bytes;
}

/** `scope` field of ScopeMetrics (tag included). */
export function encodeScopeField(scope: InstrumentationScope): Uint8Array {
  const inner = new GrowableWriter();
  inner.string(0x0a, scope.name);
  if (scope.version) inner.string(0x12, scope.version);
  const w = new GrowableWriter();
  w.lengthDelimited(TAG_SCOPE, inner.finish());
  return w.finish();
}

// ---- sizes ----

function isSum(def: MetricDefinition): boolean {
  return def.kind === 'sum';
}

function pointSize(def: MetricDefinition, series: SeriesData, attributeBytes: number): number {
  return (isSum(def) && series.startTimeMs !== undefined ? 9 : 0) + 18 + attributeBytes;
}

function metricDataSize(metric: MetricData): number {
  let size = 0;
  const allSeries = metric.series;
  for (let s = 0; s < allSeries.length; s++) {
    const series = allSeries[s]!;
    const n = series.values.length;
    if (n === 0) continue;
    const ps = pointSize(metric.definition, series, pointAttributes(series.attributes).length);
    size += n * (1 + varintSize(ps) + ps);
  }
  if (isSum(metric.definition)) size += 2 + (metric.definition.monotonic ? 2 : 0);
  return size;
}

function metricPoints(metric: MetricData): number {
  let n = 0;
  const allSeries = metric.series;
  for (let s = 0; s < allSeries.length; s++) n += allSeries[s]!.values.length;
  return n;
}

function metricMessageSize(metric: MetricData, dataSize: number): number {
  return metricHeader(metric.definition).length + 1 + varintSize(dataSize) + dataSize;
}

// ---- the hot path ----

/**
 * Writes protobuf into a caller-supplied buffer (a fragment of its own, or a request buffer the exporter reuses);
 * timestamps are memoised because a batch has only a few distinct ones.
 */
export class ProtoWriter {
  readonly buf: Buffer;
  private readonly _view: DataView;
  pos = 0;
  private _lastMs = Number.NaN;
  private _lastLo = 0;
  private _lastHi = 0;

  constructor(buf: Buffer) {
    this.buf = buf;
    this._view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(v: number): void {
    while (v >= 128) {
      this.buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  double(v: number): void {
    this._view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  int64(v: number): void {
    let lo: number;
    let hi: number;
    if (v >= 0) {
      lo = v >>> 0;
      hi = (v / TWO_POW_32) >>> 0;
    } else {
      const abs = -v;
      lo = ~(abs >>> 0) >>> 0;
      hi = ~((abs / TWO_POW_32) >>> 0) >>> 0;
      lo = (lo + 1) >>> 0;
      if (lo === 0) hi = (hi + 1) >>> 0;
    }
    this._view.setUint32(this.pos, lo, true);
    this._view.setUint32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  /** Unix ms → fixed64 ns, exact for integer ms (and µs fractions) without BigInt. */
  timeMs(ms: number): void {
    if (ms !== this._lastMs) {
      const seconds = Math.floor(ms / 1000);
      const nanos = Math.round((ms - seconds * 1000) * 1e6);
      // seconds * 1e9 exceeds 2^53, so split seconds at 16 bits (the same idea as upstream writeHrTimeAsFixed64).
      const lowPart = (seconds % 65536) * 1e9 + nanos; // < 2^46, exact
      const highPart = Math.floor(seconds / 65536) * 1e9; // value is highPart * 2^16, exact
      const lowSum = (highPart % 65536) * 65536 + (lowPart % TWO_POW_32);
      this._lastLo = lowSum % TWO_POW_32;
      this._lastHi = Math.floor(highPart / 65536) + Math.floor(lowPart / TWO_POW_32) + Math.floor(lowSum / TWO_POW_32);
      this._lastMs = ms;
    }
    this._view.setUint32(this.pos, this._lastLo, true);
    this._view.setUint32(this.pos + 4, this._lastHi >>> 0, true);
    this.pos += 8;
  }
}

/**
 * Encodes resources in two steps: `measure` computes the exact encoded size from the columns, `write` then writes
 * the measured resource at the writer's position. The packer measures first so it can decide whether a resource
 * still fits in the current request before writing a byte; one instance holds one measured resource at a time
 * (its per-metric sizes are scratch reused from resource to resource).
 */
export class ResourceEncoder {
  private readonly _scopeField: Uint8Array;
  private readonly _dataSizes: number[] = [];
  private _resource: ResourceMetricsData | null = null;
  private _resourceField: Uint8Array = EMPTY;
  private _rmSize = 0;
  private _scopeMetricsSize = 0;
  /** Encoded size of the measured resource (a complete single-resource request); 0 when it holds no points. */
  size = 0;
  points = 0;

  constructor(scopeField: Uint8Array) {
    this._scopeField = scopeField;
  }

  /** Measures `rm` (replacing the previous measurement); returns its encoded size, 0 when it holds no points. */
  measure(rm: ResourceMetricsData): number {
    const metrics = rm.metrics;
    const dataSizes = this._dataSizes;
    let scopeMetricsSize = this._scopeField.length;
    let points = 0;
    for (let m = 0; m < metrics.length; m++) {
      const metric = metrics[m]!;
      const n = metricPoints(metric);
      if (n === 0) {
        dataSizes[m] = -1;
        continue;
      }
      points += n;
      const dataSize = metricDataSize(metric);
      dataSizes[m] = dataSize;
      const msg = metricMessageSize(metric, dataSize);
      scopeMetricsSize += 1 + varintSize(msg) + msg;
    }
    this._resource = rm;
    this.points = points;
    if (points === 0) {
      this.size = 0;
      return 0;
    }
    this._resourceField = resourceField(rm.resource);
    this._scopeMetricsSize = scopeMetricsSize;
    this._rmSize = this._resourceField.length + 1 + varintSize(scopeMetricsSize) + scopeMetricsSize;
    this.size = 1 + varintSize(this._rmSize) + this._rmSize;
    return this.size;
  }

  /** Writes the measured resource at `w.pos`; `w` must have `size` bytes left. */
  write(w: ProtoWriter): void {
    const rm = this._resource;
    if (rm === null || this.size === 0) throw new Error('otlp encoder: nothing measured to write');
    const start = w.pos;
    w.byte(TAG_RESOURCE_METRICS);
    w.varint(this._rmSize);
    w.bytes(this._resourceField);
    w.byte(TAG_SCOPE_METRICS);
    w.varint(this._scopeMetricsSize);
    w.bytes(this._scopeField);
    const metrics = rm.metrics;
    for (let m = 0; m < metrics.length; m++) {
      const dataSize = this._dataSizes[m]!;
      if (dataSize < 0) continue;
      writeMetric(w, metrics[m]!, dataSize);
    }
    if (w.pos - start !== this.size) throw new Error(`otlp encoder size mismatch: wrote ${w.pos - start} of ${this.size} bytes`);
  }
}

/**
 * Encodes one resource as a fragment with a buffer of its own. Returns null when it holds no points. Ignores size
 * bounds: use `encodeResourceBounded` to split.
 */
export function encodeResource(rm: ResourceMetricsData, scopeField: Uint8Array): Fragment | null {
  const encoder = new ResourceEncoder(scopeField);
  const size = encoder.measure(rm);
  if (size === 0) return null;
  const w = new ProtoWriter(Buffer.allocUnsafe(size));
  encoder.write(w);
  return { bytes: w.buf, points: encoder.points, key: rm.key, source: rm };
}

function writeMetric(w: ProtoWriter, metric: MetricData, dataSize: number): void {
  const def = metric.definition;
  const header = metricHeader(def);
  const sum = isSum(def);
  const asInt = def.valueType === 'int';
  w.byte(TAG_METRIC);
  w.varint(metricMessageSize(metric, dataSize));
  w.bytes(header);
  w.byte(sum ? TAG_SUM : TAG_GAUGE);
  w.varint(dataSize);
  const allSeries = metric.series;
  for (let s = 0; s < allSeries.length; s++) {
    const series = allSeries[s]!;
    const n = series.values.length;
    if (n === 0) continue;
    const attrs = pointAttributes(series.attributes);
    const ps = pointSize(def, series, attrs.length);
    const withStart = sum && series.startTimeMs !== undefined;
    const { timesMs, values } = series;
    for (let i = 0; i < n; i++) {
      w.byte(TAG_DATA_POINT);
      w.varint(ps);
      if (withStart) {
        w.byte(TAG_START_TIME);
        w.timeMs(series.startTimeMs!);
      }
      w.byte(TAG_TIME);
      w.timeMs(timesMs[i]!);
      if (asInt) {
        w.byte(TAG_AS_INT);
        w.int64(Math.trunc(values[i]!));
      } else {
        w.byte(TAG_AS_DOUBLE);
        w.double(values[i]!);
      }
      if (attrs.length > 0) w.bytes(attrs);
    }
  }
  if (sum) {
    w.byte(0x10);
    w.byte(2); // AGGREGATION_TEMPORALITY_CUMULATIVE: our sums are RRD counters since the series start
    if (def.monotonic) {
      w.byte(0x18);
      w.byte(1);
    }
  }
}

/** Encodes one resource, split into several fragments (same resource and scope) when it exceeds `maxBytes`. */
export function encodeResourceBounded(rm: ResourceMetricsData, scopeField: Uint8Array, maxBytes: number): Fragment[] {
  const whole = encodeResource(rm, scopeField);
  if (whole === null) return [];
  if (whole.bytes.length <= maxBytes) return [whole];
  const out: Fragment[] = [];
  for (const part of splitResource(rm, scopeField, maxBytes)) {
    const f = encodeResource(part, scopeField);
    if (f !== null) out.push(f);
  }
  return out;
}

/**
 * Splits a resource into slices whose fragments fit in `maxBytes`, by metric, then series, then point ranges.
 * Sizes are upper bounds (5-byte length varints), so every slice fits. A single point that cannot fit with the
 * resource header still gets its own slice (the server decides).
 */
export function splitResource(rm: ResourceMetricsData, scopeField: Uint8Array, maxBytes: number): ResourceMetricsData[] {
  const fixed = 1 + 5 + resourceField(rm.resource).length + 1 + 5 + scopeField.length;
  const budget = maxBytes - fixed;
  const slices: ResourceMetricsData[] = [];
  let current: MetricData[] = [];
  let currentMetric: { definition: MetricDefinition; series: SeriesData[] } | null;
  let used = 0;

  const flush = (): void => {
    if (current.length > 0) slices.push({ key: rm.key, resource: rm.resource, metrics: current });
    current = [];
    currentMetric = null;
    used = 0;
  };

  for (const metric of rm.metrics) {
    const def = metric.definition;
    const headerCost = 1 + 5 + metricHeader(def).length + 1 + 5 + SUM_CUMULATIVE_AND_MONOTONIC_MAX;
    currentMetric = null;
    for (const series of metric.series) {
      const n = series.values.length;
      const ps = pointSize(def, series, pointAttributes(series.attributes).length);
      const perPoint = 1 + varintSize(ps) + ps;
      let i = 0;
      while (i < n) {
        const needHeader = currentMetric === null ? headerCost : 0;
        let take = Math.min(n - i, Math.floor((budget - used - needHeader) / perPoint));
        if (take <= 0) {
          if (used > 0) {
            flush();
            continue;
          }
          take = 1;
        }
        if (currentMetric === null) {
          currentMetric = { definition: def, series: [] };
          current.push(currentMetric);
          used += headerCost;
        }
        currentMetric.series.push(
          i === 0 && take === n ? series : sliceSeries(series, i, i + take),
        );
        used += take * perPoint;
        i += take;
      }
    }
  }
  flush();
  return slices;
}

function sliceSeries(series: SeriesData, from: number, to: number): SeriesData {
  const out: SeriesData = {
    attributes: series.attributes,
    timesMs: Array.prototype.slice.call(series.timesMs, from, to) as number[],
    values: Array.prototype.slice.call(series.values, from, to) as number[],
  };
  return series.startTimeMs === undefined ? out : { ...out, startTimeMs: series.startTimeMs };
}
