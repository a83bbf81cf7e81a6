// Small helpers shared by the OTLP exporter tests and the bench (no test framework imports here).

import type { Logger, MetricDefinition, ResourceMetricsData } from '../../plugin-api/index.ts';

export interface LogEntry {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string;
}

/** A Logger that keeps every entry (tests assert "logged once per failure episode"). */
export function recordingLogger(entries: LogEntry[] = []): Logger & { entries: LogEntry[] } {
  const make = (): Logger & { entries: LogEntry[] } => ({
    entries,
    debug: (obj, msg) => void entries.push({ level: 'debug', obj, msg }),
    info: (obj, msg) => void entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void entries.push({ level: 'error', obj, msg }),
    child: () => make(),
  });
  return make();
}

export function gaugeDef(name: string, extra: Partial<MetricDefinition> = {}): MetricDefinition {
  return { name, description: `${name} description`, unit: '1', kind: 'gauge', valueType: 'double', attributes: [], enabledByDefault: true, ...extra };
}

/** `count` resources with `seriesPerResource` series of `rows` points each (times 5 s apart from `startMs`). */
export function smallResources(count: number, seriesPerResource: number, rows: number, startMs = 1_763_750_000_123): ResourceMetricsData[] {
  const def = gaugeDef('test.gauge', { unit: 'By' });
  const timesMs = Array.from({ length: rows }, (_, i) => startMs + i * 5000);
  return Array.from({ length: count }, (_, r) => ({
    key: `vm:${r}`,
    resource: { 'xen.vm.uuid': `uuid-${r}`, 'service.name': 'test' },
    metrics: [
      {
        definition: def,
        series: Array.from({ length: seriesPerResource }, (_, s) => ({
          attributes: { device: `d${s}` },
          timesMs,
          values: Array.from({ length: rows }, (_, i) => r * 1000 + s + i / 8),
        })),
      },
    ],
  }));
}
