import { describe, expect, it } from 'vitest';
import { sampleBatch } from '../../../test/core/helpers.ts';
import type { Attributes, MetricBatch } from '../../plugin-api/index.ts';
import { createFilterProcessor } from './filter.ts';

/** The next cycle of a receiver: new series and resource objects, the same attribute objects (receivers reuse them). */
function nextCycle(batch: MetricBatch, timeMs: number): MetricBatch {
  return {
    resources: batch.resources.map((r) => ({
      ...r,
      metrics: r.metrics.map((m) => ({ ...m, series: m.series.map((s) => ({ ...s, timesMs: [timeMs], values: [1] })) })),
    })),
  };
}

describe('filter processor', () => {
  it('returns the batch itself when nothing is filtered out (no copy of a pool-sized batch every cycle)', () => {
    // arrange
    const filter = createFilterProcessor({ metrics: { exclude: ['nothing.*'] }, resources: { exclude: { 'test.env': ['staging'] } }, drop_attributes: ['absent'] });
    const batch = sampleBatch();
    // act
    const out = filter.process(batch);
    // assert
    expect(out).toBe(batch);
  });

  it('shares the resources and metrics it does not change', () => {
    // arrange: drop one metric of every resource, keep the other untouched
    const filter = createFilterProcessor({ metrics: { exclude: ['test.other'] } });
    const batch = sampleBatch();
    // act
    const out = filter.process(batch);
    // assert
    expect(out).not.toBe(batch);
    expect(out.resources.map((r) => r.metrics.map((m) => m.definition.name))).toEqual([['test.value'], ['test.value']]);
    expect(out.resources[0]!.metrics[0]).toBe(batch.resources[0]!.metrics[0]);
    expect(out.resources[0]!.resource).toBe(batch.resources[0]!.resource);
  });

  it('drop_attributes: the stripped copy of an attribute set is the same object every cycle, sets without the key are untouched', () => {
    // arrange
    const filter = createFilterProcessor({ drop_attributes: ['drop_me'] });
    const first = sampleBatch(1_000);
    const second = nextCycle(first, 2_000);
    // act
    const a = filter.process(first);
    const b = filter.process(second);
    // assert
    const strippedOf = (batch: MetricBatch): Attributes => batch.resources[0]!.metrics[0]!.series[0]!.attributes;
    expect(strippedOf(a)).toEqual({ k: 'x' });
    expect(strippedOf(b)).toBe(strippedOf(a));
    expect(b.resources[0]!.metrics[0]!.series[0]!.timesMs).toEqual([2_000]);
    expect(b.resources[0]!.metrics[1]).toBe(second.resources[0]!.metrics[1]); // its series has no dropped key
  });
});
