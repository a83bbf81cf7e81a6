import { describe, expect, it } from 'vitest';
import { HostCursor, rowWindow } from './cursor.ts';

const T0 = 1_700_000_000; // host clock, unix s (multiple of 5)
const options = { resolution: 5, maxBackfill: 600, initialWindow: 60 };

/** A fake agent clock: only ever used for elapsed time. */
function fakeClock(startMs = 42_000) {
  let now = startMs;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function fresh(): HostCursor {
  const c = new HostCursor(options);
  c.initialize(T0 * 1000 + 700); // host time from host.get_servertime, not the agent's clock
  return c;
}

const all = () => true;
const none = () => false;

describe('HostCursor', () => {
  it('first poll starts a small window before the host time', () => {
    const clock = fakeClock();
    const c = fresh();
    expect(c.plan(clock.now())).toEqual({ start: T0 - 60 + 1, skippedSeconds: 0 });
  });

  it('advances to the newest delivered row; the next start is that row + 1', () => {
    const clock = fakeClock();
    const c = fresh();
    c.observe(T0, clock.now());
    c.commit(T0, ['host:h', 'vm:a'], all);
    expect(c.delivered).toBe(T0);
    expect(c.plan(clock.now()).start).toBe(T0 + 1);
  });

  it('does not move when nothing was delivered (the rows are read again)', () => {
    const clock = fakeClock();
    const c = fresh();
    c.commit(T0, ['host:h', 'vm:a'], none);
    expect(c.delivered).toBe(T0 - 60);
    expect(c.plan(clock.now()).start).toBe(T0 - 59);
  });

  it('partial delivery: owed resources hold the host cursor, delivered ones are skipped on replay', () => {
    const c = fresh();
    c.commit(T0, ['host:h', 'vm:a', 'vm:b'], (k) => k !== 'vm:b');
    expect(c.delivered).toBe(T0 - 60);
    expect(c.minTimeExclusive('vm:a')).toBe(T0);
    expect(c.minTimeExclusive('host:h')).toBe(T0);
    expect(c.minTimeExclusive('vm:b')).toBe(T0 - 60);
    // Replay delivers everything up to T0 + 10.
    c.commit(T0 + 10, ['host:h', 'vm:a', 'vm:b'], all);
    expect(c.delivered).toBe(T0 + 10);
    expect(c.hasAhead).toBe(false);
  });

  it('partial delivery twice: the host cursor is the oldest owed row', () => {
    const c = fresh();
    c.commit(T0, ['vm:a', 'vm:b'], (k) => k === 'vm:a'); // b owed from T0-60
    c.commit(T0 + 5, ['vm:a', 'vm:b'], (k) => k === 'vm:b'); // a owed from T0, b delivered to T0+5
    expect(c.delivered).toBe(T0);
    expect(c.minTimeExclusive('vm:a')).toBe(T0);
    expect(c.minTimeExclusive('vm:b')).toBe(T0 + 5);
  });

  it('a resource absent from the batch (no points in the window) counts as delivered', () => {
    const c = fresh();
    c.commit(T0, ['vm:a'], all);
    expect(c.delivered).toBe(T0);
  });

  it('rows:0 (no rows taken) changes nothing', () => {
    const clock = fakeClock();
    const c = fresh();
    c.commit(undefined, ['host:h'], all);
    expect(c.delivered).toBe(T0 - 60);
    expect(c.observe(T0 - 60, clock.now())).toEqual({ kind: 'behind' });
  });

  it('host clock slightly behind the cursor is "behind", not an error; far behind restarts from host time', () => {
    const clock = fakeClock();
    const c = fresh();
    c.commit(T0, ['host:h'], all);
    expect(c.observe(T0 - 30, clock.now())).toEqual({ kind: 'behind' });
    expect(c.delivered).toBe(T0);
    expect(c.observe(T0 - 3600, clock.now())).toEqual({ kind: 'reset', previous: T0 });
    expect(c.delivered).toBe(T0 - 3600 - 60);
  });

  it('a cursor lagging more than max_backfill skips forward (host time estimated from the last response)', () => {
    const clock = fakeClock();
    const c = fresh();
    c.observe(T0, clock.now());
    c.commit(T0, ['host:h'], all);
    clock.advance(9 * 60_000); // 9 min of outage: still within the 5 s archive
    expect(c.plan(clock.now())).toEqual({ start: T0 + 1, skippedSeconds: 0 });
    clock.advance(3 * 60_000); // 12 min
    const plan = c.plan(clock.now());
    expect(plan.skippedSeconds).toBe(120);
    expect(plan.start).toBe(T0 + 120 + 1);
  });
});

describe('rowWindow', () => {
  const rows = Float64Array.from([T0 + 20, T0 + 15, T0 + 10, T0 + 5, T0]); // newest first, as xapi sends

  it('takes rows newer than the cursor', () => {
    expect(rowWindow(rows, T0 + 5, 100)).toEqual({ begin: 0, end: 3, available: 3, newest: T0 + 20 });
  });

  it('caps to the oldest rows, so a lagging cursor catches up in order', () => {
    expect(rowWindow(rows, T0 - 1, 2)).toEqual({ begin: 3, end: 5, available: 5, newest: T0 + 5 });
  });

  it('nothing newer: empty window', () => {
    expect(rowWindow(rows, T0 + 20, 10)).toEqual({ begin: 0, end: 0, available: 0, newest: undefined });
    expect(rowWindow(new Float64Array(0), T0, 10)).toEqual({ begin: 0, end: 0, available: 0, newest: undefined });
  });

  it('refuses rows that are not newest first', () => {
    expect(rowWindow(Float64Array.from([T0, T0 + 5]), T0 - 5, 10)).toBeUndefined();
  });
});
