// multipath config: which pools to read and which metrics to emit.
//   receivers:
//     multipath:
//       pools: [prod]

import { poolsAndMetricsConfigSchema, type PoolsAndMetricsConfig } from '../../src/lib/receiver-config/index.ts';
import { METRIC_NAMES } from './metadata.ts';

export type MultipathConfig = PoolsAndMetricsConfig;

export const configSchema = poolsAndMetricsConfigSchema(METRIC_NAMES);
