// Catalogue types: the shape every receiver's metric table (`plugins/<type>/metadata.ts`) takes, so that
// metric names, units, attributes and resources are declared once, checked at import, and rendered into
// docs/metrics.md by scripts/generate-docs.ts. Receiver-neutral on purpose: nothing here knows about RRDs.

import { AgentError } from './errors.ts';
import type { MetricDefinition } from './metrics.ts';

export type AttributeType = 'string' | 'int' | 'double' | 'bool';

/** A data-point or resource attribute key with its documentation. */
export interface AttributeDefinition {
  readonly description: string;
  readonly type: AttributeType;
  /** Closed set of values, if any (e.g. `disk.io.direction`: read, write). */
  readonly values?: readonly string[];
}

/** One kind of entity a receiver reports on (an OTel Resource shape), e.g. a host or a VM. */
export interface ResourceDefinition {
  /** Short entity name used in docs, e.g. `host`, `vm`, `sr`. */
  readonly entity: string;
  readonly description: string;
  /** How `ResourceMetricsData.key` is formed, for docs (e.g. `vm:<uuid>`). */
  readonly keyPattern: string;
  /** Resource attribute keys (declared in `resourceAttributes`); identifying ones first. */
  readonly attributes: readonly string[];
}

/** Everything a receiver emits, in one typed table. */
export interface MetricCatalogue {
  /** One paragraph for the docs section of the receiver. */
  readonly description: string;
  readonly metrics: Readonly<Record<string, MetricDefinition>>;
  /** Data-point attribute keys used by `metrics[*].attributes`. */
  readonly attributes: Readonly<Record<string, AttributeDefinition>>;
  readonly resourceAttributes: Readonly<Record<string, AttributeDefinition>>;
  readonly resources: readonly ResourceDefinition[];
  /** Metric name → where the value comes from and how it is converted (docs only). */
  readonly sources?: Readonly<Record<string, string>>;
  /** Extra documented rules (e.g. how unknown inputs are exported). */
  readonly notes?: readonly string[];
}

const METRIC_NAME = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
const ATTRIBUTE_KEY = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;

/**
 * Validates and freezes a catalogue. Runs at import time of the receiver's metadata, so an inconsistent table
 * (undeclared attribute, bad name, empty unit) fails every test and the agent's startup, not a scrape.
 */
export function defineCatalogue<const C extends MetricCatalogue>(catalogue: C): C {
  const problems = catalogueProblems(catalogue);
  if (problems.length > 0) {
    throw new AgentError('CATALOGUE_ERR_INVALID', `invalid metric catalogue: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  return Object.freeze(catalogue);
}

/** All consistency problems of a catalogue (empty when valid). Exported for tests of other receivers. */
export function catalogueProblems(catalogue: MetricCatalogue): string[] {
  const problems: string[] = [];
  for (const [key, def] of Object.entries(catalogue.metrics)) {
    if (def.name !== key) problems.push(`metric key '${key}' differs from its name '${def.name}'`);
    if (!METRIC_NAME.test(def.name)) problems.push(`metric name '${def.name}' is not lowercase dotted`);
    if (def.unit.trim() === '') problems.push(`metric '${def.name}' has no unit`);
    if (def.description.trim() === '') problems.push(`metric '${def.name}' has no description`);
    if (def.kind === 'gauge' && def.monotonic !== undefined) problems.push(`gauge '${def.name}' sets monotonic`);
    for (const attr of def.attributes) {
      if (!(attr in catalogue.attributes)) problems.push(`metric '${def.name}' uses undeclared attribute '${attr}'`);
    }
  }
  for (const key of [...Object.keys(catalogue.attributes), ...Object.keys(catalogue.resourceAttributes)]) {
    if (!ATTRIBUTE_KEY.test(key)) problems.push(`attribute key '${key}' is not lowercase dotted`);
  }
  for (const resource of catalogue.resources) {
    for (const attr of resource.attributes) {
      if (!(attr in catalogue.resourceAttributes)) {
        problems.push(`resource '${resource.entity}' uses undeclared resource attribute '${attr}'`);
      }
    }
  }
  for (const name of Object.keys(catalogue.sources ?? {})) {
    if (!(name in catalogue.metrics)) problems.push(`source given for unknown metric '${name}'`);
  }
  return problems;
}
