// Golden-file normaliser for MetricBatch (the collector's pkg/golden: sort, then timestamps to ordinals).
// Resources are sorted by key, metrics by name, series by their attributes; every distinct timestamp of the
// batch is replaced by its ordinal (1, 2, …) so goldens do not depend on capture times but keep their order.
// Output is stable 2-space JSON with a trailing newline.

import type { AttributeValue, Attributes, MetricBatch } from '../../src/plugin-api/index.ts';

export interface GoldenOptions {
  /** Keep real timestamps (unix ms) instead of ordinals. */
  readonly keepTimestamps?: boolean;
}

export function toGolden(batch: MetricBatch, options: GoldenOptions = {}): string {
  const distinct = new Set<number>();
  for (const r of batch.resources) for (const m of r.metrics) for (const s of m.series) for (let i = 0; i < s.timesMs.length; i++) distinct.add(s.timesMs[i]!);
  const ordinal = new Map([...distinct].sort((a, b) => a - b).map((t, i) => [t, i + 1]));
  const time = (t: number): number => (options.keepTimestamps ? t : ordinal.get(t)!);

  const resources = [...batch.resources]
    .sort((a, b) => compare(a.key, b.key))
    .map((r) => ({
      key: r.key,
      resource: sortedAttributes(r.resource),
      metrics: [...r.metrics]
        .sort((a, b) => compare(a.definition.name, b.definition.name))
        .map((m) => ({
          name: m.definition.name,
          unit: m.definition.unit,
          kind: m.definition.kind,
          series: m.series
            .map((s) => ({
              attributes: sortedAttributes(s.attributes),
              points: Array.from({ length: s.timesMs.length }, (_, i) => [time(s.timesMs[i]!), s.values[i]!] as const),
            }))
            .sort((a, b) => compare(JSON.stringify(a.attributes), JSON.stringify(b.attributes))),
        })),
    }));
  // Each point `[time, value]` on one line keeps goldens short and diffs readable.
  const text = JSON.stringify({ resources }, null, 2).replace(/\[\n\s+(-?[\d.e+-]+),\n\s+(-?[\d.e+-]+)\n\s+\]/g, '[$1, $2]');
  return `${text}\n`;
}

function sortedAttributes(attributes: Attributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key of Object.keys(attributes).sort(compare)) out[key] = attributes[key]!;
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
