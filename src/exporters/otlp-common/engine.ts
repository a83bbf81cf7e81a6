// Transport-independent half of the OTLP exporters: encode each resource once, pack fragments into size-bounded
// requests, send them with bounded concurrency, retry with jittered exponential backoff inside a deadline, split
// requests the server refuses as too large, and report per resource key what was not delivered.
//
// Requests are produced lazily: each consumer encodes the next request when it is free, so encoding overlaps with
// compression (libuv threadpool) and the network instead of blocking the event loop for the whole batch first.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger, ResourceMetricsData } from '../../plugin-api/index.ts';
import type { ExportBatch, ExportOutcome, ExporterStats } from '../types.ts';
import { encodeResourceBounded, encodeScopeField, type Fragment } from './proto-encoder.ts';
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

interface Request {
  readonly fragments: Fragment[];
  readonly bytes: number;
  readonly points: number;
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

/** Yields size-bounded requests, encoding resources on demand. */
class RequestProducer {
  private _index = 0;
  private _pending: Fragment[] = [];
  private readonly _resources: readonly ResourceMetricsData[];
  private readonly _encode: (rm: ResourceMetricsData) => Fragment[];
  private readonly _maxBytes: number;

  constructor(batch: ExportBatch, options: EngineOptions) {
    this._resources = batch.resources;
    this._maxBytes = options.maxRequestBytes;
    if (options.serializer === 'upstream') {
      this._encode = (rm) => encodeResourceBoundedUpstream(rm, batch.scope, options.maxRequestBytes);
    } else {
      const scopeField = encodeScopeField(batch.scope);
      this._encode = (rm) => encodeResourceBounded(rm, scopeField, options.maxRequestBytes);
    }
  }

  next(): Request | null {
    const fragments: Fragment[] = [];
    let bytes = 0;
    let points = 0;
    for (;;) {
      if (this._pending.length === 0) {
        if (this._index >= this._resources.length) break;
        this._pending = this._encode(this._resources[this._index++]!);
        continue;
      }
      const f = this._pending[0]!;
      if (fragments.length > 0 && bytes + f.bytes.length > this._maxBytes) break;
      this._pending.shift();
      fragments.push(f);
      bytes += f.bytes.length;
      points += f.points;
    }
    return fragments.length === 0 ? null : { fragments, bytes, points };
  }
}

export class ExportEngine {
  private readonly _transport: Transport;
  private readonly _options: EngineOptions;
  private readonly _log: Logger;
  private readonly _slots: Slots;
  private readonly _inFlight = new Set<Promise<unknown>>();
  private readonly _stats: ExporterStats = { requests: 0, requestBytes: 0, pointsSent: 0, pointsDropped: 0, retries: 0, failures: 0 };
  private _failing = false;
  private _shutdown = false;

  constructor(transport: Transport, options: EngineOptions, log: Logger) {
    this._transport = transport;
    this._options = options;
    this._log = log;
    this._slots = new Slots(options.concurrency);
  }

  stats(): ExporterStats {
    return { ...this._stats };
  }

  /** Highest number of requests that were in flight at once (tests check the concurrency bound). */
  maxConcurrentRequests(): number {
    return this._slots.maxInUse;
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
    const producer = new RequestProducer(batch, this._options);
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
            continue;
          }
          const results = await this._deliver(request, signal, scopeField);
          for (const [part, result] of results) {
            if (result.delivered) {
              this._stats.pointsSent += part.points;
              continue;
            }
            this._drop(part, failedKeys);
            droppedPoints += part.points;
            firstError ??= { code: result.code, error: result.error };
          }
        } catch (error) {
          // Encoding bugs must not reject export(): count the request as dropped and keep going.
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

  private _drop(request: { fragments: Fragment[]; points: number }, failedKeys: Set<string>): void {
    this._stats.pointsDropped += request.points;
    this._stats.failures++;
    for (const f of request.fragments) failedKeys.add(f.key);
  }

  /** Sends one request, splitting it when the server says it is too large; returns the fate of each part. */
  private async _deliver(request: Request, signal: AbortSignal, scopeField: Uint8Array): Promise<[Request, RequestResult][]> {
    const out: [Request, RequestResult][] = [];
    const queue: Request[] = [request];
    const deadline = Date.now() + this._options.retry.maxElapsedMs;
    while (queue.length > 0) {
      const current = queue.shift()!;
      const result = await this._sendWithRetry(current, deadline, signal);
      if (result.status === 'ok') out.push([current, { delivered: true }]);
      else if (result.status === 'too_large' && splitRequest(current, queue, scopeField)) {
        this._log.debug({ bytes: current.bytes, code: result.code }, 'otlp request refused as too large, splitting');
      } else out.push([current, { delivered: false, code: result.code, error: result.error }]);
    }
    return out;
  }

  private async _sendWithRetry(request: Request, deadline: number, signal: AbortSignal): Promise<SendResult> {
    const retry = this._options.retry;
    let interval = retry.initialIntervalMs;
    const body = request.fragments.length === 1 ? request.fragments[0]!.bytes : Buffer.concat(request.fragments.map((f) => f.bytes), request.bytes);
    for (;;) {
      this._stats.requests++;
      this._stats.requestBytes += request.bytes;
      const result = await this._transport.send(body, request.points, this._options.timeoutMs);
      if (result.status !== 'retryable' || !retry.enabled) return result;
      const jitter = 1 + retry.randomizationFactor * (2 * Math.random() - 1);
      const delay = result.retryAfterMs ?? Math.min(interval * jitter, retry.maxIntervalMs);
      interval = Math.min(interval * retry.multiplier, retry.maxIntervalMs);
      if (Date.now() + delay > deadline || signal.aborted || this._shutdown) return result;
      this._stats.retries++;
      this._log.debug({ code: result.code, delayMs: Math.round(delay) }, 'otlp export retrying');
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return result; // aborted while waiting
      }
    }
  }

  async shutdown(): Promise<void> {
    this._shutdown = true;
    await Promise.allSettled([...this._inFlight]);
    await this._transport.shutdown();
  }
}

/** Halves a request by fragments, or a single fragment by re-splitting its resource; false when indivisible. */
function splitRequest(request: Request, queue: Request[], scopeField: Uint8Array): boolean {
  const { fragments } = request;
  if (fragments.length > 1) {
    const mid = Math.ceil(fragments.length / 2);
    queue.unshift(toRequest(fragments.slice(0, mid)), toRequest(fragments.slice(mid)));
    return true;
  }
  const only = fragments[0]!;
  if (only.points <= 1) return false;
  // Re-encode the resource at half the size (with the native encoder whichever serializer made the fragment).
  const parts = encodeResourceBounded(only.source, scopeField, Math.max(64, Math.floor(only.bytes.length / 2)));
  if (parts.length <= 1) return false;
  queue.unshift(...parts.map((p) => toRequest([p])));
  return true;
}

function toRequest(fragments: Fragment[]): Request {
  let bytes = 0;
  let points = 0;
  for (const f of fragments) {
    bytes += f.bytes.length;
    points += f.points;
  }
  return { fragments, bytes, points };
}
