// In-process OTLP receivers for tests: gRPC (@grpc/grpc-js + the real opentelemetry-proto files shipped in
// @elastic/mockotlpserver, loaded with @grpc/proto-loader, longs as strings) and OTLP/HTTP protobuf (node:http,
// decoded with protobufjs from the same files). Both listen on 127.0.0.1 with an OS-chosen port, record every
// decoded request with its raw size, and can be told to fail.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { encodeStatusWithRetryInfo } from '../../src/exporters/otlp-grpc/retry-info.ts';

const require = createRequire(import.meta.url);
export const PROTO_ROOT = dirname(require.resolve('@elastic/mockotlpserver/package.json'));
const METRICS_SERVICE_PROTO = 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto';

// ---- decoded shapes (proto-loader with keepCase: false, longs: String, enums: String, oneofs: true) ----

export interface DecodedAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  value?: string;
}
export interface DecodedKeyValue {
  key: string;
  value: DecodedAnyValue;
}
export interface DecodedNumberDataPoint {
  attributes: DecodedKeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  asDouble?: number;
  asInt?: string;
  value?: 'asDouble' | 'asInt';
}
export interface DecodedMetric {
  name: string;
  description: string;
  unit: string;
  gauge?: { dataPoints: DecodedNumberDataPoint[] };
  sum?: { dataPoints: DecodedNumberDataPoint[]; aggregationTemporality: string; isMonotonic: boolean };
}
export interface DecodedResourceMetrics {
  resource: { attributes: DecodedKeyValue[] };
  scopeMetrics: { scope: { name: string; version: string }; metrics: DecodedMetric[] }[];
}
export interface DecodedRequest {
  resourceMetrics: DecodedResourceMetrics[];
}

export interface ReceivedRequest {
  readonly request: DecodedRequest;
  /** Bytes of the serialised request after decompression (what the server's size limit applies to). */
  readonly rawBytes: number;
  /** Bytes on the wire (HTTP body before gunzip; gRPC: same as rawBytes, grpc-js hides the compressed frame). */
  readonly wireBytes: number;
  /** gRPC metadata or HTTP headers, lower-case keys, first value. */
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP `content-encoding` ('identity' when absent); gRPC: always 'identity' (grpc-js strips grpc-encoding, see startByteCountingProxy). */
  readonly encoding: string;
}

export interface FailurePlan {
  /** gRPC status code, or HTTP status for the HTTP receiver. */
  readonly code: number;
  readonly message?: string;
  /** Answer with a RetryInfo (gRPC) / Retry-After (HTTP, rounded up to seconds) of this many ms. */
  readonly retryAfterMs?: number;
}

/** Shared failure switches: next N calls, or until a time, or while a predicate says so. */
class FailureSwitch {
  private _plan: FailurePlan | null = null;
  private _remaining = 0;
  private _until = 0;
  /** Length of a failFor window not yet started (its clock starts on the first call it refuses). */
  private _windowMs = 0;
  private _predicate: ((rawBytes: number) => FailurePlan | null) | null = null;

  failNext(count: number, plan: FailurePlan): void {
    this._plan = plan;
    this._remaining = count;
    this._until = 0;
    this._windowMs = 0;
  }

  /**
   * Fails every call for `ms`, counted from the first call it refuses (not from now): a loaded machine may take
   * longer than the window to set up the client and send the first request, and a window that closed before the
   * first call would test nothing.
   */
  failFor(ms: number, plan: FailurePlan): void {
    this._plan = plan;
    this._remaining = 0;
    this._windowMs = ms;
    this._until = 0;
  }

  /** Decide per request from its raw size (e.g. emulate a receive-size limit). */
  failWhen(predicate: ((rawBytes: number) => FailurePlan | null) | null): void {
    this._predicate = predicate;
  }

  reset(): void {
    this._plan = null;
    this._remaining = 0;
    this._until = 0;
    this._windowMs = 0;
    this._predicate = null;
  }

