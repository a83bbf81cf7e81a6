// storage_targets receiver: where each host's PBD points (iSCSI, FC, NFS, SMB, ISO, local), secrets removed.

import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { configSchema, type StorageTargetsConfig } from './config.ts';
import { createStorageTargetsScraper } from './scraper.ts';

export { catalogue } from './metadata.ts';
export type { StorageTargetsConfig } from './config.ts';

export const factory: ReceiverFactory<StorageTargetsConfig> = {
  type: 'storage_targets',
  stability: 'alpha',
  apiVersion: '^1.0.0',
  description: 'Storage target info (iSCSI, FC, NFS, SMB, ISO, local) per host×SR from PBD.device_config, with secrets removed.',
  configSchema,
  poolsOf: (config) => [...config.pools],
  createScraper: createStorageTargetsScraper,
};
