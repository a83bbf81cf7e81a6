// Processors transform a scrape's batch between receiver and exporters. Synchronous and pure: a resource that
// comes out empty was dropped on purpose and counts as delivered.

import type { z } from 'zod';
import type { Logger, MetricBatch } from '../../plugin-api/index.ts';

export interface MetricsProcessor {
  process(batch: MetricBatch): MetricBatch;
}

export interface ProcessorSettings {
  readonly id: string;
  readonly logger: Logger;
}

export interface ProcessorFactory<C = unknown> {
  readonly type: string;
  readonly configSchema: z.ZodType<C>;
  create(settings: ProcessorSettings, config: Readonly<C>): MetricsProcessor;
}
