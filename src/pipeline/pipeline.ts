// One `service.pipelines.metrics/x`: processors in order, then fan-out to every exporter in parallel.
// The result says which resource keys some exporter failed to deliver; a resource a processor removed
// counts as delivered (it was dropped on purpose).

import { countPoints, errorCode, type Logger, type MetricBatch, type ScrapeItemError } from '../plugin-api/index.ts';
import type { ExportBatch, InstrumentationScope, MetricsExporter } from '../exporters/types.ts';
import type { SelfTelemetry } from '../telemetry/self-metrics.ts';
import type { MetricsProcessor } from './processors/types.ts';

export interface ExporterHandle {
  readonly id: string;
  readonly exporter: MetricsExporter;
  /** False while the exporter's start is failing and being retried: its share of the batch is undelivered. */
  isReady(): boolean;
}

export interface ConsumeContext {
  readonly receiver: string;
  readonly scope: InstrumentationScope;
  readonly scrapeStartMs: number;
  readonly scrapeDurationMs: number;
  readonly errors: readonly ScrapeItemError[];
  /** Aborted on forced shutdown. */
  readonly signal?: AbortSignal;
  /** Points in the batch, when the caller counted them already (a pool-sized batch has ~170k series to walk). */
  readonly points?: number;
}

export interface PipelineResult {
  /** Resource keys at least one exporter did not deliver. */
  readonly failedKeys: ReadonlySet<string>;
  readonly exportedPoints: number;
  readonly filteredPoints: number;
}

export interface PipelineOptions {
  readonly id: string;
  readonly processors: readonly { readonly id: string; readonly processor: MetricsProcessor }[];
  readonly exporters: readonly ExporterHandle[];
  readonly logger: Logger;
  readonly telemetry?: SelfTelemetry;
  /** Deadline of one export call (the exporter retries inside it). */
  readonly exportTimeoutMs: number;
}

export class Pipeline {
  readonly id: string;
  private readonly _options: PipelineOptions;
  private readonly _failing = new Set<string>();

  constructor(options: PipelineOptions) {
    this.id = options.id;
    this._options = options;
  }

  get exporterIds(): string[] {
    return this._options.exporters.map((e) => e.id);
  }

  /** Never rejects. */
  async consume(batch: MetricBatch, context: ConsumeContext): Promise<PipelineResult> {
    const log = this._options.logger;
    let processed = batch;
    for (const { id, processor } of this._options.processors) {
      try {
        processed = processor.process(processed);
      } catch (err) {
        log.error({ err, processor: id, receiver: context.receiver }, 'processor failed; batch not delivered');
        return { failedKeys: keysOf(batch), exportedPoints: 0, filteredPoints: 0 };
      }
    }
    const pointsIn = context.points ?? countPoints(batch);
    const pointsOut = processed === batch ? pointsIn : countPoints(processed);
    this._options.telemetry?.recordFiltered(this.id, pointsIn - pointsOut);
    if (processed.resources.length === 0) return { failedKeys: new Set(), exportedPoints: 0, filteredPoints: pointsIn - pointsOut };

    const exportBatch: ExportBatch = {
      scope: context.scope,
      resources: processed.resources,
      origin: {
        receiver: context.receiver,
        pipeline: this.id,
        scrapeStartMs: context.scrapeStartMs,
        scrapeDurationMs: context.scrapeDurationMs,
        errors: context.errors.map((e) => ({ item: e.item, code: e.code, message: e.message })),
      },
    };
    const failedKeys = new Set<string>();
    await Promise.all(
      this._options.exporters.map(async (handle) => {
        const failed = await this._exportTo(handle, exportBatch, processed, context.signal);
        for (const key of failed) failedKeys.add(key);
        this._trackState(handle.id, failed.size > 0, context.receiver);
      }),
    );
    return { failedKeys, exportedPoints: pointsOut, filteredPoints: pointsIn - pointsOut };
  }

  private async _exportTo(handle: ExporterHandle, batch: ExportBatch, processed: MetricBatch, outer: AbortSignal | undefined): Promise<ReadonlySet<string>> {
    if (!handle.isReady()) return keysOf(processed);
    const signal = outer ? AbortSignal.any([outer, AbortSignal.timeout(this._options.exportTimeoutMs)]) : AbortSignal.timeout(this._options.exportTimeoutMs);
    try {
      const outcome = await raceAbort(handle.exporter.export(batch, signal), signal);
      return outcome.failedKeys;
    } catch (err) {
      // The contract says export never rejects; a rejection or a missed deadline means nothing was delivered.
      this._options.logger.debug({ err, exporter: handle.id, code: errorCode(err) }, 'export rejected');
      return keysOf(processed);
    }
  }

  private _trackState(exporter: string, failing: boolean, receiver: string): void {
    const was = this._failing.has(exporter);
    if (failing && !was) {
      this._failing.add(exporter);
      this._options.logger.warn({ pipeline: this.id, exporter, receiver }, 'export failing; data not delivered');
    } else if (!failing && was) {
      this._failing.delete(exporter);
      this._options.logger.info({ pipeline: this.id, exporter }, 'export recovered');
    }
  }
}

/** Every resource key of a batch: what is undelivered when a whole batch fails (built only then). */
function keysOf(batch: MetricBatch): Set<string> {
  const keys = new Set<string>();
  for (const r of batch.resources) keys.add(r.key);
  return keys;
}

/** Resolves/rejects with `promise`, or rejects when `signal` aborts first. */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