  take(rawBytes: number): FailurePlan | null {
    const byPredicate = this._predicate?.(rawBytes) ?? null;
    if (byPredicate) return byPredicate;
    if (this._plan === null) return null;
    if (this._remaining > 0) {
      this._remaining--;
      return this._plan;
    }
    if (this._windowMs > 0) {
      this._until = Date.now() + this._windowMs;
      this._windowMs = 0;
      return this._plan;
    }
    if (Date.now() < this._until) return this._plan;
    return null;
  }
}

interface Waiter {
  readonly predicate: () => boolean;
  readonly resolve: () => void;
}

abstract class ReceiverBase {
  readonly received: ReceivedRequest[] = [];
  /** Every call, including refused ones. */
  calls = 0;
  readonly failures = new FailureSwitch();
  /** Calls being handled right now (a held call counts until released). */
  inFlight = 0;
  maxInFlight = 0;
  private _waiters: Waiter[] = [];
  private _gate: Promise<void> | null = null;
  private _openGate: (() => void) | null = null;

  /** Holds every call (before answering) until `release()`; lets tests observe concurrency without sleeps. */
  hold(): void {
    if (this._gate) return;
    this._gate = new Promise((resolve) => (this._openGate = resolve));
  }

  release(): void {
    this._openGate?.();
    this._gate = null;
    this._openGate = null;
  }

  protected async _enter(): Promise<void> {
    this.inFlight++;
    if (this.inFlight > this.maxInFlight) this.maxInFlight = this.inFlight;
    this._notify();
    if (this._gate) await this._gate;
  }

  protected _leave(): void {
    this.inFlight--;
  }

  protected _record(r: ReceivedRequest): void {
    this.received.push(r);
    this._notify();
  }

