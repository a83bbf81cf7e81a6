// pbd_attachment config: which pools to read and which metrics to emit.
//   receivers:
//     pbd_attachment:
//       pools: [prod]

import { poolsAndMetricsConfigSchema, type PoolsAndMetricsConfig } from '../../src/lib/receiver-config/index.ts';
import { METRIC_NAMES } from './metadata.ts';

export type PbdAttachmentConfig = PoolsAndMetricsConfig;

export const configSchema = poolsAndMetricsConfigSchema(METRIC_NAMES);
