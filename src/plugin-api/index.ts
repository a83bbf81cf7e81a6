// The public plugin API: the only core module a plugin may import (besides leaf libraries under src/lib).
export { AgentError, ScrapeItemError, errorCode } from './errors.ts';
export {
  catalogueProblems,
  defineCatalogue,
  type AttributeDefinition,
  type AttributeType,
  type MetricCatalogue,
  type ResourceDefinition,
} from './catalogue.ts';
export {
  MetricsBuilder,
  countPoints,
  defineMetrics,
  isMetricEnabled,
  type AttributeValue,
  type Attributes,
  type MetricBatch,
  type MetricData,
  type MetricDefinition,
  type MetricKind,
  type MetricValueType,
  type MetricsEnablement,
  type ResourceMetricsData,
  type SeriesData,
} from './metrics.ts';
export {
  PLUGIN_API_VERSION,
  type Clock,
  type DeliveryReport,
  type Logger,
  type PoolProvider,
  type ReceiverFactory,
  type ReceiverSettings,
  type Scraper,
  type ScrapeResult,
  type Stability,
} from './receiver.ts';
export { REDACTED_TEXT, Secret } from './secret.ts';
