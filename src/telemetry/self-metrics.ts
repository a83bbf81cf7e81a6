// The agent's own metrics, as plain MetricBatch data on the agent's resource, shipped through the same
// exporters as receiver data. Counters are cumulative since process start.

import { randomUUID } from 'node:crypto';
import {
  defineMetrics,
  type Attributes,
  type MetricBatch,
  type MetricData,
  type MetricDefinition,
  type ScrapeItemError,
  type SeriesData,
} from '../plugin-api/index.ts';
import type { ExporterStats } from '../exporters/types.ts';

/** A cumulative integer count, on by default: every self-metric but the two gauges. */
function counter<const A extends readonly string[]>(description: string, unit: string, attributes: A) {
  return { description, unit, kind: 'sum', monotonic: true, valueType: 'int', attributes, enabledByDefault: true } as const;
}

export const SELF_METRICS = defineMetrics({
  'xen_otel_agent.scrape.duration': {
    description: 'Duration of the last scrape of the receiver, export excluded.',
    unit: 's',
    kind: 'gauge',
    valueType: 'double',
    attributes: ['receiver'],
    enabledByDefault: true,
  },
  'xen_otel_agent.scrapes': counter('Scrapes run, by outcome (success, partial, failure).', '{scrape}', ['receiver', 'outcome']),
  'xen_otel_agent.scrape.errors': counter('Scrapes that produced no data at all, by error code.', '{error}', ['receiver', 'code']),
  'xen_otel_agent.scrape.item_errors': counter('Per-item failures inside otherwise successful scrapes, by code and host (when the item is a host).', '{error}', ['receiver', 'code', 'host']),
  'xen_otel_agent.scrapes.skipped': counter('Ticks skipped because the previous scrape and export of the receiver were still running.', '{scrape}', ['receiver']),
  'xen_otel_agent.receiver.points': counter('Data points produced by the receiver.', '{point}', ['receiver']),
  'xen_otel_agent.processor.filtered_points': counter('Data points removed by the processors of a pipeline (on purpose; counted as delivered).', '{point}', ['pipeline']),
  'xen_otel_agent.exporter.sent_points': counter('Data points the exporter delivered.', '{point}', ['exporter']),
  'xen_otel_agent.exporter.dropped_points': counter('Data points the exporter gave up on after retries.', '{point}', ['exporter']),
  'xen_otel_agent.exporter.requests': counter('Export requests sent.', '{request}', ['exporter']),
  'xen_otel_agent.exporter.failures': counter('Export requests that failed after retries.', '{request}', ['exporter']),
  'xen_otel_agent.exporter.retries': counter('Export attempts retried.', '{request}', ['exporter']),
  'xen_otel_agent.exporter.sent_bytes': counter('Bytes of export requests sent.', 'By', ['exporter']),
  'xen_otel_agent.uptime': {
    description: 'Time since the agent process started.',
    unit: 's',
    kind: 'gauge',
    valueType: 'double',
    attributes: [],
    enabledByDefault: true,
  },
});

type SelfMetricName = keyof typeof SELF_METRICS;

export interface AgentIdentity {
  readonly serviceVersion: string;
  readonly instanceId?: string;
}

export const AGENT_RECEIVER_ID = 'agent';

/** Counters updated by the scrape controllers and pipelines; `collect()` turns them into a batch. */
export class SelfTelemetry {
  readonly resource: Attributes;
  private readonly _startMs: number;
  private readonly _now: () => number;
  private readonly _values = new Map<SelfMetricName, Map<string, { attributes: Attributes; value: number }>>();
  private readonly _exporters = new Map<string, () => ExporterStats>();

  constructor(identity: AgentIdentity, clock: { now(): number } = Date) {
    this._now = () => clock.now();
    this._startMs = this._now();
    this.resource = Object.freeze({
      'service.name': 'xen-otel-agent',
      'service.version': identity.serviceVersion,
      'service.instance.id': identity.instanceId ?? randomUUID(),
    });
  }

