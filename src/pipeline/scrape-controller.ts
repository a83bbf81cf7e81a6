// Drives one receiver: owns the timer, the per-scrape deadline and the hand-off to the pipelines (the
// collector's scraperhelper controller). A scraper knows nothing about any of this.
//
// - First tick after `initial_delay` plus a random phase (spreads receivers that share an interval), then a
//   fixed-rate tick every `collection_interval`; timers are unref'd.
// - A cycle is scrape + processors + export + onDelivery. A tick that finds the previous cycle still running is
//   skipped and counted: overlapping scrapes wedge slow sources and would reorder an RRD cursor.
// - Each scrape runs under an AbortSignal that fires at `timeout`.
// - Failures are logged when the state changes (ok → failing, failing → ok, item starts/stops failing), and
//   counted every time.

import {
  AgentError,
  countPoints,
  errorCode,
  type Clock,
  type DeliveryReport,
  type Logger,
  type Scraper,
  type ScrapeItemError,
  type ScrapeResult,
} from '../plugin-api/index.ts';
import type { InstrumentationScope } from '../exporters/types.ts';
import type { SelfTelemetry } from '../telemetry/self-metrics.ts';
import { raceAbort, type Pipeline } from './pipeline.ts';

export const PIPELINE_ERR_SCRAPE_TIMEOUT = 'PIPELINE_ERR_SCRAPE_TIMEOUT';
export const PIPELINE_ERR_SHUTDOWN = 'PIPELINE_ERR_SHUTDOWN';

const MAX_ITEM_LOGS_PER_CYCLE = 10;

export interface ScrapeControllerOptions {
  readonly id: string;
  readonly scope: InstrumentationScope;
  readonly scraper: Scraper;
  readonly collectionIntervalMs: number;
  readonly timeoutMs: number;
  readonly initialDelayMs: number;
  readonly pipelines: readonly Pipeline[];
  readonly logger: Logger;
  readonly telemetry?: SelfTelemetry;
  readonly clock?: Clock;
  /** Random phase added to the first tick, as a fraction of the interval (default 0.1). */
  readonly jitterFraction?: number;
  readonly random?: () => number;
}

export type CycleOutcome =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'failed'; readonly code: string }
  | { readonly kind: 'scraped'; readonly points: number; readonly itemErrors: number; readonly report: DeliveryReport };

export class ScrapeController {
  readonly id: string;
  private readonly _o: ScrapeControllerOptions;
  private readonly _clock: Clock;
  private readonly _log: Logger;
  private readonly _stop = new AbortController();
  private _firstTimer: ReturnType<typeof setTimeout> | undefined;
  private _interval: ReturnType<typeof setInterval> | undefined;
  private _inFlight: Promise<void> | undefined;
  private _scraperStarted = false;
  private _stopped = false;
  private _failingCode: string | undefined;
  private readonly _failingItems = new Map<string, string>();
  private _skipped = 0;
  private _cycleDone = true;
  private _scrapeSettled = true;
  private _releaseSlot: () => void = () => {};

  constructor(options: ScrapeControllerOptions) {
    this.id = options.id;
    this._o = options;
    this._clock = options.clock ?? Date;
    this._log = options.logger;
  }

  get skippedTicks(): number {
    return this._skipped;
  }

  /** Returns at once; the scraper's own start runs inside the first cycle (a failure there is retried next tick). */
  start(): void {
    if (this._stopped || this._firstTimer || this._interval) return;
    const jitter = (this._o.random ?? Math.random)() * (this._o.jitterFraction ?? 0.1) * this._o.collectionIntervalMs;
    this._firstTimer = setTimeout(() => {
      this._firstTimer = undefined;
      if (this._stopped) return;
      this._interval = setInterval(() => void this.tick(), this._o.collectionIntervalMs);
      this._interval.unref();
      void this.tick();
    }, this._o.initialDelayMs + Math.floor(jitter));
    this._firstTimer.unref();
  }

  /** Runs a cycle now unless one is in flight (then counts a skip). Never rejects. */
  async tick(): Promise<CycleOutcome> {
    if (this._stopped) return { kind: 'skipped' };
    if (this._inFlight) {
      this._skipped += 1;
      this._o.telemetry?.recordSkipped(this.id);
      this._log.debug({ receiver: this.id }, 'previous scrape still running; tick skipped');
      return { kind: 'skipped' };
    }
    // The slot stays taken until the cycle is done and the scraper's own promise has settled too (it may
    // outlive its deadline if it ignores the signal).
    let release!: () => void;
    this._inFlight = new Promise<void>((resolve) => (release = resolve));
    this._cycleDone = false;
    this._releaseSlot = () => {
      if (!this._cycleDone || !this._scrapeSettled) return;
      this._inFlight = undefined;
      release();
    };
    return this._cycle()
      .catch((err: unknown): CycleOutcome => {
        this._log.error({ err, receiver: this.id }, 'scrape cycle failed unexpectedly');
        return { kind: 'failed', code: errorCode(err) };
      })
      .then((outcome) => {
        this._cycleDone = true;
        this._releaseSlot();
        return outcome;
      });
  }

