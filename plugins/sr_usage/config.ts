// sr_usage config: which pools to read and which metrics to emit.
//   receivers:
//     sr_usage:
//       pools: [prod]
//       metrics: { xen.sr.virtual_allocation: { enabled: false } }

import { poolsAndMetricsConfigSchema, type PoolsAndMetricsConfig } from '../../src/lib/receiver-config/index.ts';
import { METRIC_NAMES } from './metadata.ts';

export type SrUsageConfig = PoolsAndMetricsConfig;

export const configSchema = poolsAndMetricsConfigSchema(METRIC_NAMES);