  protected _notify(): void {
    this._waiters = this._waiters.filter((w) => {
      if (!w.predicate()) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves when `predicate` holds (checked on every call), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('otlp receiver: condition not met in time')), timeoutMs);
      this._waiters.push({
        predicate,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  rows(): MetricRow[] {
    return this.received.flatMap((r) => flattenRequest(r.request));
  }

  points(): number {
    return this.rows().length;
  }
}

export interface GrpcReceiverOptions {
  /** TLS: server key/cert; `clientCa` turns on mTLS (client certificate required). */
  readonly tls?: { key: string | Buffer; cert: string | Buffer; clientCa?: string | Buffer };
  /** Server receive limit (grpc-js default 4 MiB). */
  readonly maxReceiveBytes?: number;
}

let cachedService: grpc.ServiceDefinition | null = null;

function metricsServiceDefinition(): grpc.ServiceDefinition {
  if (cachedService) return cachedService;
  const def = protoLoader.loadSync(METRICS_SERVICE_PROTO, {
    includeDirs: [PROTO_ROOT],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    opentelemetry: { proto: { collector: { metrics: { v1: { MetricsService: { service: grpc.ServiceDefinition } } } } } };
  };
  cachedService = pkg.opentelemetry.proto.collector.metrics.v1.MetricsService.service;
  return cachedService;
}

const RAW_SIZE = Symbol('rawSize');

export class OtlpGrpcReceiver extends ReceiverBase {
  private _server: grpc.Server | null = null;
  private _port = 0;
  private readonly _options: GrpcReceiverOptions;

  constructor(options: GrpcReceiverOptions = {}) {
    super();
    this._options = options;
  }

  get port(): number {
    return this._port;
  }

  /** `127.0.0.1:port` (for `endpoint` with tls.insecure or an http:// prefix). */
  get address(): string {
    return `127.0.0.1:${this._port}`;
  }

  get listening(): boolean {
    return this._server !== null;
  }

  /** Listens on an OS-chosen port, or again on the previous port after `stop()` (retries EADDRINUSE briefly). */
  async start(): Promise<this> {
    if (this._server) return this;
    const base = metricsServiceDefinition();
    const exportDef = base['Export']!;
    // Wrap the decoder to learn each request's serialised size.
    const service: grpc.ServiceDefinition = {
      Export: {
        ...exportDef,
        requestDeserialize: (buf: Buffer) => {
          const decoded = exportDef.requestDeserialize(buf) as Record<symbol, number>;
          decoded[RAW_SIZE] = buf.length;
          return decoded;
        },
      },
    };
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this._options.maxReceiveBytes ?? 4 * 1024 * 1024,
    });
    server.addService(service, {
      Export: (call: grpc.ServerUnaryCall<DecodedRequest & Record<symbol, number>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        void this._enter().then(() => {
          this._leave();
          this._answer(call, callback);
        });
      },
    });
    const tls = this._options.tls;
    const creds = tls
      ? grpc.ServerCredentials.createSsl(
          tls.clientCa ? Buffer.from(tls.clientCa) : null,
          [{ private_key: Buffer.from(tls.key), cert_chain: Buffer.from(tls.cert) }],
          tls.clientCa !== undefined,
        )
      : grpc.ServerCredentials.createInsecure();
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        this._port = await new Promise<number>((resolve, reject) => {
          server.bindAsync(`127.0.0.1:${this._port}`, creds, (err, port) => (err ? reject(err) : resolve(port)));
        });
        break;
      } catch (err) {
        if (this._port === 0 || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 20)); // EADDRINUSE while the old socket closes
      }
    }
    this._server = server;
    return this;
  }

  private _answer(call: grpc.ServerUnaryCall<DecodedRequest & Record<symbol, number>, unknown>, callback: grpc.sendUnaryData<unknown>): void {
    this.calls++;
    const rawBytes = call.request[RAW_SIZE] ?? 0;
    const failure = this.failures.take(rawBytes);
    if (failure) {
      const trailer = new grpc.Metadata();
      if (failure.retryAfterMs !== undefined) {
        trailer.set('grpc-status-details-bin', encodeStatusWithRetryInfo(failure.code, failure.message ?? 'refused', failure.retryAfterMs));
      }
      callback({ code: failure.code, details: failure.message ?? 'refused by test receiver', metadata: trailer });
      this._notify();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
    this._record({
      request: call.request,
      rawBytes,
      wireBytes: rawBytes,
      headers,
      encoding: headers['grpc-encoding'] ?? 'identity',
    });
    callback(null, {});
  }

  /** Stops listening and tears down open connections; `start()` listens again on the same port. */
  async stop(): Promise<void> {
    const server = this._server;
    if (!server) return;
    this._server = null;
    server.forceShutdown();
  }
}

/**
 * A loopback TCP forwarder that counts client→server bytes: grpc-js hides `grpc-encoding` and the compressed frame
 * from handlers, so "gzip on the wire" is checked by comparing these bytes with the decoded request size.
 */