  /**
   * Stops the timers, waits for the in-flight cycle (its scrape is aborted once `graceMs` has passed), then
   * shuts the scraper down. Idempotent.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this._stopped) return;
    this._stopped = true;
    clearTimeout(this._firstTimer);
    clearInterval(this._interval);
    if (this._inFlight) {
      const abortTimer = setTimeout(() => this._stop.abort(new AgentError(PIPELINE_ERR_SHUTDOWN, 'agent shutting down')), graceMs);
      const giveUp = new Promise((resolve) => setTimeout(resolve, graceMs + 500).unref());
      await Promise.race([this._inFlight, giveUp]);
      clearTimeout(abortTimer);
    }
    try {
      await this._o.scraper.shutdown?.();
    } catch (err) {
      this._log.warn({ err, receiver: this.id }, 'scraper shutdown failed');
    }
  }

  private async _cycle(): Promise<CycleOutcome> {
    const onScrape = (p: Promise<unknown>) => {
      this._scrapeSettled = false;
      void p.then(
        () => this._onScraperSettled(p),
        () => this._onScraperSettled(p),
      );
      this._lastScraperPromise = p;
    };
    const startMs = this._clock.now();
    const t0 = performance.now();
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new AgentError(PIPELINE_ERR_SCRAPE_TIMEOUT, `scrape exceeded its ${this._o.timeoutMs} ms deadline`)),
      this._o.timeoutMs,
    );
    const signal = AbortSignal.any([deadline.signal, this._stop.signal]);
    let result: ScrapeResult;
    try {
      if (!this._scraperStarted && this._o.scraper.start) {
        const starting = this._o.scraper.start(signal);
        onScrape(starting);
        await raceAbort(starting, signal);
      }
      this._scraperStarted = true;
      const scraping = this._o.scraper.scrape(signal);
      onScrape(scraping);
      result = await raceAbort(scraping, signal);
    } catch (err) {
      const code = errorCode(err);
      this._o.telemetry?.recordScrape(this.id, { durationMs: performance.now() - t0, points: 0, failedCode: code, itemErrors: [] });
      if (this._failingCode !== code) {
        this._log.warn({ err, code, receiver: this.id, started: this._scraperStarted }, 'scrape failing');
        this._failingCode = code;
      }
      return { kind: 'failed', code };
    } finally {
      clearTimeout(timer);
    }
    const durationMs = performance.now() - t0;
    if (this._failingCode !== undefined) {
      this._log.info({ receiver: this.id, previousCode: this._failingCode }, 'scrape recovered');
      this._failingCode = undefined;
    }
    const errors = result.errors ?? [];
    const points = countPoints(result.batch);
    this._o.telemetry?.recordScrape(this.id, { durationMs, points, itemErrors: errors });
    this._trackItems(errors);
    this._log.debug({ receiver: this.id, points, resources: result.batch.resources.length, durationMs, itemErrors: errors.length }, 'scraped');

    const outcomes = await Promise.all(
      this._o.pipelines.map((p) =>
        p.consume(result.batch, {
          receiver: this.id,
          scope: this._o.scope,
          scrapeStartMs: startMs,
          scrapeDurationMs: durationMs,
          errors,
          signal: this._stop.signal,
          points,
        }),
      ),
    );
    const failed = new Set<string>();
    for (const o of outcomes) for (const key of o.failedKeys) failed.add(key);
    const report = deliveryReport(failed);
    try {
      result.onDelivery?.(report);
    } catch (err) {
      this._log.error({ err, receiver: this.id }, 'onDelivery threw');
    }
    return { kind: 'scraped', points, itemErrors: errors.length, report };
  }

  private _lastScraperPromise: Promise<unknown> | undefined;

  private _onScraperSettled(p: Promise<unknown>): void {
    if (this._lastScraperPromise !== p) return;
    // The settled promise holds the whole scrape result (the batch): do not keep it until the next cycle.
    this._lastScraperPromise = undefined;
    this._scrapeSettled = true;
    this._releaseSlot();
  }

  private _trackItems(errors: readonly ScrapeItemError[]): void {
    const now = new Map(errors.map((e) => [e.item, e.code]));
    let logged = 0;
    let unlogged = 0;
    for (const e of errors) {
      if (this._failingItems.get(e.item) === e.code) continue;
      if (logged < MAX_ITEM_LOGS_PER_CYCLE) {
        this._log.warn({ err: e, code: e.code, item: e.item, receiver: this.id }, 'scrape item failing');
        logged += 1;
      } else unlogged += 1;
    }
    if (unlogged > 0) this._log.warn({ receiver: this.id, count: unlogged }, 'more scrape items failing');
    const recovered = [...this._failingItems.keys()].filter((item) => !now.has(item));
    if (recovered.length > 0) this._log.info({ receiver: this.id, items: recovered.slice(0, MAX_ITEM_LOGS_PER_CYCLE), count: recovered.length }, 'scrape items recovered');
    this._failingItems.clear();
    for (const [item, code] of now) this._failingItems.set(item, code);
  }
}

/**
 * Made outside `_cycle` on purpose: a closure created there shares that function's context, which holds the scrape
 * result, so whoever keeps the report (a receiver, the caller of `tick()`) would keep the whole batch alive.
 */
function deliveryReport(failed: ReadonlySet<string>): DeliveryReport {
  return { allDelivered: failed.size === 0, delivered: (key) => !failed.has(key) };
}
