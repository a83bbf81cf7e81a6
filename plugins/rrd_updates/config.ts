// rrd_updates config (what users write under `receivers: rrd_updates…:`), validated once at load.
//   receivers:
//     rrd_updates:
//       pools: [prod]
//       resolution: 5s            # 5s | 1m | 1h | 1d (the RRD archives, notes/xapi.md §1.5)
//       cf: AVERAGE               # MIN / MAX only where the pool keeps them (never in the 5 s archive)
//       max_rows_per_cycle: 60    # per host; a lagging cursor catches up over several cycles
//       format: auto              # auto | json | xml: Accept sent (the body is sniffed anyway); auto = XML for
//                                 # hosts before xapi 24.5.0 (legacy JSON fails on zero rows), JSON otherwise
//       include_host: true
//       max_concurrent_hosts_global: 16
//       max_backfill: 10m         # how far back the cursor may lag before rows are skipped
//       metrics: { xen.host.cpu.utilization: { enabled: false } }

import { z } from 'zod';
import { SECONDS_COMPOUND, parseDuration } from '../../src/lib/duration/index.ts';
import { metricsEnablementSchema, poolsSchema } from '../../src/lib/receiver-config/index.ts';
import { metrics } from './metadata.ts';

/** Steps of the RRAs xcp-rrdd keeps (5 s, 1 min, 1 h, 1 day). */
export const RESOLUTIONS = [5, 60, 3600, 86400] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

/** `600`, `600s`, `10m`, `1h30m`, `1d` or a number → seconds; undefined when malformed. */
export function parseSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  return parseDuration(value, SECONDS_COMPOUND);
}

const seconds = (what: string) =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    const s = parseSeconds(v);
    if (s === undefined) {
      ctx.addIssue({ code: 'custom', message: `invalid ${what} '${String(v)}' (expected seconds or e.g. 5s, 10m, 1h, 1d)` });
      return z.NEVER;
    }
    return s;
  });

export const configSchema = z
  .strictObject({
    pools: poolsSchema,
    resolution: seconds('resolution')
      .default(5)
      .pipe(
        z.union(RESOLUTIONS.map((r) => z.literal(r)) as [z.ZodLiteral<5>, z.ZodLiteral<60>, z.ZodLiteral<3600>, z.ZodLiteral<86400>], {
          error: 'resolution must be 5s, 1m, 1h or 1d (the RRD archives)',
        }),
      ),
    cf: z.enum(['AVERAGE', 'MIN', 'MAX'], 'cf must be AVERAGE, MIN or MAX').default('AVERAGE'),
    max_rows_per_cycle: z.number().int().min(1).max(10_000).default(60),
    format: z.enum(['auto', 'json', 'xml'], "format must be 'auto', 'json' or 'xml'").default('auto'),
    include_host: z.boolean().default(true),
    max_concurrent_hosts_global: z.number().int().min(1).max(1024).default(16),
    max_backfill: seconds('max_backfill').default(600).pipe(z.number().min(5, 'max_backfill must be at least 5s')),
    metrics: metricsEnablementSchema(Object.keys(metrics)),
  })
  .superRefine((c, ctx) => {
    // xcp-rrdd keeps MIN/MAX only for archives with more than one PDP per row: the 5 s archive is AVERAGE only,
    // and asking for it anyway is an HTTP 500 (No_RRA_Available) on every poll (notes/xapi.md §1.5).
    if (c.cf !== 'AVERAGE' && c.resolution === 5) {
      ctx.addIssue({ code: 'custom', path: ['cf'], message: `cf ${c.cf} needs resolution 1m or coarser (the 5 s archive is AVERAGE only)` });
    }
    if (c.max_backfill < c.resolution) {
      ctx.addIssue({ code: 'custom', path: ['max_backfill'], message: `max_backfill (${c.max_backfill}s) is shorter than resolution (${c.resolution}s)` });
    }
  });

export type RrdUpdatesConfig = z.output<typeof configSchema>;
