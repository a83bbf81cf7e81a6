// multipath receiver: host multipathing, root-disk paths, and per host×SR×LUN active/max paths with a degraded flag.

import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { configSchema, type MultipathConfig } from './config.ts';
import { MultipathScraper } from './scraper.ts';

export { catalogue } from './metadata.ts';
export type { MultipathConfig } from './config.ts';

export const factory: ReceiverFactory<MultipathConfig> = {
  type: 'multipath',
  stability: 'alpha',
  apiVersion: '^1.0.0',
  description: 'Multipath state per host and active/maximum path counts per host×SR×LUN, with degraded flags.',
  configSchema,
  poolsOf: (config) => [...config.pools],
  createScraper: (settings, config) => new MultipathScraper(settings, config),
};
