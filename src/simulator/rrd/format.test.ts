import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fToS, formatF4, formatG, formatGExact } from './format.ts';

// Expected strings come from python3's printf (C semantics, ties to even), baked in testdata/printf-table.json.
const table = JSON.parse(readFileSync(new URL('./testdata/printf-table.json', import.meta.url), 'utf8')) as {
  cases: Array<[number, string, string, string]>;
};

function fromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

describe('C printf compatibility on float32 values', () => {
  it('has a large table', () => {
    expect(table.cases.length).toBeGreaterThan(800);
  });

  it.each([
    ['%.15g', 1],
    ['%.5g', 2],
    ['%.4f', 3],
  ] as const)('%s matches printf for every case', (fmt, col) => {
    const mismatches: string[] = [];
    for (const c of table.cases) {
      const x = fromBits(c[0]);
      const got = fmt === '%.4f' ? formatF4(x) : formatG(x, fmt === '%.15g' ? 15 : 5);
      if (got !== c[col]) mismatches.push(`${x}: got ${got} want ${c[col]}`);
    }
    expect(mismatches).toEqual([]);
  });

  it('the fast paths (toPrecision without digit surgery) agree with the exact path on random float32 values', () => {
    // Log-uniform magnitudes over the float32 range, plus the integers and fractions the generators produce.
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const mismatches: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const k = i % 3;
      const x = Math.fround(k === 0 ? 10 ** (next() * 76 - 38) : k === 1 ? next() : Math.round(next() * 2 ** 30) / 2 ** (i % 20));
      if (x === 0 || !Number.isFinite(x)) continue;
      const sign = i % 7 === 0 ? -x : x;
      for (const p of [15, 5]) if (formatG(sign, p) !== formatGExact(sign, p)) mismatches.push(`%.${p}g ${sign}: ${formatG(sign, p)} vs ${formatGExact(sign, p)}`);
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it.each([
    [Math.fround(0.0627), '%.15g', '0.0627000033855438'],
    [1191182336, '%.5g', '1.1912e+09'],
    [123445, '%.5g', '1.2344e+05'], // exact tie: even digit kept
    [123455, '%.5g', '1.2346e+05'], // exact tie: odd digit rounds up
    [0.03125, '%.4f', '0.0312'],
    [0.09375, '%.4f', '0.0938'],
    [10833308, '%.15g', '10833308'],
    [10833308, '%.4f', '10833308.0000'],
    [0, '%.15g', '0.0'],
    [-0, '%.4f', '0.0'],
    [Number.NaN, '%.5g', 'NaN'],
    [Infinity, '%.15g', 'Infinity'],
    [-Infinity, '%.4f', '-Infinity'],
  ] as const)('f_to_s(%s, %s) = %s', (x, fmt, want) => {
    expect(fToS(x, fmt)).toBe(want);
  });
});
