// The upstream serialisation path (otel-js.md Q1 option B as written): map each ResourceMetricsData to an SDK
// `ResourceMetrics` (resourceFromAttributes + one DataPoint object per point) and serialise it once with the
// upstream `ProtobufMetricsSerializer`, which emits a complete single-resource request, i.e. a fragment.
//
// Kept as the fallback behind `serializer: upstream`: it needs only public (if experimental) upstream API, and its
// output is the reference the hand-written encoder is tested against. It allocates an object and two HrTime arrays
// per point, which is what makes it slower (bench/export.ts).

import { ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type DataPoint,
  type MetricData as SdkMetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ResourceMetricsData } from '../../plugin-api/index.ts';
import type { InstrumentationScope } from '../types.ts';
import { splitResource, encodeScopeField, type Fragment } from './proto-encoder.ts';

const ZERO_TIME: [number, number] = [0, 0];

export function toSdkResourceMetrics(rm: ResourceMetricsData, scope: InstrumentationScope): ResourceMetrics {
  const metrics: SdkMetricData[] = [];
  for (const metric of rm.metrics) {
    const def = metric.definition;
    const dataPoints: DataPoint<number>[] = [];
    for (const series of metric.series) {
      const start = series.startTimeMs === undefined ? ZERO_TIME : millisToHrTime(series.startTimeMs);
      for (let i = 0; i < series.values.length; i++) {
        dataPoints.push({
          startTime: start,
          endTime: millisToHrTime(series.timesMs[i]!),
          attributes: series.attributes,
          value: series.values[i]!,
        });
      }
    }
    if (dataPoints.length === 0) continue;
    const descriptor = {
      name: def.name,
      description: def.description,
      unit: def.unit,
      valueType: def.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE,
    };
    if (def.kind === 'sum') {
      metrics.push({
        descriptor,
        aggregationTemporality: AggregationTemporality.CUMULATIVE,
        dataPointType: DataPointType.SUM,
        isMonotonic: def.monotonic ?? false,
        dataPoints,
      });
    } else {
      metrics.push({ descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints });
    }
  }
  return {
    resource: resourceFromAttributes(rm.resource),
    scopeMetrics: [{ scope: { name: scope.name, version: scope.version }, metrics }],
  };
}

function pointsOf(rm: ResourceMetricsData): number {
  let n = 0;
  for (const metric of rm.metrics) for (const series of metric.series) n += series.values.length;
  return n;
}

/** Same contract as `encodeResourceBounded`, through the upstream serializer. */
export function encodeResourceBoundedUpstream(rm: ResourceMetricsData, scope: InstrumentationScope, maxBytes: number): Fragment[] {
  const points = pointsOf(rm);
  if (points === 0) return [];
  const bytes = ProtobufMetricsSerializer.serializeRequest(toSdkResourceMetrics(rm, scope));
  if (bytes === undefined) return [];
  if (bytes.length <= maxBytes) return [{ bytes: asBuffer(bytes), points, key: rm.key, source: rm }];
  // Plan the split with the hand-written encoder's sizes; the upstream bytes are larger (it writes a zero start
  // time per gauge point), so a slice that still does not fit is split again with a proportionally smaller budget.
  const out: Fragment[] = [];
  const scopeField = encodeScopeField(scope);
  const pending: { part: ResourceMetricsData; budget: number }[] = [{ part: rm, budget: maxBytes }];
  while (pending.length > 0) {
    const { part, budget } = pending.shift()!;
    const partBytes = ProtobufMetricsSerializer.serializeRequest(toSdkResourceMetrics(part, scope));
    if (partBytes === undefined) continue;
    const partPoints = pointsOf(part);
    if (partBytes.length <= maxBytes || partPoints <= 1) {
      out.push({ bytes: asBuffer(partBytes), points: partPoints, key: rm.key, source: part });
      continue;
    }
    const next = Math.floor((budget * maxBytes * 0.95) / partBytes.length);
    for (const slice of splitResource(part, scopeField, next)) pending.push({ part: slice, budget: next });
  }
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
