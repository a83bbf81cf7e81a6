// rrd_updates receiver: host, VM and SR performance data from every host's `/rrd_updates`, each RRD row exported
// once with its own timestamp (a cursor per host that advances only on delivery).

import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { configSchema, type RrdUpdatesConfig } from './config.ts';
import { RrdUpdatesScraper } from './scraper.ts';

export { catalogue } from './metadata.ts';
export type { RrdUpdatesConfig } from './config.ts';

export const factory: ReceiverFactory<RrdUpdatesConfig> = {
  type: 'rrd_updates',
  stability: 'alpha',
  apiVersion: '^1.0.0',
  description: 'Host, VM and SR performance data from /rrd_updates of every host of the configured pools.',
  configSchema,
  poolsOf: (config) => [...config.pools],
  createScraper: (settings, config) => new RrdUpdatesScraper(settings, config),
};
