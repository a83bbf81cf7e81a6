// Reads the inventories of the configured pools for one scrape. Steady state costs no XAPI call: the inventory is
// kept current by event.from in src/lib/xapi; we only wait for the first full load.

import type { Inventory, XapiPool } from '../xapi/types.ts';

export interface PoolSource {
  get(name: string): XapiPool;
}

export interface PoolSnapshot {
  readonly name: string;
  readonly inventory: Inventory;
}

export interface PoolFailure {
  readonly name: string;
  readonly cause: unknown;
}

/** Pools that are ready (in config order) and pools that are not; the caller decides what is fatal. */
export async function readInventories(
  pools: PoolSource,
  names: readonly string[],
  signal: AbortSignal,
): Promise<{ ready: PoolSnapshot[]; failed: PoolFailure[] }> {
  const results = await Promise.allSettled(
    names.map(async (name) => {
      const pool = pools.get(name);
      await pool.ready(signal);
      return { name, inventory: pool.inventory() };
    }),
  );
  const ready: PoolSnapshot[] = [];
  const failed: PoolFailure[] = [];
  results.forEach((result, index) => {
    if (result.status === 'fulfilled') ready.push(result.value);
    else failed.push({ name: names[index]!, cause: result.reason });
  });
  return { ready, failed };
}
