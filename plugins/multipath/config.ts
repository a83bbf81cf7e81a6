// multipath config: which pools to read and which metrics to emit.
//   receivers:
//     multipath:
//       pools: [prod]

import { storageReceiverConfigSchema, type StorageReceiverConfig } from '../../src/lib/storage/index.ts';
import { METRIC_NAMES } from './metadata.ts';

export type MultipathConfig = StorageReceiverConfig;

export const configSchema = storageReceiverConfigSchema(METRIC_NAMES);
