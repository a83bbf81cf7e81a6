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
  if (p === 15) return formatG15(x);
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

const POW10: Float64Array = Float64Array.from({ length: 700 }, (_, i) => 10 ** (i - 350));

/**
 * `%.15g` of a finite x > 0 from the shortest round-trip string of the double (String(x), which V8 produces far
 * faster than toPrecision), or undefined when that could differ from printf: the shortest string s is within half
 * an ulp of x, so rounding s to 15 digits equals rounding x unless a 15-digit midpoint lies within that half ulp
 * of s. Such cases (and exact ties) go to the exact path.
 */
function formatG15Shortest(f: number): string | undefined {
  const s = String(f);
  const e = s.indexOf('e');
  const mant = e < 0 ? s : s.slice(0, e);
  const dot = mant.indexOf('.');
  const intLen = dot < 0 ? mant.length : dot;
  let all = dot < 0 ? mant : mant.slice(0, dot) + mant.slice(dot + 1);
  let lead = 0;
  while (all.charCodeAt(lead) === 48) lead++;
  let end = all.length;
  while (end > lead && all.charCodeAt(end - 1) === 48) end--;
  all = all.slice(lead, end);
  // Decimal exponent of the first significant digit.
  let exp = intLen - 1 - lead + (e < 0 ? 0 : Number(s.slice(e + 1)));
  let digits = all;
  if (digits.length > 15) {
    // Tail after the 15th digit, in units of the 17th digit (String gives at most 17 significant digits).
    const tail = (digits.charCodeAt(15) - 48) * 10 + (digits.length > 16 ? digits.charCodeAt(16) - 48 : 0);
    // Half an ulp of the double, in the same units, plus one for rounding of this estimate.
    const halfUlp = (f * 2 ** -53) / POW10[exp - 16 + 350]! + 1;
    if (Math.abs(tail - 50) <= halfUlp) return undefined;
    digits = digits.slice(0, 15);
    if (tail > 50) {
      // Round up with carry.
      let i = 14;
      while (i >= 0 && digits.charCodeAt(i) === 57) i--;
      if (i < 0) {
        digits = '1';
        exp++;
      } else {
        digits = digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1);
      }
    }
    let z = digits.length;
    while (z > 1 && digits.charCodeAt(z - 1) === 48) z--;
    digits = digits.slice(0, z);
  }
  if (exp < -4 || exp >= 15) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const ae = exp < 0 ? -exp : exp;
    return `${m}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
  }
  if (exp < 0) return `0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return digits + '0'.repeat(exp + 1 - digits.length);
  return `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/**
 * The same idea on the fixed-notation string itself, for 1e-4 ≤ f < 1e15 (where JS and %g both print fixed
 * notation): no digit array, only one slice. Undefined when a carry would ripple or the tail is ambiguous.
 */
function formatG15Fixed(f: number): string | undefined {
  if (f < 1e-4 || f >= 1e15) return undefined;
  const s = String(f);
  const n = s.length;
  // Skip leading zeros and the point up to the first significant digit.
  let i = 0;
  let c = s.charCodeAt(0);
  while (c === 48 || c === 46) c = s.charCodeAt(++i);
  let sig = 0;
  let last15 = -1;
  let d16 = 0;
  let d17 = 0;
  const dot = s.indexOf('.');
  for (let j = i; j < n; j++) {
    const d = s.charCodeAt(j);
    if (d === 46) continue;
    sig++;
    if (sig === 15) last15 = j;
    else if (sig === 16) d16 = d - 48;
    else if (sig === 17) d17 = d - 48;
  }
  if (sig <= 15) return s; // already %.15g: shortest, fixed, no trailing zeros
  if (dot > last15 + 1) return undefined; // the point lies inside the dropped digits: not worth a special case
  // Decimal exponent of the first significant digit.
  const exp = dot > i ? dot - i - 1 : dot - i;
  const tail = d16 * 10 + d17;
  const halfUlp = (f * 2 ** -53) / POW10[exp - 16 + 350]! + 1;
  if (Math.abs(tail - 50) <= halfUlp) return undefined;
  let keep = last15 + 1;
  let out: string;
  // Here the point precedes the 15th digit (or directly follows it) and is kept.
  if (tail > 50) {
    const d = s.charCodeAt(last15);
    if (d === 57) return undefined;
    out = s.slice(0, last15) + String.fromCharCode(d + 1);
  } else {
    out = s.slice(0, keep);
  }
  if (dot >= 0 && dot < keep) {
    keep = out.length;
    while (out.charCodeAt(keep - 1) === 48) keep--;
    if (out.charCodeAt(keep - 1) === 46) keep--;
    if (keep !== out.length) out = out.slice(0, keep);
  }
  return out;
}

/** C `printf("%.15g", x)` for finite x; the common path is {@link formatG15Fixed}. */
export function formatG15(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const neg = x < 0;
  const f = neg ? -x : x;
  const fast = formatG15Fixed(f) ?? formatG15Shortest(f);
  if (fast !== undefined) return neg ? `-${fast}` : fast;
  return formatGSlow(f, neg, 15);
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
  if (format === '%.15g') return formatG15(x);
  if (format === '%.5g') return formatG(x, 5);
  return formatF4(x);
}

/**
 * A direct-mapped memo of float32 bit pattern → text, per formatter: RRD rows repeat many values (constant
 * gauges such as memory sizes, small integers, the same VM's value in neighbouring rows of coarse archives).
 */
function memoised(format: (x: number) => string): (x: number) => string {
  const BITS = 14;
  const mask = (1 << BITS) - 1;
  const keys = new Uint32Array(1 << BITS);
  const texts = new Array<string | undefined>(1 << BITS).fill(undefined);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  return (x) => {
    f32[0] = x;
    // Only float32 values are memoised (a double that is not one would alias its rounded float32).
    if (f32[0] !== x) return format(x);
    const bits = u32[0]!;
    const slot = (Math.imul(bits, 0x9e3779b1) >>> (32 - BITS)) & mask;
    if (keys[slot] === bits) {
      const hit = texts[slot];
      if (hit !== undefined) return hit;
    }
    const text = format(x);
    keys[slot] = bits;
    texts[slot] = text;
    return text;
  };
}

/** A formatter bound to one era, for hot loops. */
export function numberFormatter(format: NumberFormat): (x: number) => string {
  const memo = MEMO.get(format);
  if (memo !== undefined) return memo;
  const f = memoised(plainFormatter(format));
  MEMO.set(format, f);
  return f;
}

const MEMO = new Map<NumberFormat, (x: number) => string>();

function plainFormatter(format: NumberFormat): (x: number) => string {
  if (format === '%.15g') return (x) => (x !== x ? 'NaN' : x === 0 ? '0.0' : Number.isFinite(x) ? formatG15(x) : x > 0 ? 'Infinity' : '-Infinity');
  if (format === '%.5g') return (x) => (x !== x ? 'NaN' : x === 0 ? '0.0' : Number.isFinite(x) ? formatG(x, 5) : x > 0 ? 'Infinity' : '-Infinity');
  return (x) => (x !== x ? 'NaN' : x === 0 ? '0.0' : Number.isFinite(x) ? formatF4(x) : x > 0 ? 'Infinity' : '-Infinity');
}
