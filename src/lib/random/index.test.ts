import { describe, expect, it } from 'vitest';
import { mulberry32 } from './index.ts';

describe('mulberry32', () => {
  it('gives the reference stream for a seed (the stream the simulator, benches and goldens were built on)', () => {
    const next = mulberry32(42);
    const first = [next(), next(), next()].map((v) => Math.round(v * 4294967296));
    expect(first).toEqual([2581720956, 1925393290, 3661312704]);
  });

  it('stays in [0, 1) and depends only on the seed', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    for (let i = 0; i < 1000; i++) {
      const v = a();
      expect(v).toBe(b());
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1);
    }
  });
});
