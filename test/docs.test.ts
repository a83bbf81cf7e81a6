import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRICS_DOC, RECEIVERS, renderMetricsDoc } from '../scripts/generate-docs.ts';

describe('docs/metrics.md', () => {
  it('is up to date with the catalogues (regenerate: node scripts/generate-docs.ts)', () => {
    expect(readFileSync(METRICS_DOC, 'utf8')).toBe(renderMetricsDoc(RECEIVERS));
  });

  it('documents every metric of every receiver', () => {
    const doc = renderMetricsDoc(RECEIVERS);
    for (const { receiverType, catalogue } of RECEIVERS) {
      expect(doc).toContain(`## \`${receiverType}\``);
      for (const name of Object.keys(catalogue.metrics)) expect(doc).toContain(`| \`${name}\` |`);
    }
  });
});
