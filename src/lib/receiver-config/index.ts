// Config pieces every receiver shares, whatever it reads: which pools it reads (names from the top-level `pools:`)
// and which of its metrics it emits. A leaf library, so plugins may import it.

import { z } from 'zod';

export const poolsSchema = z
  .array(z.string().min(1, 'a pool name must not be empty'), 'pools must be a list of pool names')
  .min(1, 'at least one pool is required')
  .superRefine((pools, ctx) => {
    const seen = new Set<string>();
    for (const [index, name] of pools.entries()) {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: [index], message: `pool '${name}' is listed twice` });
      seen.add(name);
    }
  });

/** `metrics: { <name>: { enabled: bool } }`; an unknown metric name is an error that lists the known ones. */
export function metricsEnablementSchema(metricNames: readonly string[]) {
  const known = new Set(metricNames);
  return z
    .record(z.string(), z.strictObject({ enabled: z.boolean('enabled must be true or false') }))
    .default({})
    .superRefine((metrics, ctx) => {
      for (const name of Object.keys(metrics)) {
        if (!known.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [name],
            message: `unknown metric '${name}'; known: ${[...known].sort().join(', ')}`,
          });
        }
      }
    });
}

/** A receiver whose whole config is the shared pieces (the storage receivers). */
export interface PoolsAndMetricsConfig {
  pools: string[];
  metrics: Record<string, { enabled: boolean }>;
}

export function poolsAndMetricsConfigSchema(metricNames: readonly string[]): z.ZodType<PoolsAndMetricsConfig> {
  return z.strictObject({ pools: poolsSchema, metrics: metricsEnablementSchema(metricNames) });
}
