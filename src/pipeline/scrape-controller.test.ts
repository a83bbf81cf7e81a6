import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryExporter, recordingLogger, sampleBatch } from '../../test/core/helpers.ts';
import { forceGc as gc } from '../../test/helpers/gc.ts';
import { ScrapeItemError, type DeliveryReport, type MetricBatch, type Scraper, type ScrapeResult } from '../plugin-api/index.ts';
import type { MetricsExporter } from '../exporters/types.ts';
import { SelfTelemetry } from '../telemetry/self-metrics.ts';
import { Pipeline, type ExporterHandle } from './pipeline.ts';
import { createFilterProcessor } from './processors/filter.ts';
import { PIPELINE_ERR_SCRAPE_TIMEOUT, ScrapeController } from './scrape-controller.ts';

const handle = (id: string, exporter = memoryExporter()): ExporterHandle & { exporter: ReturnType<typeof memoryExporter> } => ({
  id,
  exporter,
  isReady: () => true,
});

function setup(scraper: Scraper, options: { exporters?: ExporterHandle[]; processors?: Pipeline['id'][] } = {}) {
  const log = recordingLogger();
  const telemetry = new SelfTelemetry({ serviceVersion: '0.0.0-test', instanceId: 'i-1' });
  const exporters = options.exporters ?? [handle('memory')];
  const pipeline = new Pipeline({ id: 'metrics', processors: [], exporters, logger: log, telemetry, exportTimeoutMs: 1000 });
  const controller = new ScrapeController({
    id: 'test/a',
    scope: { name: 'test' },
    scraper,
    collectionIntervalMs: 1000,
    timeoutMs: 500,
    initialDelayMs: 0,
    pipelines: [pipeline],
    logger: log,
    telemetry,
    random: () => 0,
  });
  return { log, telemetry, controller, exporters };
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('ScrapeController', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('scrapes after the initial delay, then every interval, and exports each batch', async () => {
    // arrange
    const scrape = vi.fn(async (): Promise<ScrapeResult> => ({ batch: sampleBatch(), errors: [] }));
    const { controller, exporters } = setup({ scrape });
    // act
    controller.start();
    await vi.advanceTimersByTimeAsync(2500);
    await controller.shutdown(100);
    // assert
    expect(scrape).toHaveBeenCalledTimes(3); // t=0, 1000, 2000
    expect((exporters[0] as ReturnType<typeof handle>).exporter.batches).toHaveLength(3);
  });

  it('skips and counts a tick while the previous cycle is still running', async () => {
    // arrange
    const gate = deferred<ScrapeResult>();
    const scrape = vi.fn(() => gate.promise);
    const { controller, telemetry } = setup({ scrape });
    // act
    const first = controller.tick();
    const second = await controller.tick();
    gate.resolve({ batch: sampleBatch(), errors: [] });
    const firstOutcome = await first;
    // assert
    expect(second).toEqual({ kind: 'skipped' });
    expect(firstOutcome.kind).toBe('scraped');
    expect(scrape).toHaveBeenCalledTimes(1);
    expect(controller.skippedTicks).toBe(1);
    expect(telemetry.value('xen_otel_agent.scrapes.skipped', { receiver: 'test/a' })).toBe(1);
  });

  it('aborts a scrape at its deadline, counts the failure, and keeps the slot until the scraper gives up', async () => {
    // arrange
    let seen: AbortSignal | undefined;
    const ignoresSignal = deferred<ScrapeResult>();
    const { controller, telemetry, log } = setup({
      scrape: (signal) => {
        seen = signal;
        return ignoresSignal.promise;
      },
    });
    // act
    const outcome = controller.tick();
    await vi.advanceTimersByTimeAsync(500);
    // assert
    expect(await outcome).toEqual({ kind: 'failed', code: PIPELINE_ERR_SCRAPE_TIMEOUT });
    expect(seen?.aborted).toBe(true);
    expect(telemetry.value('xen_otel_agent.scrape.errors', { receiver: 'test/a', code: PIPELINE_ERR_SCRAPE_TIMEOUT })).toBe(1);
    expect(log.entries.filter((e) => e.msg === 'scrape failing')).toHaveLength(1);
    expect(await controller.tick()).toEqual({ kind: 'skipped' }); // the scraper has not settled yet
    ignoresSignal.resolve({ batch: sampleBatch(), errors: [] });
    await vi.advanceTimersByTimeAsync(0);
    expect((await controller.tick()).kind).toBe('scraped');
    expect(log.entries.filter((e) => e.msg === 'scrape recovered')).toHaveLength(1);
  });

  it('logs a repeating failure once and counts every occurrence', async () => {
    // arrange
    const { controller, telemetry, log } = setup({ scrape: async () => Promise.reject(new Error('down')) });
    // act
    for (let i = 0; i < 3; i++) await controller.tick();
    // assert
    expect(log.entries.filter((e) => e.msg === 'scrape failing')).toHaveLength(1);
    expect(telemetry.value('xen_otel_agent.scrape.errors', { receiver: 'test/a', code: 'AGENT_ERR_UNEXPECTED' })).toBe(3);
  });

  it('ships partial data, counts item errors per host, and logs items on state change', async () => {
    // arrange
    const err = new ScrapeItemError('RRD_ERR_HTTP', 'host:h1', 'HTTP 500');
    const { controller, telemetry, log, exporters } = setup({ scrape: async () => ({ batch: sampleBatch(), errors: [err] }) });
    // act
    await controller.tick();
    await controller.tick();
    // assert
    expect((exporters[0] as ReturnType<typeof handle>).exporter.batches[0]!.origin?.errors).toEqual([{ item: 'host:h1', code: 'RRD_ERR_HTTP', message: 'HTTP 500' }]);
    expect(telemetry.value('xen_otel_agent.scrape.item_errors', { receiver: 'test/a', code: 'RRD_ERR_HTTP', host: 'h1' })).toBe(2);
    expect(telemetry.value('xen_otel_agent.scrapes', { receiver: 'test/a', outcome: 'partial' })).toBe(2);
    expect(log.entries.filter((e) => e.msg === 'scrape item failing')).toHaveLength(1);
  });

  it('reports a resource delivered only if every exporter accepted it', async () => {
    // arrange
    const reports: DeliveryReport[] = [];
    const ok = handle('memory/ok');
    const flaky = handle('memory/flaky');
    flaky.exporter.failKeys.add('r:b');
    const { controller } = setup({ scrape: async () => ({ batch: sampleBatch(), errors: [], onDelivery: (r) => reports.push(r) }) }, { exporters: [ok, flaky] });
    // act
    await controller.tick();
    // assert
    expect(reports).toHaveLength(1);
    expect(reports[0]!.allDelivered).toBe(false);
    expect(reports[0]!.delivered('r:a')).toBe(true);
    expect(reports[0]!.delivered('r:b')).toBe(false);
  });

  it('treats an exporter that is not ready (start failing) as undelivered', async () => {
    const reports: DeliveryReport[] = [];
    const down: ExporterHandle = { id: 'down', exporter: memoryExporter(), isReady: () => false };
    const { controller } = setup({ scrape: async () => ({ batch: sampleBatch(), errors: [], onDelivery: (r) => reports.push(r) }) }, { exporters: [down] });
    await controller.tick();
    expect(reports[0]!.delivered('r:a')).toBe(false);
  });

  it('waits for the in-flight cycle on shutdown and then shuts the scraper down', async () => {
    // arrange
    const gate = deferred<ScrapeResult>();
    const shutdown = vi.fn(async () => {});
    const { controller, exporters } = setup({ scrape: () => gate.promise, shutdown });
    void controller.tick();
    // act
    const stopping = controller.shutdown(1000);
    gate.resolve({ batch: sampleBatch(), errors: [] });
    await stopping;
    // assert
    expect((exporters[0] as ReturnType<typeof handle>).exporter.batches).toHaveLength(1);
    expect(shutdown).toHaveBeenCalledTimes(1);
    expect(await controller.tick()).toEqual({ kind: 'skipped' });
  });
});

