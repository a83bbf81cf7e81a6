// pbd_attachment receiver: whether each host has each SR plugged, and per SR how many hosts do not.

import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { configSchema, type PbdAttachmentConfig } from './config.ts';
import { createPbdAttachmentScraper } from './scraper.ts';

export { catalogue } from './metadata.ts';
export type { PbdAttachmentConfig } from './config.ts';

export const factory: ReceiverFactory<PbdAttachmentConfig> = {
  type: 'pbd_attachment',
  stability: 'alpha',
  apiVersion: '^1.0.0',
  description: 'PBD attachment (1/0) per host×SR and the number of hosts whose PBD is detached per SR.',
  configSchema,
  poolsOf: (config) => [...config.pools],
  createScraper: createPbdAttachmentScraper,
};
