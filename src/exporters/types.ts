// Contract between the pipeline and exporters (otlp gRPC, otlphttp, debug, test sinks).

import type { z } from 'zod';
import type { Logger, ResourceMetricsData } from '../plugin-api/index.ts';

export interface InstrumentationScope {
  name: string;
  version?: string;
}

/** The output of one scrape of one receiver, after processors. */
export interface ExportBatch {
  readonly scope: InstrumentationScope;
  readonly resources: readonly ResourceMetricsData[];
  /** Where the batch came from; optional context for human-facing exporters (debug) and logs. */
  readonly origin?: BatchOrigin;
}

/** The scrape behind an ExportBatch. */
export interface BatchOrigin {
  /** Receiver id (`rrd_updates/prod`), or `agent` for self-telemetry. */
  readonly receiver: string;
  /** Pipeline id (`metrics`, `metrics/backend`). */
  readonly pipeline: string;
  /** Unix ms when the scrape started. */
  readonly scrapeStartMs: number;
  readonly scrapeDurationMs: number;
  /** Per-item errors of the scrape; the data in the batch still ships. */
  readonly errors: readonly { readonly item: string; readonly code: string; readonly message: string }[];
}

export interface ExportOutcome {
  /** `ResourceMetricsData.key`s that were not delivered (after retries); empty = everything delivered. */
  readonly failedKeys: ReadonlySet<string>;
  /** Points given up on (also counted in self-telemetry and logged by the exporter). */
  readonly droppedPoints: number;
}

export interface ExporterSettings {
  /** `type/name`, e.g. `otlp/backend`. */
  readonly id: string;
  readonly logger: Logger;
}

export interface MetricsExporter {
  start(signal: AbortSignal): Promise<void>;
  /** Never rejects for delivery failures: they are reported in the outcome. */
  export(batch: ExportBatch, signal: AbortSignal): Promise<ExportOutcome>;
  /** Waits for in-flight exports, then closes connections. Idempotent. */
  shutdown(): Promise<void>;
  /** Counters for self-telemetry. */
  stats(): ExporterStats;
}

export interface ExporterStats {
  requests: number;
  requestBytes: number;
  pointsSent: number;
  pointsDropped: number;
  retries: number;
  failures: number;
}

export interface ExporterFactory<C = unknown> {
  readonly type: string;
  readonly configSchema: z.ZodType<C>;
  create(settings: ExporterSettings, config: Readonly<C>): MetricsExporter;
}
