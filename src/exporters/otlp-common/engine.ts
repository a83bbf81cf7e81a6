// Transport-independent half of the OTLP exporters: encode each resource once, pack fragments into size-bounded
// requests, send them with bounded concurrency, retry with jittered exponential backoff inside a deadline, split
// requests the server refuses as too large, and report per resource key what was not delivered.
//
// Requests are produced lazily: a consumer encodes the next request only once it holds a send slot, so encoding
// overlaps with compression (libuv threadpool) and the network, and at most `concurrency` encoded requests exist at
// once, however large the batch (a first poll is ~40 requests). Resources are written straight into request-sized
// buffers that are reused across requests and cycles: the steady state allocates no request memory, which keeps
// the ~20 MiB a cycle encodes from churning through malloc (glibc keeps what it freed, so churn becomes RSS).

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, ResourceMetricsData } from '../../plugin-api/index.ts';
import type { ExportBatch, ExportOutcome, ExporterStats } from '../types.ts';
import { encodeResourceBounded, encodeScopeField, ProtoWriter, ResourceEncoder, splitResource, type Fragment } from './proto-encoder.ts';
import { encodeResourceBoundedUpstream } from './sdk-encoder.ts';

export type SendResult =
  | { readonly status: 'ok' }
  /** Worth another attempt; `retryAfterMs` when the server said when (RetryInfo / Retry-After). */
  | { readonly status: 'retryable'; readonly code: string; readonly error: unknown; readonly retryAfterMs?: number }
  /** The server refused the request as too large: split it and send the halves. */
  | { readonly status: 'too_large'; readonly code: string; readonly error: unknown }
  | { readonly status: 'failed'; readonly code: string; readonly error: unknown };

/** One request on the wire. Implementations never reject: every outcome is a SendResult. */
export interface Transport {
  send(body: Buffer, points: number, timeoutMs: number): Promise<SendResult>;
  shutdown(): Promise<void>;
}

export interface EngineOptions {
  readonly maxRequestBytes: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly serializer: 'native' | 'upstream';
  readonly retry: {
    readonly enabled: boolean;
    readonly initialIntervalMs: number;
    readonly maxIntervalMs: number;
    readonly maxElapsedMs: number;
    readonly multiplier: number;
    readonly randomizationFactor: number;
  };
}

/** One resource (or slice of one) inside a request body. */
interface RequestPart {
  readonly key: string;
  readonly source: ResourceMetricsData;
  readonly points: number;
  /** Where its bytes are in the request body. */
  readonly offset: number;
  readonly length: number;
}

interface Request {
  readonly body: Buffer;
  readonly parts: readonly RequestPart[];
  readonly points: number;
  /** `body` is the whole of an ArrayBuffer this engine made for it: freed as soon as the request is answered. */
  readonly owned: boolean;
}

type RequestResult = { delivered: true } | { delivered: false; code: string; error: unknown };

/** Counting semaphore shared by all concurrent `export()` calls of one exporter. */
class Slots {
  private _free: number;
  private readonly _waiters: (() => void)[] = [];
  inUse = 0;
  maxInUse = 0;

  constructor(size: number) {
    this._free = size;
  }

  async acquire(): Promise<void> {
    if (this._free > 0) this._free--;
    else await new Promise<void>((resolve) => this._waiters.push(resolve));
    this.inUse++;
    if (this.inUse > this.maxInUse) this.maxInUse = this.inUse;
  }

  release(): void {
    this.inUse--;
    const next = this._waiters.shift();
    if (next) next();
    else this._free++;
  }
}

/**
 * The request-sized buffer requests are encoded into. Encoding a request is synchronous and its bytes are copied out
 * at once (`ownedCopy`), so one buffer serves every request of an exporter; a part over the bound gets a buffer of its
 * own.
 */
class EncodeScratch {
  readonly size: number;
  private _buffer: Buffer | undefined;
  /** Scratch buffers created so far: 1 once anything was encoded (tests and benches check the reuse). */
  created = 0;

  constructor(size: number) {
    this.size = size;
  }

  get(): Buffer {
    if (this._buffer === undefined) {
      this.created++;
      // Not from Node's shared 8 KiB pool (the size is far above it), and untouched pages cost no RSS until written.
      this._buffer = Buffer.allocUnsafeSlow(this.size);
    }
    return this._buffer;
  }
}

/** A resource the encoder failed on (a bug or malformed data): never sent, reported undelivered. */
interface Unencodable {
  readonly key: string;
  readonly points: number;
  readonly error: unknown;
}

/** The resources of a batch as encodable parts, one at a time: measured first, written on demand. */
interface PartCursor {
  /** Moves to the next part that holds points; false when the batch is exhausted. */
  advance(): boolean;
  readonly size: number;
  readonly points: number;
  readonly source: ResourceMetricsData;
  write(w: ProtoWriter): void;
}