export async function startByteCountingProxy(targetPort: number): Promise<{ port: number; bytesUp: () => number; close: () => Promise<void> }> {
  let up = 0;
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => {
      up += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    bytesUp: () => up,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- OTLP/HTTP ----

export interface HttpReceiverOptions {
  readonly tls?: { key: string | Buffer; cert: string | Buffer; clientCa?: string | Buffer };
}

let cachedRequestType: protobuf.Type | null = null;

function exportRequestType(): protobuf.Type {
  if (cachedRequestType) return cachedRequestType;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_ROOT}/${target}`);
  root.loadSync(METRICS_SERVICE_PROTO, { keepCase: false });
  cachedRequestType = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
  return cachedRequestType;
}

export function decodeExportRequest(bytes: Uint8Array): DecodedRequest {
  const type = exportRequestType();
  return type.toObject(type.decode(bytes), { longs: String, enums: String, defaults: true, oneofs: true }) as DecodedRequest;
}

export class OtlpHttpReceiver extends ReceiverBase {
  private _server: HttpServer | null = null;
  private _port = 0;
  private readonly _options: HttpReceiverOptions;
  readonly paths: string[] = [];

  constructor(options: HttpReceiverOptions = {}) {
    super();
    this._options = options;
  }

  get port(): number {
    return this._port;
  }

  /** Base URL (the exporter appends /v1/metrics). */
  get url(): string {
    return `${this._options.tls ? 'https' : 'http'}://127.0.0.1:${this._port}`;
  }

  async start(): Promise<this> {
    if (this._server) return this;
    const handler = (req: IncomingMessage, res: ServerResponse): void => void this._handle(req, res);
    const tls = this._options.tls;
    const server = tls
      ? createHttpsServer({ key: tls.key, cert: tls.cert, ca: tls.clientCa, requestCert: tls.clientCa !== undefined, rejectUnauthorized: tls.clientCa !== undefined }, handler)
      : createHttpServer(handler);
    server.listen(this._port, '127.0.0.1');
    await once(server, 'listening');
    this._port = (server.address() as AddressInfo).port;
    this._server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this._server;
    if (!server) return;
    this._server = null;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async _handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const wire = Buffer.concat(chunks);
    await this._enter();
    this._leave();
    this.calls++;
    this.paths.push(req.url ?? '');
    const encoding = String(req.headers['content-encoding'] ?? 'identity');
    const raw = encoding === 'gzip' ? gunzipSync(wire) : wire;
    const failure = this.failures.take(raw.length);
    if (failure) {
      if (failure.retryAfterMs !== undefined) res.setHeader('Retry-After', String(Math.ceil(failure.retryAfterMs / 1000)));
      res.writeHead(failure.code, { 'content-type': 'text/plain' }).end(failure.message ?? 'refused by test receiver');
      this._notify();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v[0]! : String(v);
    this._record({ request: decodeExportRequest(raw), rawBytes: raw.length, wireBytes: wire.length, headers, encoding });
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  }
}

// ---- flattening ----

export type RowValue = string | number | boolean;

export interface MetricRow {
  readonly resource: Readonly<Record<string, RowValue>>;
  readonly scope: string;
  readonly metric: string;
  readonly unit: string;
  readonly kind: 'gauge' | 'sum';
  readonly attributes: Readonly<Record<string, RowValue>>;
  readonly startTimeUnixNano: string;
  readonly timeUnixNano: string;
  readonly value: number;
}

function anyValue(v: DecodedAnyValue): RowValue {
  if (v.value === 'stringValue' || v.stringValue !== undefined && v.value === undefined) return v.stringValue!;
  if (v.value === 'boolValue') return v.boolValue!;
  if (v.value === 'intValue') return Number(v.intValue);
  if (v.value === 'doubleValue') return v.doubleValue!;
  return v.stringValue ?? '';
}

export function attributesOf(kvs: DecodedKeyValue[]): Record<string, RowValue> {
  const out: Record<string, RowValue> = {};
  for (const kv of kvs) out[kv.key] = anyValue(kv.value);
  return out;
}

/** One row per data point: (resource attrs, metric name, unit, point attrs, timeUnixNano, value). */
export function flattenRequest(request: DecodedRequest): MetricRow[] {
  const rows: MetricRow[] = [];
  for (const rm of request.resourceMetrics) {
    const resource = attributesOf(rm.resource?.attributes ?? []);
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const kind = m.sum ? 'sum' : 'gauge';
        const points = m.sum?.dataPoints ?? m.gauge?.dataPoints ?? [];
        for (const p of points) {
          rows.push({
            resource,
            scope: sm.scope?.name ?? '',
            metric: m.name,
            unit: m.unit,
            kind,
            attributes: attributesOf(p.attributes),
            startTimeUnixNano: p.startTimeUnixNano,
            timeUnixNano: p.timeUnixNano,
            value: p.value === 'asInt' ? Number(p.asInt) : p.asDouble!,
          });
        }
      }
    }
  }
  return rows;
}

/** Stable identity of a row (for exactly-once checks). */
export function rowKey(row: MetricRow): string {
  return JSON.stringify([row.resource, row.metric, row.attributes, row.timeUnixNano]);
}
