// Test doubles for the agent core: an in-memory exporter, a scripted receiver, a registry and a silent logger.

import { z } from 'zod';
import { builtinReceivers } from '../../plugins/index.ts';
import { builtinExporters } from '../../src/exporters/registry.ts';
import type { ExportBatch, ExporterFactory, ExporterStats, ExportOutcome, MetricsExporter } from '../../src/exporters/types.ts';
import { ComponentRegistry } from '../../src/host/registry.ts';
import { filterProcessorFactory } from '../../src/pipeline/processors/filter.ts';
import type { ProcessorFactory } from '../../src/pipeline/processors/types.ts';
import { defineMetrics, PLUGIN_API_VERSION, type Logger, type MetricBatch, type ReceiverFactory, type Scraper } from '../../src/plugin-api/index.ts';

export interface LogEntry {
  level: string;
  obj: object;
  msg: string;
}

/** A Logger that records entries (and its children's) in one array. */
export function recordingLogger(entries: LogEntry[] = [], bindings: Record<string, unknown> = {}): Logger & { entries: LogEntry[] } {
  const at = (level: string) => (obj: object, msg: string) => entries.push({ level, obj: { ...bindings, ...obj }, msg });
  return {
    entries,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (b) => recordingLogger(entries, { ...bindings, ...b }),
  };
}

export interface MemoryExporter extends MetricsExporter {
  readonly batches: ExportBatch[];
  /** Keys this exporter reports as failed. */
  failKeys: Set<string>;
  shutdownCalls: number;
}

export function memoryExporter(): MemoryExporter {
  const stats: ExporterStats = { requests: 0, requestBytes: 0, pointsSent: 0, pointsDropped: 0, retries: 0, failures: 0 };
  const self: MemoryExporter = {
    batches: [],
    failKeys: new Set(),
    shutdownCalls: 0,
    async start() {},
    async export(batch: ExportBatch): Promise<ExportOutcome> {
      self.batches.push(batch);
      stats.requests += 1;
      const failed = new Set(batch.resources.map((r) => r.key).filter((k) => self.failKeys.has(k)));
      if (failed.size > 0) stats.failures += 1;
      return { failedKeys: failed, droppedPoints: 0 };
    },
    async shutdown() {
      self.shutdownCalls += 1;
    },
    stats: () => ({ ...stats }),
  };
  return self;
}

/** `memory` exporters by id, so a test can inspect what an agent exported. */
export function memoryExporterFactory(instances = new Map<string, MemoryExporter>()): ExporterFactory & { instances: Map<string, MemoryExporter> } {
  return {
    type: 'memory',
    configSchema: z.strictObject({}),
    instances,
    create(settings) {
      const e = memoryExporter();
      instances.set(settings.id, e);
      return e;
    },
  };
}

export const TEST_METRICS = defineMetrics({
  'test.value': { description: 'A test gauge.', unit: '1', kind: 'gauge', valueType: 'double', attributes: ['k'], enabledByDefault: true },
  'test.other': { description: 'Another test gauge.', unit: 'By', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true },
});

/** Two resources (`r:a`, `r:b`), two metrics each, one point per series. */
export function sampleBatch(timeMs = 1_000_000): MetricBatch {
  const resource = (name: string) => ({
    key: `r:${name}`,
    resource: { 'test.name': name, 'test.env': name === 'a' ? 'prod' : 'lab' },
    metrics: [
      { definition: TEST_METRICS['test.value'], series: [{ attributes: { k: 'x', drop_me: 'y' }, timesMs: [timeMs], values: [0.5] }] },
      { definition: TEST_METRICS['test.other'], series: [{ attributes: {}, timesMs: [timeMs], values: [42] }] },
    ],
  });
  return { resources: [resource('a'), resource('b')] };
}

export const testReceiverConfig = z.strictObject({ pools: z.array(z.string()).default([]), label: z.string().default('t') });

/** A receiver whose scraper the test supplies. */
export function testReceiverFactory(makeScraper: () => Scraper, type = 'test_receiver'): ReceiverFactory<z.output<typeof testReceiverConfig>> {
  return {
    type,
    stability: 'development',
    apiVersion: `^${PLUGIN_API_VERSION}`,
    description: 'scripted test receiver',
    configSchema: testReceiverConfig,
    poolsOf: (c) => c.pools,
    createScraper: () => makeScraper(),
  };
}

export function builtinRegistry(extra: { receivers?: ReceiverFactory[]; exporters?: ExporterFactory[] } = {}): ComponentRegistry {
  return new ComponentRegistry({
    receivers: [...builtinReceivers, ...(extra.receivers ?? [])],
    exporters: [...builtinExporters({ debugOutput: { write: () => true } }), ...(extra.exporters ?? [])],
    processors: [filterProcessorFactory as ProcessorFactory],
  });
}
