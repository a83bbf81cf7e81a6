// storage_targets config: which pools to read and which metrics to emit. There is deliberately no option to
// export more device_config keys: the allow-list is code, like the logger's redaction paths.
//   receivers:
//     storage_targets:
//       pools: [prod]

import { poolsAndMetricsConfigSchema, type PoolsAndMetricsConfig } from '../../src/lib/receiver-config/index.ts';
import { METRIC_NAMES } from './metadata.ts';

export type StorageTargetsConfig = PoolsAndMetricsConfig;

export const configSchema = poolsAndMetricsConfigSchema(METRIC_NAMES);
