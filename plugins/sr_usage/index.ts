// sr_usage receiver: SR capacity, usage, virtual allocation and utilisation from the pool inventory.

import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { configSchema, type SrUsageConfig } from './config.ts';
import { createSrUsageScraper } from './scraper.ts';

export { catalogue } from './metadata.ts';
export type { SrUsageConfig } from './config.ts';

export const factory: ReceiverFactory<SrUsageConfig> = {
  type: 'sr_usage',
  stability: 'alpha',
  apiVersion: '^1.0.0',
  description: 'SR capacity, usage, virtual allocation and utilisation of every SR of the configured pools.',
  configSchema,
  poolsOf: (config) => [...config.pools],
  createScraper: createSrUsageScraper,
};
