// `debug` exporter: a compact human summary of every batch, written to stdout (what `npm start` shows).

import { z } from 'zod';
import { countPoints, type ResourceMetricsData } from '../../plugin-api/index.ts';
import type { ExportBatch, ExporterFactory, ExporterStats, ExportOutcome, MetricsExporter } from '../types.ts';

export const debugConfigSchema = z.strictObject({
  verbosity: z.enum(['basic', 'normal', 'detailed']).default('basic').meta({
    description: 'basic: one line per batch; normal: plus one line per metric and the scrape errors; detailed: every resource and series',
  }),
});
export type DebugConfig = z.output<typeof debugConfigSchema>;

export interface DebugOutput {
  write(text: string): unknown;
}

const MAX_ERROR_LINES = 10;
const NO_FAILURES: ReadonlySet<string> = new Set();

export function createDebugExporter(id: string, config: DebugConfig, output: DebugOutput): MetricsExporter {
  const stats: ExporterStats = { requests: 0, requestBytes: 0, pointsSent: 0, pointsDropped: 0, retries: 0, failures: 0 };
  let closed = false;
  return {
    async start() {},
    async export(batch: ExportBatch): Promise<ExportOutcome> {
      const points = countPoints({ resources: [...batch.resources] });
      const text = render(id, batch, points, config.verbosity);
      stats.requests += 1;
      stats.requestBytes += Buffer.byteLength(text);
      stats.pointsSent += points;
      output.write(text);
      return { failedKeys: NO_FAILURES, droppedPoints: 0 };
    },
    async shutdown() {
      if (closed) return;
      closed = true;
      output.write(`${timestamp(Date.now())} ${id} shutdown: ${stats.requests} batches, ${stats.pointsSent} points\n`);
    },
    stats: () => ({ ...stats }),
  };
}

export function createDebugExporterFactory(output: DebugOutput = process.stdout): ExporterFactory<DebugConfig> {
  return {
    type: 'debug',
    configSchema: debugConfigSchema,
    create: (settings, config) => createDebugExporter(settings.id, config, output),
  };
}

function render(id: string, batch: ExportBatch, points: number, verbosity: DebugConfig['verbosity']): string {
  const origin = batch.origin;
  let metrics = 0;
  let series = 0;
  for (const r of batch.resources) {
    metrics += r.metrics.length;
    for (const m of r.metrics) series += m.series.length;
  }
  const head = [
    timestamp(origin ? origin.scrapeStartMs : Date.now()),
    id,
    origin ? `${origin.receiver} → ${origin.pipeline}` : batch.scope.name,
    `resources=${batch.resources.length}`,
    `metrics=${metrics}`,
    `series=${series}`,
    `points=${points}`,
  ];
  if (origin) head.push(`scrape=${Math.round(origin.scrapeDurationMs)}ms`, `errors=${origin.errors.length}`);
  const lines = [head.join(' ')];
  if (verbosity !== 'basic') {
    for (const line of metricSummary(batch.resources)) lines.push(`  ${line}`);
    for (const e of origin?.errors.slice(0, MAX_ERROR_LINES) ?? []) lines.push(`  ! ${e.item} ${e.code}: ${e.message}`);
    if (origin && origin.errors.length > MAX_ERROR_LINES) lines.push(`  ! … ${origin.errors.length - MAX_ERROR_LINES} more errors`);
  }
  if (verbosity === 'detailed') {
    for (const r of batch.resources) {
      lines.push(`  resource ${r.key} ${formatAttributes(r.resource)}`);
      for (const m of r.metrics) {
        for (const s of m.series) {
          const n = s.values.length;
          const last = n > 0 ? s.values[n - 1] : undefined;
          lines.push(`    ${m.definition.name}${formatAttributes(s.attributes)} points=${n} last=${formatValue(last)} [${m.definition.unit}]`);
        }
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function metricSummary(resources: readonly ResourceMetricsData[]): string[] {
  const byName = new Map<string, { unit: string; kind: string; series: number; points: number; min: number; max: number }>();
  for (const r of resources) {
    for (const m of r.metrics) {
      let entry = byName.get(m.definition.name);
      if (!entry) {
        entry = { unit: m.definition.unit, kind: m.definition.kind, series: 0, points: 0, min: Infinity, max: -Infinity };
        byName.set(m.definition.name, entry);
      }
      for (const s of m.series) {
        entry.series += 1;
        entry.points += s.values.length;
        for (let i = 0; i < s.values.length; i++) {
          const v = s.values[i]!;
          if (v < entry.min) entry.min = v;
          if (v > entry.max) entry.max = v;
        }
      }
    }
  }
  return [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, e]) => `${name} [${e.unit}] ${e.kind} series=${e.series} points=${e.points} range=${formatValue(e.min)}..${formatValue(e.max)}`);
}

function formatAttributes(attrs: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(attrs);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}=${String(v)}`).join(', ')}}`;
}

function formatValue(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return String(v ?? '-');
  return Number.isInteger(v) ? String(v) : v.toPrecision(4);
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString();
}
