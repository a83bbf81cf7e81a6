import { describe, expect, it } from 'vitest';
import { satisfies } from '../host/semver.ts';
import { MILLIS_COMPOUND, parseDuration } from '../lib/duration/index.ts';
import { parseSize } from './duration.ts';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['10', undefined],
    ['10x', undefined],
    ['', undefined],
    ['s', undefined],
  ])('%s → %s', (text, ms) => expect(parseDuration(text, MILLIS_COMPOUND)).toBe(ms));
});

describe('parseSize', () => {
  it.each([
    ['1048576', 1_048_576],
    ['512KiB', 524_288],
    ['64MiB', 67_108_864],
    ['1GB', 1e9],
    ['12 parsecs', undefined],
  ])('%s → %s', (text, bytes) => expect(parseSize(text)).toBe(bytes));
});

describe('plugin API version ranges', () => {
  it.each([
    ['1.0.0', '^1.0.0', true],
    ['1.4.2', '^1.2.0', true],
    ['2.0.0', '^1.0.0', false],
    ['1.0.0', '~1.0.0', true],
    ['1.1.0', '~1.0.0', false],
    ['1.0.0', '>=0.9.0', true],
    ['1.0.0', '1.x', true],
    ['1.0.0', '^2.0.0 || ^1.0.0', true],
    ['1.0.0', 'banana', undefined],
  ])('%s satisfies %s: %s', (version, range, expected) => expect(satisfies(version, range)).toBe(expected));
});
