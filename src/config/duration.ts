// Durations and sizes as users write them (`10s`, `1m30s`, `64MiB`), parsed in one place.

import { z } from 'zod';

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/** Parses `500ms`, `10s`, `1m30s`, `1.5h` or `0` to milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (trimmed === '') return undefined;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  while (DURATION_PART.lastIndex < trimmed.length) {
    const match = DURATION_PART.exec(trimmed);
    if (!match) return undefined;
    total += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
  }
  return Math.round(total);
}

/** `10s` → 10000 (ms). Written as a string in YAML; the output is milliseconds. */
export function durationSchema(options: { min?: number } = {}) {
  const min = options.min ?? 0;
  return z
    .string()
    .meta({ description: 'Duration such as 500ms, 10s, 1m30s, 1h' })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `invalid duration '${text}' (expected e.g. 500ms, 10s, 1m30s)` });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `duration '${text}' must be at least ${formatDuration(min)}` });
        return z.NEVER;
      }
      return ms;
    });
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
};

/** Parses `1048576`, `512KiB`, `64MiB`, `1GB` to bytes; undefined when malformed. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!.toUpperCase()];
  return unit === undefined ? undefined : Math.round(Number(match[1]) * unit);
}

/** A byte size: a number of bytes or a string with a unit (`64MiB`). */
export function sizeSchema() {
  return z
    .union([z.number().int().positive(), z.string()])
    .meta({ description: 'Size in bytes, or with a unit: 512KiB, 64MiB, 1GB' })
    .transform((input, ctx) => {
      const bytes = typeof input === 'number' ? input : parseSize(input);
      if (bytes === undefined || bytes <= 0) {
        ctx.addIssue({ code: 'custom', message: `invalid size '${String(input)}' (expected e.g. 1048576, 512KiB, 64MiB)` });
        return z.NEVER;
      }
      return bytes;
    });
}