  get resourceKey(): string {
    return `agent:${String(this.resource['service.instance.id'])}`;
  }

  recordScrape(receiver: string, outcome: { durationMs: number; points: number; failedCode?: string; itemErrors: readonly ScrapeItemError[] }): void {
    const result = outcome.failedCode !== undefined ? 'failure' : outcome.itemErrors.length > 0 ? 'partial' : 'success';
    this._set('xen_otel_agent.scrape.duration', { receiver }, outcome.durationMs / 1000);
    this._add('xen_otel_agent.scrapes', { receiver, outcome: result }, 1);
    this._add('xen_otel_agent.receiver.points', { receiver }, outcome.points);
    if (outcome.failedCode !== undefined) this._add('xen_otel_agent.scrape.errors', { receiver, code: outcome.failedCode }, 1);
    for (const err of outcome.itemErrors) {
      const host = err.item.startsWith('host:') ? err.item.slice('host:'.length) : '';
      this._add('xen_otel_agent.scrape.item_errors', { receiver, code: err.code, host }, 1);
    }
  }

  recordSkipped(receiver: string): void {
    this._add('xen_otel_agent.scrapes.skipped', { receiver }, 1);
  }

  recordFiltered(pipeline: string, points: number): void {
    if (points > 0) this._add('xen_otel_agent.processor.filtered_points', { pipeline }, points);
  }

  /** Exporter counters are read from `MetricsExporter.stats()` at collection time. */
  watchExporter(id: string, stats: () => ExporterStats): void {
    this._exporters.set(id, stats);
  }

  /** Current value of one series (tests, debugging). */
  value(name: SelfMetricName, attributes: Attributes): number | undefined {
    return this._values.get(name)?.get(attributesKey(attributes))?.value;
  }

  collect(): MetricBatch {
    const now = this._now();
    for (const [exporter, stats] of this._exporters) {
      let s: ExporterStats;
      try {
        s = stats();
      } catch {
        continue;
      }
      this._set('xen_otel_agent.exporter.sent_points', { exporter }, s.pointsSent);
      this._set('xen_otel_agent.exporter.dropped_points', { exporter }, s.pointsDropped);
      this._set('xen_otel_agent.exporter.requests', { exporter }, s.requests);
      this._set('xen_otel_agent.exporter.failures', { exporter }, s.failures);
      this._set('xen_otel_agent.exporter.retries', { exporter }, s.retries);
      this._set('xen_otel_agent.exporter.sent_bytes', { exporter }, s.requestBytes);
    }
    this._set('xen_otel_agent.uptime', {}, (now - this._startMs) / 1000);
    const metrics: MetricData[] = [];
    for (const [name, bySeries] of this._values) {
      const definition: MetricDefinition = SELF_METRICS[name];
      const series: SeriesData[] = [];
      for (const { attributes, value } of bySeries.values()) {
        series.push({ attributes, timesMs: [now], values: [value], ...(definition.kind === 'sum' ? { startTimeMs: this._startMs } : {}) });
      }
      metrics.push({ definition, series });
    }
    return { resources: [{ key: this.resourceKey, resource: this.resource, metrics }] };
  }

  private _series(name: SelfMetricName, attributes: Attributes): { attributes: Attributes; value: number } {
    let bySeries = this._values.get(name);
    if (!bySeries) {
      bySeries = new Map();
      this._values.set(name, bySeries);
    }
    const key = attributesKey(attributes);
    let entry = bySeries.get(key);
    if (!entry) {
      entry = { attributes, value: 0 };
      bySeries.set(key, entry);
    }
    return entry;
  }

  private _add(name: SelfMetricName, attributes: Attributes, delta: number): void {
    this._series(name, attributes).value += delta;
  }

  private _set(name: SelfMetricName, attributes: Attributes, value: number): void {
    this._series(name, attributes).value = value;
  }
}

function attributesKey(attributes: Attributes): string {
  return JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
