// Deterministic, allocation-free signal generators: every value is a pure function of (seed, entity, channel, time),
// so a run is reproducible from its seed and generation costs O(1) per value.
import type { RrdLoadProfile } from './contract.ts';

/** 32-bit FNV-1a of a string (entity keys: uuids). */
export function hashString(s: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Integer mix of three 32-bit inputs → [0, 1). */
export function hash01(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c ^ 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1): `x` in units of the feature period. */
export function smoothNoise(key: number, channel: number, x: number): number {
  const i = Math.floor(x);
  const f = x - i;
  const a = hash01(key, channel, i);
  const b = hash01(key, channel, i + 1);
  const s = f * f * (3 - 2 * f);
  return a + (b - a) * s;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

const TWO_PI = 2 * Math.PI;

/** Per-entity constants derived once from its hash. */
export interface LoadShape {
  profile: RrdLoadProfile;
  key: number;
  base: number;
  periodSec: number;
  phase: number;
  duty: number;
}

export function loadShape(profile: RrdLoadProfile, key: number): LoadShape {
  const r1 = hash01(key, 101, 0);
  const r2 = hash01(key, 102, 0);
  const r3 = hash01(key, 103, 0);
  switch (profile) {
    case 'idle':
      return { profile, key, base: 0.004 + 0.01 * r1, periodSec: 600, phase: r2, duty: 0 };
    case 'steady':
      return { profile, key, base: 0.15 + 0.3 * r1, periodSec: 180, phase: r2, duty: 0 };
    case 'web':
      return { profile, key, base: 0.35 + 0.35 * r1, periodSec: 900 + Math.floor(2700 * r2), phase: r3, duty: 0 };
    case 'database':
      return { profile, key, base: 0.08 + 0.1 * r1, periodSec: 60, phase: r2, duty: 0.1 + 0.15 * r3 };
    case 'batch':
      return { profile, key, base: 0.85 + 0.1 * r1, periodSec: 1800 + Math.floor(5400 * r2), phase: r3, duty: 0.25 + 0.35 * hash01(key, 104, 0) };
    case 'control_domain':
      return { profile, key, base: 0.02 + 0.02 * r1, periodSec: 60, phase: r2, duty: 0 };
  }
}

/** Busy fraction (0..1) of an entity with this shape at time t (seconds). */
export function loadAt(s: LoadShape, t: number): number {
  const k = s.key;
  switch (s.profile) {
    case 'idle': {
      const blip = hash01(k, 11, Math.floor(t / 60)) < 0.02 ? 0.12 : 0;
      return clamp01(s.base + 0.01 * smoothNoise(k, 12, t / s.periodSec) + blip);
    }
    case 'steady':
      return clamp01(s.base * (0.9 + 0.2 * smoothNoise(k, 13, t / s.periodSec)));
    case 'web': {
      const diurnal = 0.5 + 0.5 * Math.sin(TWO_PI * (t / 86400 + s.phase));
      const wave = 0.5 + 0.5 * Math.sin(TWO_PI * (t / s.periodSec + s.phase));
      const jitter = 0.85 + 0.3 * smoothNoise(k, 14, t / 30);
      return clamp01(0.04 + s.base * (0.35 * diurnal + 0.65 * wave) * jitter);
    }
    case 'database': {
      const slot = Math.floor(t / s.periodSec);
      const burst = hash01(k, 15, slot) < s.duty ? 0.5 + 0.4 * hash01(k, 16, slot) : 0;
      return clamp01(s.base + 0.06 * smoothNoise(k, 17, t / 20) + burst);
    }
    case 'batch': {
      const pos = (t / s.periodSec + s.phase) % 1;
      return pos < s.duty ? clamp01(s.base + 0.08 * smoothNoise(k, 18, t / 15)) : clamp01(0.01 + 0.02 * smoothNoise(k, 19, t / 60));
    }
    case 'control_domain':
      return clamp01(s.base + 0.04 * smoothNoise(k, 20, t / 60));
  }
}

/** Scale of guest network (B/s at full load) and disk (IOPS at full load) per profile. */
export const PROFILE_IO: Readonly<Record<RrdLoadProfile, { net: number; iops: number; readShare: number; ioSizeKiB: number }>> = {
  idle: { net: 4e3, iops: 2, readShare: 0.5, ioSizeKiB: 8 },
  steady: { net: 6e5, iops: 60, readShare: 0.6, ioSizeKiB: 16 },
  web: { net: 6e6, iops: 80, readShare: 0.8, ioSizeKiB: 24 },
  database: { net: 1.5e6, iops: 900, readShare: 0.65, ioSizeKiB: 8 },
  batch: { net: 3e5, iops: 400, readShare: 0.3, ioSizeKiB: 64 },
  control_domain: { net: 2e4, iops: 5, readShare: 0.5, ioSizeKiB: 4 },
};