/** Points of a resource that failed to encode, without trusting its data. */
function pointsOrZero(rm: ResourceMetricsData): number {
  try {
    let n = 0;
    for (const m of rm.metrics) for (const s of m.series) n += s.values.length;
    return n;
  } catch {
    return 0;
  }
}

/** Native encoder: a resource larger than the request bound is split into slices first. */
class NativeParts implements PartCursor {
  readonly unencodable: Unencodable[];
  private readonly _resources: readonly ResourceMetricsData[];
  private readonly _encoder: ResourceEncoder;
  private readonly _scopeField: Uint8Array;
  private readonly _maxBytes: number;
  private readonly _slices: ResourceMetricsData[] = [];
  private _index = 0;
  source!: ResourceMetricsData;

  constructor(resources: readonly ResourceMetricsData[], scopeField: Uint8Array, maxBytes: number, unencodable: Unencodable[]) {
    this.unencodable = unencodable;
    this._resources = resources;
    this._scopeField = scopeField;
    this._encoder = new ResourceEncoder(scopeField);
    this._maxBytes = maxBytes;
  }

  get size(): number {
    return this._encoder.size;
  }

  get points(): number {
    return this._encoder.points;
  }

  advance(): boolean {
    for (;;) {
      const slice = this._slices.shift();
      const rm = slice ?? this._resources[this._index++];
      if (rm === undefined) return false;
      try {
        const size = this._encoder.measure(rm);
        if (size === 0) continue;
        if (slice === undefined && size > this._maxBytes) {
          // Slices are never split again: one that still does not fit is a single point too big for the bound.
          this._slices.push(...splitResource(rm, this._scopeField, this._maxBytes));
          continue;
        }
      } catch (error) {
        this.unencodable.push({ key: rm.key, points: pointsOrZero(rm), error });
        continue;
      }
      this.source = rm;
      return true;
    }
  }

  write(w: ProtoWriter): void {
    this._encoder.write(w);
  }
}

/** Upstream serializer: its fragments, copied into the request buffer. */
class UpstreamParts implements PartCursor {
  readonly unencodable: Unencodable[];
  private readonly _resources: readonly ResourceMetricsData[];
  private readonly _scope: ExportBatch['scope'];
  private readonly _maxBytes: number;
  private _pending: Fragment[] = [];
  private _index = 0;
  private _current: Fragment | undefined;

  constructor(resources: readonly ResourceMetricsData[], scope: ExportBatch['scope'], maxBytes: number, unencodable: Unencodable[]) {
    this.unencodable = unencodable;
    this._resources = resources;
    this._scope = scope;
    this._maxBytes = maxBytes;
  }

  get size(): number {
    return this._current!.bytes.length;
  }

  get points(): number {
    return this._current!.points;
  }

  get source(): ResourceMetricsData {
    return this._current!.source;
  }

  advance(): boolean {
    while (this._pending.length === 0) {
      const rm = this._resources[this._index++];
      if (rm === undefined) return false;
      try {
        this._pending = encodeResourceBoundedUpstream(rm, this._scope, this._maxBytes);
      } catch (error) {
        this.unencodable.push({ key: rm.key, points: pointsOrZero(rm), error });
      }
    }
    this._current = this._pending.shift();
    return true;
  }

  write(w: ProtoWriter): void {
    w.bytes(this._current!.bytes);
  }
}

/** Yields size-bounded requests, encoding resources on demand into buffers from `buffers`. */
class RequestProducer {
  /** Resources that failed to encode; the rest of the batch still ships. */
  readonly unencodable: Unencodable[] = [];
  private readonly _parts: PartCursor;
  private readonly _scratch: EncodeScratch;
  private _hasCurrent: boolean | undefined;

  constructor(batch: ExportBatch, options: EngineOptions, scratch: EncodeScratch) {
    this._scratch = scratch;
    this._parts =
      options.serializer === 'upstream'
        ? new UpstreamParts(batch.resources, batch.scope, options.maxRequestBytes, this.unencodable)
        : new NativeParts(batch.resources, encodeScopeField(batch.scope), options.maxRequestBytes, this.unencodable);
  }

  next(): Request | null {
    const cursor = this._parts;
    this._hasCurrent ??= cursor.advance();
    if (!this._hasCurrent) return null;
    // A part over the bound (a single point that cannot fit, or an upstream fragment) gets a buffer of its own:
    // the server decides.
    const w = new ProtoWriter(cursor.size > this._scratch.size ? Buffer.allocUnsafeSlow(cursor.size) : this._scratch.get());
    const parts: RequestPart[] = [];
    let points = 0;
    while (this._hasCurrent) {
      if (parts.length > 0 && w.pos + cursor.size > w.buf.length) break; // starts the next request
      const offset = w.pos;
      try {
        cursor.write(w);
        parts.push({ key: cursor.source.key, source: cursor.source, points: cursor.points, offset, length: w.pos - offset });
        points += cursor.points;
      } catch (error) {
        w.pos = offset; // the next part overwrites what this one left
        this.unencodable.push({ key: cursor.source.key, points: cursor.points, error });
      }
      this._hasCurrent = cursor.advance();
    }
    // Null when every remaining part failed to encode (the loop only stops early once a part is in).
    return parts.length === 0 ? null : { body: ownedCopy(w.buf.subarray(0, w.pos)), parts, points, owned: true };
  }
}

