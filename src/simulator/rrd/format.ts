// C-printf-compatible number formatting for RRD values (xapi-rrd `Rrd_utils.f_to_s`).
//
// JS `toPrecision`/`toFixed` round an exact binary value correctly, except on an exact decimal tie, where they pick
// the larger magnitude; glibc printf rounds ties to even. Ties are real for float32 data (`123445` under `%.5g`,
// `0.03125` under `%.4f`), so they are detected from the binary structure of the value and fixed up.

export type NumberFormat = '%.4f' | '%.5g' | '%.15g';

const TWO_53 = 2 ** 53;

/** True when `f` (finite, > 0) has an exact decimal expansion whose last digit, a 5, sits at place 10^place. */
function isTieAt(f: number, place: number): boolean {
  if (place < 0) {
    // The expansion must have exactly -place decimals: f·2^k is an integer and f·2^(k-1) is not (k = -place).
    const k = -place;
    if (k > 1074) return false;
    const y = f * 2 ** k;
    return Number.isInteger(y) && !Number.isInteger(y / 2);
  }
  if (!Number.isInteger(f)) return false;
  if (f < TWO_53) {
    const unit = 10 ** place;
    return f % (unit * 10) === 5 * unit;
  }
  const big = BigInt(f);
  const unit = 10n ** BigInt(place);
  return big % (unit * 10n) === 5n * unit;
}

/** Significant digits (length p) and decimal exponent of |f| rounded to p digits, ties to even like glibc. */
function roundSignificant(f: number, p: number): { digits: string; exp: number } {
  const s = f.toExponential(p - 1);
  let e = s.indexOf('e');
  let digits = p === 1 ? s.slice(0, 1) : s[0] + s.slice(2, e);
  let exp = Number(s.slice(e + 1));
  // A tie's 5 sits one place below the last kept digit; when JS rounding carried (9.5 → 1e1) the true leading
  // exponent is one lower, so both places are candidates.
  const carried = digits.charCodeAt(0) === 49 && /^10*$/.test(digits);
  let tieExp = Number.NaN;
  if (isTieAt(f, exp - p)) tieExp = exp;
  else if (carried && isTieAt(f, exp - 1 - p)) tieExp = exp - 1;
  if (!Number.isNaN(tieExp)) {
    const exact = f.toExponential(p); // p+1 digits, exact for a tie
    e = exact.indexOf('e');
    const exactDigits = exact[0] + exact.slice(2, e);
    const truncated = exactDigits.slice(0, p);
    const last = truncated.charCodeAt(p - 1) - 48;
    if (last % 2 === 0) {
      digits = truncated;
      exp = Number(exact.slice(e + 1));
    }
  }
  return { digits, exp };
}

function stripFractionZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

/** C `printf("%.<p>g", x)` for finite x (p ≥ 1). */
export function formatG(x: number, p: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const neg = x < 0;
  const f = neg ? -x : x;
  const fast = formatGFast(f, p);
  if (fast !== undefined) return neg ? `-${fast}` : fast;
  return formatGSlow(f, neg, p);
}

/**
 * The common cases without digit surgery: small integers print as themselves; a value with more decimals than
 * a tie could have, in the fixed-notation range, is toPrecision with trailing zeros stripped. Anything else
 * (possible ties, exponent notation, estimates near a power of ten) goes the exact way.
 */
function formatGFast(f: number, p: number): string | undefined {
  if (Number.isInteger(f)) return f < 10 ** p ? String(f) : undefined;
  const e10 = Math.floor(Math.log10(f));
  if (e10 < -3 || e10 > p - 2) return undefined;
  if (Number.isInteger(f * 2 ** (p - e10 + 1))) return undefined;
  const s = f.toPrecision(p);
  if (s.charCodeAt(0) === 48 && s.startsWith('0.0000')) return undefined;
  return stripFractionZeros(s);
}

function formatGSlow(f: number, neg: boolean, p: number): string {
  const { digits, exp } = roundSignificant(f, p);
  let out: string;
  if (exp < -4 || exp >= p) {
    let mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    mant = stripFractionZeros(mant);
    const ae = exp < 0 ? -exp : exp;
    out = `${mant}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  } else if (exp >= 0) {
    const intPart = digits.slice(0, exp + 1);
    const frac = digits.slice(exp + 1);
    out = stripFractionZeros(frac.length > 0 ? `${intPart}.${frac}` : intPart);
  } else {
    out = stripFractionZeros(`0.${'0'.repeat(-exp - 1)}${digits}`);
  }
  return neg ? `-${out}` : out;
}

/** The exact (digit-surgery) path alone, for cross-checking the fast paths in tests. */
export function formatGExact(x: number, p: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  return formatGSlow(x < 0 ? -x : x, x < 0, p);
}

/** C `printf("%.4f", x)` for finite x. */
export function formatF4(x: number): string {
  const neg = x < 0 || Object.is(x, -0);
  const f = neg ? -x : x;
  let out: string;
  if (f >= 1e21) {
    // Always an integer at this size; toFixed would switch to exponent notation.
    out = `${BigInt(f).toString()}.0000`;
  } else {
    out = f.toFixed(4);
    if (isTieAt(f, -5)) {
      const exact = f.toFixed(5);
      const truncated = exact.slice(0, -1);
      if ((truncated.charCodeAt(truncated.length - 1) - 48) % 2 === 0) out = truncated;
    }
  }
  return neg ? `-${out}` : out;
}

/**
 * `Rrd_utils.f_to_s` on a value already rounded to float32: NaN → `NaN`, ±inf → `Infinity`/`-Infinity`,
 * exact zero → `0.0`, otherwise printf with the era's format.
 */
export function fToS(x: number, format: NumberFormat): string {
  if (x !== x) return 'NaN';
  if (x === 0) return '0.0';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (format === '%.15g') return formatG(x, 15);
  if (format === '%.5g') return formatG(x, 5);
  return formatF4(x);
}

/** A formatter bound to one era, for hot loops. */
export function numberFormatter(format: NumberFormat): (x: number) => string {
  if (format === '%.15g') return (x) => (x !== x ? 'NaN' : x === 0 ? '0.0' : Number.isFinite(x) ? formatG(x, 15) : x > 0 ? 'Infinity' : '-Infinity');
  if (format === '%.5g') return (x) => (x !== x ? 'NaN' : x === 0 ? '0.0' : Number.isFinite(x) ? formatG(x, 5) : x > 0 ? 'Infinity' : '-Infinity');
  return (x) => (x !== x ? 'NaN' : x === 0 ? '0.0' : Number.isFinite(x) ? formatF4(x) : x > 0 ? 'Infinity' : '-Infinity');
}
