// The receiver plugin contract. Built-in receivers (plugins/*) and third-party ones implement exactly this.
// A receiver knows nothing about timers or exporters (the collector's scraper model): the host calls `scrape`
// on its schedule and ships what comes back.

import type { z } from 'zod';
import type { XapiPool } from '../lib/xapi/types.ts';
import type { ScrapeItemError } from './errors.ts';
import type { MetricBatch } from './metrics.ts';

/** Semver of this API; a plugin declares the range it was written for in `apiVersion`. */
export const PLUGIN_API_VERSION = '1.0.0';

export type Stability = 'development' | 'alpha' | 'beta' | 'stable';

/** Minimal structured logger (pino-compatible): `log.warn({ err, host }, 'constant message')`. */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface Clock {
  /** Unix time in milliseconds. */
  now(): number;
}

/** Shared XAPI connections, one per configured pool (one session and one inventory each). */
export interface PoolProvider {
  /** The pool named in `pools:`; throws an AgentError if it does not exist (config validation prevents that). */
  get(name: string): XapiPool;
  names(): string[];
}

/** What the host hands a receiver at construction (the collector's `Settings`). */
export interface ReceiverSettings {
  /** `type/name`, e.g. `rrd_updates/prod`. */
  readonly id: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly pools: PoolProvider;
}

/** Tells a receiver which resources of a scrape reached every exporter. */
export interface DeliveryReport {
  readonly allDelivered: boolean;
  /** True if the resource with this `ResourceMetricsData.key` was accepted by every exporter of the pipeline. */
  delivered(resourceKey: string): boolean;
}

export interface ScrapeResult {
  readonly batch: MetricBatch;
  /** Per-item failures; the data in `batch` still ships. */
  readonly errors: ScrapeItemError[];
  /**
   * Called exactly once after the pipeline finished with this batch (delivered, dropped by a processor, or failed
   * after retries). A receiver whose source can replay (the RRD cursor) advances only for delivered resources.
   */
  onDelivery?(report: DeliveryReport): void;
}

export interface Scraper {
  /** Quick; a failed first connection is logged and retried later, not fatal. */
  start?(signal: AbortSignal): Promise<void>;
  /** Throw only when nothing at all could be read; otherwise return partial data plus errors. */
  scrape(signal: AbortSignal): Promise<ScrapeResult>;
  /** Idempotent; safe without start. */
  shutdown?(): Promise<void>;
}

export interface ReceiverFactory<C = unknown> {
  /** lower_snake_case; equals the config key (`rrd_updates`, `sr_usage`). */
  readonly type: string;
  readonly stability: Stability;
  /** Semver range of PLUGIN_API_VERSION this plugin supports, e.g. `^1.0.0`. */
  readonly apiVersion: string;
  readonly description: string;
  /** Parsing applies defaults and validates; there is no other validation path. */
  readonly configSchema: z.ZodType<C>;
  /** Names of `pools:` entries this config refers to, so the host can validate them and open only those. */
  poolsOf?(config: C): string[];
  /** No I/O here. */
  createScraper(settings: ReceiverSettings, config: Readonly<C>): Scraper;
}