/**
 * `bytes` in an ArrayBuffer of their own and of exactly their length. Such a body can be handed to a transport that
 * wraps an ArrayBuffer instead of copying it (upstream's gRPC transport), and it is freed with `transfer(0)` the
 * moment it is answered instead of at the next full GC: at 64 hosts the requests of one cycle are ~20 MiB, which
 * otherwise sat in the RSS peak.
 */
export function ownedCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.from(new ArrayBuffer(bytes.length));
  copy.set(bytes);
  return copy;
}

/** Frees an answered request's bytes now (only for `owned` bodies: nothing else views their ArrayBuffer). */
function freeBody(request: Request): void {
  const memory = request.body.buffer;
  if (request.owned && memory instanceof ArrayBuffer && !memory.detached) memory.transfer(0);
}

export class ExportEngine {
  private readonly _transport: Transport;
  private readonly _options: EngineOptions;
  private readonly _log: Logger;
  private readonly _slots: Slots;
  private readonly _scratch: EncodeScratch;
  private readonly _inFlight = new Set<Promise<unknown>>();
  private readonly _stats: ExporterStats = { requests: 0, requestBytes: 0, pointsSent: 0, pointsDropped: 0, retries: 0, failures: 0 };
  private _failing = false;
  private _shutdown = false;

  constructor(transport: Transport, options: EngineOptions, log: Logger) {
    this._transport = transport;
    this._options = options;
    this._log = log;
    this._slots = new Slots(options.concurrency);
    this._scratch = new EncodeScratch(options.maxRequestBytes);
  }

  stats(): ExporterStats {
    return { ...this._stats };
  }

  /** Highest number of requests that were in flight at once (tests check the concurrency bound). */
  maxConcurrentRequests(): number {
    return this._slots.maxInUse;
  }

  /** Scratch buffers allocated so far: one, however many requests (a part over the bound uses a buffer of its own). */
  requestBuffersCreated(): number {
    return this._scratch.created;
  }

  export(batch: ExportBatch, signal: AbortSignal): Promise<ExportOutcome> {
    const run = this._export(batch, signal);
    this._inFlight.add(run);
    void run.finally(() => this._inFlight.delete(run));
    return run;
  }

  private async _export(batch: ExportBatch, signal: AbortSignal): Promise<ExportOutcome> {
    const failedKeys = new Set<string>();
    let droppedPoints = 0;
    let firstError = null as { code: string; error: unknown } | null;
    const producer = new RequestProducer(batch, this._options, this._scratch);
    const scopeField = encodeScopeField(batch.scope);

    const consumer = async (): Promise<void> => {
      for (;;) {
        await this._slots.acquire();
        let request: Request | null = null;
        try {
          request = producer.next();
          if (request === null) return;
          if (this._shutdown || signal.aborted) {
            this._drop(request, failedKeys);
            droppedPoints += request.points;
            firstError ??= { code: 'EXPORT_ERR_ABORTED', error: signal.reason };
            freeBody(request); // never sent
            continue;
          }
          const { results, reusable } = await this._deliver(request, signal, scopeField);
          for (const [part, result] of results) {
            if (result.delivered) {
              this._stats.pointsSent += part.points;
              continue;
            }
            this._drop(part, failedKeys);
            droppedPoints += part.points;
            firstError ??= { code: result.code, error: result.error };
          }
          // Answered on its one send: no transport still compresses or writes it. After retries, splits, failures or
          // timeouts an abandoned attempt may still read the bytes, so those are left to the GC.
          if (reusable) freeBody(request);
        } catch (error) {
          // A throwing transport (the contract says it never rejects) must not reject export(): count the
          // request as dropped and keep going. Encoding failures are per resource (`producer.unencodable`).
          if (request !== null) {
            this._drop(request, failedKeys);
            droppedPoints += request.points;
          }
          firstError ??= { code: 'EXPORT_ERR_INTERNAL', error };
        } finally {
          this._slots.release();
        }
      }
    };

    const consumers: Promise<void>[] = [];
    for (let i = 0; i < this._options.concurrency; i++) consumers.push(consumer());
    await Promise.all(consumers);
    for (const part of producer.unencodable) {
      failedKeys.add(part.key);
      droppedPoints += part.points;
      this._stats.pointsDropped += part.points;
      this._stats.failures++;
      firstError ??= { code: 'EXPORT_ERR_INTERNAL', error: part.error };
    }

    if (firstError !== null) {
      if (!this._failing) {
        this._failing = true;
        this._log.warn(
          { code: firstError.code, err: firstError.error, droppedPoints, failedResources: failedKeys.size },
          'otlp export failed, dropping data',
        );
      }
    } else if (this._failing) {
      this._failing = false;
      this._log.info({}, 'otlp export recovered');
    }
    return { failedKeys, droppedPoints };
  }

