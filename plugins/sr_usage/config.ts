// sr_usage config: which pools to read and which metrics to emit.
//   receivers:
//     sr_usage:
//       pools: [prod]
//       metrics: { xen.sr.virtual_allocation: { enabled: false } }

import { storageReceiverConfigSchema, type StorageReceiverConfig } from '../../src/lib/storage/index.ts';
import { METRIC_NAMES } from './metadata.ts';

export type SrUsageConfig = StorageReceiverConfig;

export const configSchema = storageReceiverConfigSchema(METRIC_NAMES);
