// `filter` processor: keep/drop metrics by name, resources by attribute, and remove attributes.
// Patterns are globs (`*` any run of characters, `?` one character) matched against the whole value.

import { z } from 'zod';
import type { Attributes, MetricBatch, MetricData, ResourceMetricsData } from '../../plugin-api/index.ts';
import type { MetricsProcessor, ProcessorFactory } from './types.ts';

const patterns = z.array(z.string().min(1)).min(1);
const attributePatterns = z.record(z.string().min(1), patterns);

export const filterConfigSchema = z.strictObject({
  metrics: z
    .strictObject({
      include: patterns.optional().meta({ description: 'Keep only metrics whose name matches one of these globs' }),
      exclude: patterns.optional().meta({ description: 'Drop metrics whose name matches one of these globs' }),
    })
    .optional(),
  resources: z
    .strictObject({
      include: attributePatterns.optional().meta({ description: 'Keep a resource only if every listed attribute matches one of its globs' }),
      exclude: attributePatterns.optional().meta({ description: 'Drop a resource if any listed attribute matches one of its globs' }),
    })
    .optional(),
  drop_attributes: z.array(z.string().min(1)).optional().meta({ description: 'Attribute keys removed from resources and data points' }),
});

export type FilterConfig = z.output<typeof filterConfigSchema>;

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

type Matcher = (value: string) => boolean;

function matcher(globs: readonly string[] | undefined): Matcher | undefined {
  if (!globs) return undefined;
  const res = globs.map(globToRegExp);
  return (value) => res.some((re) => re.test(value));
}

function attributeMatchers(map: Readonly<Record<string, readonly string[]>> | undefined): [string, Matcher][] | undefined {
  return map ? Object.entries(map).map(([key, globs]) => [key, matcher(globs)!]) : undefined;
}

export function createFilterProcessor(config: FilterConfig): MetricsProcessor {
  const includeMetric = matcher(config.metrics?.include);
  const excludeMetric = matcher(config.metrics?.exclude);
  const includeResource = attributeMatchers(config.resources?.include);
  const excludeResource = attributeMatchers(config.resources?.exclude);
  const dropped = new Set(config.drop_attributes ?? []);
  const nameCache = new Map<string, boolean>();

  const keepMetric = (name: string): boolean => {
    let keep = nameCache.get(name);
    if (keep === undefined) {
      keep = (!includeMetric || includeMetric(name)) && !(excludeMetric?.(name) ?? false);
      nameCache.set(name, keep);
    }
    return keep;
  };
  const keepResource = (attrs: Attributes): boolean => {
    if (includeResource && !includeResource.every(([k, m]) => k in attrs && m(String(attrs[k])))) return false;
    if (excludeResource?.some(([k, m]) => k in attrs && m(String(attrs[k])))) return false;
    return true;
  };
  // Receivers reuse their attribute objects from cycle to cycle, and exporters cache the encoded bytes per
  // object: the stripped copy of a set is made once and reused, so those caches keep hitting.
  const stripped = new WeakMap<Attributes, Attributes>();
  const strip = (attrs: Attributes): Attributes => {
    if (dropped.size === 0) return attrs;
    let out = stripped.get(attrs);
    if (out === undefined) {
      out = attrs;
      if (Object.keys(attrs).some((k) => dropped.has(k))) {
        const copy: Record<string, Attributes[string]> = {};
        for (const [k, v] of Object.entries(attrs)) if (!dropped.has(k)) copy[k] = v;
        out = copy;
      }
      stripped.set(attrs, out);
    }
    return out;
  };
  /** The metric with stripped point attributes; the same object when no series changes. */
  const stripMetric = (m: MetricData): MetricData => {
    const series = m.series;
    let i = 0;
    while (i < series.length && strip(series[i]!.attributes) === series[i]!.attributes) i++;
    if (i === series.length) return m;
    const out = series.slice(0, i);
    for (; i < series.length; i++) {
      const s = series[i]!;
      const attributes = strip(s.attributes);
      out.push(attributes === s.attributes ? s : { ...s, attributes });
    }
    return { definition: m.definition, series: out };
  };

  return {
    // Shares everything it does not change (a batch holds ~170k series a cycle): an unchanged resource is the
    // same object, and a batch where nothing changed is returned as is.
    process(batch: MetricBatch): MetricBatch {
      const resources: ResourceMetricsData[] = [];
      let changed = false;
      for (const r of batch.resources) {
        if (!keepResource(r.resource)) {
          changed = true;
          continue;
        }
        let metrics: MetricData[] | undefined;
        for (let i = 0; i < r.metrics.length; i++) {
          const m = r.metrics[i]!;
          const kept = keepMetric(m.definition.name) ? stripMetric(m) : undefined;
          if (kept !== m) metrics ??= r.metrics.slice(0, i);
          if (metrics !== undefined && kept !== undefined) metrics.push(kept);
        }
        const attributes = strip(r.resource);
        if (metrics === undefined && attributes === r.resource) {
          resources.push(r);
          continue;
        }
        changed = true;
        const out = metrics ?? r.metrics;
        if (out.length > 0) resources.push({ key: r.key, resource: attributes, metrics: out });
      }
      return changed ? { resources } : batch;
    },
  };
}

export const filterProcessorFactory: ProcessorFactory<FilterConfig> = {
  type: 'filter',
  configSchema: filterConfigSchema,
  create: (_settings, config) => createFilterProcessor(config),
};