  private _drop(request: Request, failedKeys: Set<string>): void {
    this._stats.pointsDropped += request.points;
    this._stats.failures++;
    for (const part of request.parts) failedKeys.add(part.key);
  }

  /**
   * Sends one request, splitting it when the server says it is too large; returns the fate of each part, and
   * whether its buffer may be reused (one send, answered ok: nothing can still be reading it).
   */
  private async _deliver(request: Request, signal: AbortSignal, scopeField: Uint8Array): Promise<{ results: [Request, RequestResult][]; reusable: boolean }> {
    const results: [Request, RequestResult][] = [];
    const queue: Request[] = [request];
    const deadline = Date.now() + this._options.retry.maxElapsedMs;
    let sends = 0;
    while (queue.length > 0) {
      const current = queue.shift()!;
      const { result, attempts } = await this._sendWithRetry(current, deadline, signal);
      sends += attempts;
      if (result.status === 'ok') results.push([current, { delivered: true }]);
      else if (result.status === 'too_large' && splitRequest(current, queue, scopeField)) {
        this._log.debug({ bytes: current.body.length, code: result.code }, 'otlp request refused as too large, splitting');
      } else results.push([current, { delivered: false, code: result.code, error: result.error }]);
    }
    const reusable = sends === 1 && results.length === 1 && results[0]![1].delivered;
    return { results, reusable };
  }

  private async _sendWithRetry(request: Request, deadline: number, signal: AbortSignal): Promise<{ result: SendResult; attempts: number }> {
    const retry = this._options.retry;
    let interval = retry.initialIntervalMs;
    for (let attempts = 1; ; attempts++) {
      this._stats.requests++;
      this._stats.requestBytes += request.body.length;
      const result = await this._transport.send(request.body, request.points, this._options.timeoutMs);
      if (result.status !== 'retryable' || !retry.enabled) return { result, attempts };
      const jitter = 1 + retry.randomizationFactor * (2 * Math.random() - 1);
      const delay = result.retryAfterMs ?? Math.min(interval * jitter, retry.maxIntervalMs);
      interval = Math.min(interval * retry.multiplier, retry.maxIntervalMs);
      if (Date.now() + delay > deadline || signal.aborted || this._shutdown) return { result, attempts };
      this._stats.retries++;
      this._log.debug({ code: result.code, delayMs: Math.round(delay) }, 'otlp export retrying');
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return { result, attempts }; // aborted while waiting
      }
    }
  }

  async shutdown(): Promise<void> {
    this._shutdown = true;
    await Promise.allSettled([...this._inFlight]);
    await this._transport.shutdown();
  }
}

/**
 * Halves a request by parts (the halves are views of the same body), or a single part by re-encoding its resource
 * at half the size; false when indivisible.
 */
function splitRequest(request: Request, queue: Request[], scopeField: Uint8Array): boolean {
  const { parts } = request;
  if (parts.length > 1) {
    const mid = Math.ceil(parts.length / 2);
    queue.unshift(subRequest(request, 0, mid), subRequest(request, mid, parts.length));
    return true;
  }
  const only = parts[0]!;
  if (only.points <= 1) return false;
  // Re-encode the resource at half the size (with the native encoder whichever serializer made the part).
  const fragments = encodeResourceBounded(only.source, scopeField, Math.max(64, Math.floor(only.length / 2)));
  if (fragments.length <= 1) return false;
  queue.unshift(
    ...fragments.map((f): Request => ({
      body: f.bytes,
      parts: [{ key: f.key, source: f.source, points: f.points, offset: 0, length: f.bytes.length }],
      points: f.points,
      owned: false,
    })),
  );
  return true;
}

/** Parts [from, to) of a request, over the same bytes. */
function subRequest(request: Request, from: number, to: number): Request {
  const first = request.parts[from]!;
  const last = request.parts[to - 1]!;
  const base = first.offset;
  const parts: RequestPart[] = [];
  let points = 0;
  for (let i = from; i < to; i++) {
    const p = request.parts[i]!;
    parts.push({ ...p, offset: p.offset - base });
    points += p.points;
  }
  return { body: request.body.subarray(base, last.offset + last.length), parts, points, owned: false };
}