describe('Pipeline with processors', () => {
  it('filters, drops attributes, and counts processor-dropped resources as delivered', async () => {
    // arrange
    const sink = handle('memory');
    const telemetry = new SelfTelemetry({ serviceVersion: 't' });
    const filter = createFilterProcessor({
      metrics: { exclude: ['test.oth*'] },
      resources: { exclude: { 'test.env': ['lab'] } },
      drop_attributes: ['drop_me'],
    });
    const pipeline = new Pipeline({ id: 'metrics', processors: [{ id: 'filter', processor: filter }], exporters: [sink], logger: recordingLogger(), telemetry, exportTimeoutMs: 1000 });
    // act
    const result = await pipeline.consume(sampleBatch(), { receiver: 'r', scope: { name: 's' }, scrapeStartMs: 0, scrapeDurationMs: 1, errors: [] });
    // assert
    const exported = sink.exporter.batches[0]!;
    expect(exported.resources.map((r) => r.key)).toEqual(['r:a']);
    expect(exported.resources[0]!.metrics.map((m) => m.definition.name)).toEqual(['test.value']);
    expect(exported.resources[0]!.metrics[0]!.series[0]!.attributes).toEqual({ k: 'x' });
    expect(result.failedKeys.size).toBe(0);
    expect(result.filteredPoints).toBe(3);
    expect(telemetry.value('xen_otel_agent.processor.filtered_points', { pipeline: 'metrics' })).toBe(3);
  });

  it('keeps only included metrics and resources', () => {
    const filter = createFilterProcessor({ metrics: { include: ['test.val?e'] }, resources: { include: { 'test.name': ['a', 'c*'] } } });
    const out = filter.process(sampleBatch());
    expect(out.resources.map((r) => [r.key, r.metrics.map((m) => m.definition.name)])).toEqual([['r:a', ['test.value']]]);
  });
});

describe('ScrapeController memory', () => {
  /** Delivers everything and keeps nothing (the memory exporter keeps its batches). */
  const forgetfulExporter: MetricsExporter = {
    start: async () => {},
    export: async () => ({ failedKeys: new Set(), droppedPoints: 0 }),
    shutdown: async () => {},
    stats: () => ({ requests: 0, requestBytes: 0, pointsSent: 0, pointsDropped: 0, retries: 0, failures: 0 }),
  };

  it('a delivery report the receiver keeps does not keep the scrape batch alive', async () => {
    // arrange: a receiver that keeps the last report (as a cursor might), and a weak handle on its batch
    let kept: DeliveryReport | undefined;
    let batchRef: WeakRef<MetricBatch> | undefined;
    const { controller } = setup(
      {
        scrape: async () => {
          const batch = sampleBatch();
          batchRef = new WeakRef(batch);
          return { batch, errors: [], onDelivery: (report) => (kept = report) };
        },
      },
      { exporters: [{ id: 'forgetful', exporter: forgetfulExporter, isReady: () => true }] },
    );
    // act
    const outcome = await controller.tick();
    for (let i = 0; i < 4; i++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    // assert
    expect(outcome.kind).toBe('scraped');
    expect(kept?.delivered('r:a')).toBe(true);
    expect(batchRef?.deref()).toBeUndefined();
  });
});
