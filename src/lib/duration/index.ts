// Durations as users write them (`10s`, `1m30s`, `5 s`, `600`), parsed in one place for the core config, the
// OTLP exporters and the receivers (a leaf library: plugins may import it, core may not be imported by plugins).
//
// The grammar is the union of what those callers accept:
//   duration := bare | part+            part := number space? unit
// and each caller narrows it with a DurationSyntax (which units, fractions, several parts, a space before the
// unit, what a bare number means). Nothing is accepted that the caller's syntax does not name.

export interface DurationSyntax {
  /** Unit → its length in the unit of the result (e.g. `{ s: 1000 }` for milliseconds). */
  readonly units: Readonly<Record<string, number>>;
  /** Decimal numbers such as `1.5h`; otherwise whole numbers only. */
  readonly fractions: boolean;
  /** Several parts such as `1m30s`; otherwise exactly one. */
  readonly compound: boolean;
  /** White space between a number and its unit (`5 s`). */
  readonly spaceBeforeUnit: boolean;
  /** A number without unit: `none`, only `zero` (`0`), or any whole number (`600`) taken in the unit of the result. */
  readonly bareNumber: 'none' | 'zero' | 'integer';
  /** Round the result to a whole number. */
  readonly round: boolean;
}

const MS_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `1m30s`, `1.5h` or `0` → milliseconds, rounded (the agent's config: intervals, timeouts). */
export const MILLIS_COMPOUND: DurationSyntax = {
  units: MS_UNITS,
  fractions: true,
  compound: true,
  spaceBeforeUnit: false,
  bareNumber: 'zero',
  round: true,
};

/** One part, a space allowed before the unit: `500ms`, `5 s`, `1.5h` → milliseconds, not rounded (OTLP exporters). */
export const MILLIS_SINGLE: DurationSyntax = {
  units: MS_UNITS,
  fractions: true,
  compound: false,
  spaceBeforeUnit: true,
  bareNumber: 'none',
  round: false,
};

/** `600`, `600s`, `10m`, `1h30m`, `1d` → whole seconds (RRD steps and windows). */
export const SECONDS_COMPOUND: DurationSyntax = {
  units: { s: 1, m: 60, h: 3600, d: 86400 },
  fractions: false,
  compound: true,
  spaceBeforeUnit: false,
  bareNumber: 'integer',
  round: false,
};

const partPatterns = new WeakMap<DurationSyntax, RegExp>();

function partPattern(syntax: DurationSyntax): RegExp {
  let pattern = partPatterns.get(syntax);
  if (pattern === undefined) {
    // Longest unit first, so `ms` is not read as `m` followed by a stray `s`.
    const units = Object.keys(syntax.units).sort((a, b) => b.length - a.length);
    const number = syntax.fractions ? String.raw`\d+(?:\.\d+)?` : String.raw`\d+`;
    pattern = new RegExp(`(${number})${syntax.spaceBeforeUnit ? String.raw`\s*` : ''}(${units.join('|')})`, 'y');
    partPatterns.set(syntax, pattern);
  }
  return pattern;
}

/** Parses `text` (surrounding white space ignored) in the given syntax; undefined when malformed. */
export function parseDuration(text: string, syntax: DurationSyntax): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (syntax.bareNumber === 'zero' && trimmed === '0') return 0;
  if (syntax.bareNumber === 'integer' && /^\d+$/.test(trimmed)) return Number(trimmed);
  const part = partPattern(syntax);
  part.lastIndex = 0;
  let total = 0;
  let parts = 0;
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed);
    if (!match || (parts > 0 && !syntax.compound)) return undefined;
    total += Number(match[1]) * syntax.units[match[2]!]!;
    parts += 1;
  }
  return syntax.round ? Math.round(total) : total;
}

/** Milliseconds in the largest unit that divides them: `90000` → `90s`, `3600000` → `1h`, `0` → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
