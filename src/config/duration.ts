// Durations and sizes as users write them (`10s`, `1m30s`, `64MiB`). Durations are parsed by src/lib/duration
// (shared with the exporters and receivers); this file holds the core config's schema and messages.

import { z } from 'zod';
import { MILLIS_COMPOUND, formatDuration, parseDuration } from '../lib/duration/index.ts';

/** `10s` → 10000 (ms). Written as a string in YAML; the output is milliseconds. */
export function durationSchema(options: { min?: number } = {}) {
  const min = options.min ?? 0;
  return z
    .string()
    .meta({ description: 'Duration such as 500ms, 10s, 1m30s, 1h' })
    .transform((text, ctx) => {
      const ms = parseDuration(text, MILLIS_COMPOUND);
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
