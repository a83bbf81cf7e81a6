import { describe, expect, it } from 'vitest';
import { MILLIS_COMPOUND, MILLIS_SINGLE, SECONDS_COMPOUND, formatDuration, parseDuration } from './index.ts';

// One table for the union: each row says what each syntax makes of the same text (undefined = rejected), so a
// change that widens one caller's syntax shows up here as a changed cell.
const rows: [text: string, compoundMs: number | undefined, singleMs: number | undefined, compoundSeconds: number | undefined][] = [
  ['0', 0, undefined, 0],
  ['00', undefined, undefined, 0],
  ['10', undefined, undefined, 10],
  ['600', undefined, undefined, 600],
  ['500ms', 500, 500, undefined],
  ['10s', 10_000, 10_000, 10],
  ['  10s  ', 10_000, 10_000, 10],
  ['5 s', undefined, 5_000, undefined],
  ['1m', 60_000, 60_000, 60],
  ['1m30s', 90_000, undefined, 90],
  ['1h30m', 5_400_000, undefined, 5400],
  ['1.5h', 5_400_000, 5_400_000, undefined],
  ['1.0005s', 1001, 1000.5, undefined],
  ['1d', undefined, undefined, 86_400],
  ['10ms', 10, 10, undefined],
  ['10x', undefined, undefined, undefined],
  ['5 parsecs', undefined, undefined, undefined],
  ['s', undefined, undefined, undefined],
  ['', undefined, undefined, undefined],
  ['-5s', undefined, undefined, undefined],
];

describe('parseDuration', () => {
  it.each(rows)('%s → %s (ms, compound) | %s (ms, single) | %s (s, compound)', (text, compoundMs, singleMs, compoundSeconds) => {
    expect(parseDuration(text, MILLIS_COMPOUND)).toBe(compoundMs);
    expect(parseDuration(text, MILLIS_SINGLE)).toBe(singleMs);
    expect(parseDuration(text, SECONDS_COMPOUND)).toBe(compoundSeconds);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [500, '500ms'],
    [10_000, '10s'],
    [90_000, '90s'],
    [120_000, '2m'],
    [3_600_000, '1h'],
  ])('%s → %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
