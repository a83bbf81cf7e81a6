// The MetricsExporter both OTLP factories return: an ExportEngine over a transport, plus the lifecycle contract
// (shutdown idempotent and safe without start).

import type { Logger } from '../../plugin-api/index.ts';
import type { ExportBatch, ExportOutcome, ExporterStats, MetricsExporter } from '../types.ts';
import type { RetryConfig } from './config.ts';
import { ExportEngine, type EngineOptions, type Transport } from './engine.ts';

/** The config keys both OTLP exporters hand to the engine unchanged (`commonExporterFields`). */
export interface OtlpEngineConfig {
  readonly max_request_bytes: number;
  readonly serializer: 'native' | 'upstream';
  readonly retry_on_failure: RetryConfig;
  readonly sending_queue: { readonly num_consumers: number };
}

/** `timeoutMs` is the resolved one (config, then OTEL_EXPORTER_OTLP_*_TIMEOUT, then the default). */
export function engineOptions(config: OtlpEngineConfig, timeoutMs: number): EngineOptions {
  const retry = config.retry_on_failure;
  return {
    maxRequestBytes: config.max_request_bytes,
    timeoutMs,
    concurrency: config.sending_queue.num_consumers,
    serializer: config.serializer,
    retry: {
      enabled: retry.enabled,
      initialIntervalMs: retry.initial_interval,
      maxIntervalMs: retry.max_interval,
      maxElapsedMs: retry.max_elapsed_time,
      multiplier: retry.multiplier,
      randomizationFactor: retry.randomization_factor,
    },
  };
}

export class OtlpMetricsExporter implements MetricsExporter {
  private readonly _makeTransport: () => Transport;
  private readonly _options: EngineOptions;
  private readonly _log: Logger;
  private readonly _describe: Record<string, unknown>;
  private _engine: ExportEngine | null = null;
  private _shutdown: Promise<void> | null = null;

  constructor(makeTransport: () => Transport, options: EngineOptions, log: Logger, describe: Record<string, unknown>) {
    this._makeTransport = makeTransport;
    this._options = options;
    this._log = log;
    this._describe = describe;
  }

  private _ensureEngine(): ExportEngine {
    // Lazily, so a factory `create` does no I/O; the gRPC channel itself connects on the first call.
    this._engine ??= new ExportEngine(this._makeTransport(), this._options, this._log);
    return this._engine;
  }

  async start(_signal: AbortSignal): Promise<void> {
    this._ensureEngine();
    this._log.info(this._describe, 'otlp exporter started');
  }

  async export(batch: ExportBatch, signal: AbortSignal): Promise<ExportOutcome> {
    if (this._shutdown !== null) {
      const failedKeys = new Set(batch.resources.map((r) => r.key));
      let droppedPoints = 0;
      for (const r of batch.resources) for (const m of r.metrics) for (const s of m.series) droppedPoints += s.values.length;
      return { failedKeys, droppedPoints };
    }
    return this._ensureEngine().export(batch, signal);
  }

  shutdown(): Promise<void> {
    this._shutdown ??= (async () => {
      if (this._engine !== null) await this._engine.shutdown();
    })();
    return this._shutdown;
  }

  stats(): ExporterStats {
    return this._engine?.stats() ?? { requests: 0, requestBytes: 0, pointsSent: 0, pointsDropped: 0, retries: 0, failures: 0 };
  }

  /** Highest number of requests in flight at once (for tests and benches). */
  maxConcurrentRequests(): number {
    return this._engine?.maxConcurrentRequests() ?? 0;
  }

  /** Request buffers allocated so far (for tests and benches: reuse keeps it at most num_consumers). */
  requestBuffersCreated(): number {
    return this._engine?.requestBuffersCreated() ?? 0;
  }
}
