// The scrape skeleton the storage receivers share: read the inventories of the configured pools (no XAPI call in
// steady state), fail the scrape only when no pool is ready, report each unready pool as an item error, and map the
// ready pools into one builder. The plugin API's classes come in as a parameter (`import * as pluginApi`): this
// leaf library may not import the plugin API, and the errors must be the core's AgentError / ScrapeItemError.

import type { Inventory } from '../xapi/types.ts';
import { readInventories, type PoolSnapshot, type PoolSource } from './pools.ts';

export const STORAGE_ERR_NO_INVENTORY = 'STORAGE_ERR_NO_INVENTORY';
export const STORAGE_ERR_POOL_UNAVAILABLE = 'STORAGE_ERR_POOL_UNAVAILABLE';

interface ErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** The plugin API classes the skeleton builds (structural). */
export interface StorageScrapeApi<Builder, ItemError> {
  readonly AgentError: new (code: string, message: string, options?: ErrorOptions) => Error;
  readonly ScrapeItemError: new (code: string, item: string, message: string, options?: ErrorOptions) => ItemError;
  readonly MetricsBuilder: new (enablement?: Readonly<Record<string, { readonly enabled: boolean }>>) => Builder;
}

export interface StorageScrapeSettings {
  readonly pools: PoolSource;
  readonly clock: { now(): number };
}

export interface StorageScrapeConfig {
  readonly pools: readonly string[];
  readonly metrics: Readonly<Record<string, { readonly enabled: boolean }>>;
}

/** Ready pools (config order) and one item error per pool that is not; throws when no pool is ready. */
export async function readStoragePools<ItemError>(
  api: StorageScrapeApi<unknown, ItemError>,
  pools: PoolSource,
  names: readonly string[],
  signal: AbortSignal,
): Promise<{ ready: PoolSnapshot[]; errors: ItemError[] }> {
  const { ready, failed } = await readInventories(pools, names, signal);
  if (ready.length === 0) {
    throw new api.AgentError(STORAGE_ERR_NO_INVENTORY, 'no configured pool has an inventory yet', {
      cause: failed[0]?.cause,
      details: { pools: names },
    });
  }
  const errors = failed.map(
    (f) =>
      new api.ScrapeItemError(STORAGE_ERR_POOL_UNAVAILABLE, `pool:${f.name}`, 'pool inventory is not available', {
        cause: f.cause,
        details: { pool: f.name },
      }),
  );
  return { ready, errors };
}

/** Maps one pool's inventory into the builder, pushing per-item errors; returns how many items it mapped. */
export type RecordPool<Builder, ItemError> = (builder: Builder, inventory: Inventory, now: number, errors: ItemError[]) => number;

/** The whole scrape of a storage receiver without state between scrapes. */
export async function scrapeStoragePools<Builder extends { emit(): unknown }, ItemError>(
  api: StorageScrapeApi<Builder, ItemError>,
  settings: StorageScrapeSettings,
  config: StorageScrapeConfig,
  signal: AbortSignal,
  recordPool: RecordPool<Builder, ItemError>,
): Promise<{ batch: ReturnType<Builder['emit']>; errors: ItemError[]; pools: number; items: number }> {
  const { ready, errors } = await readStoragePools(api, settings.pools, config.pools, signal);
  const builder = new api.MetricsBuilder(config.metrics);
  const now = settings.clock.now();
  let items = 0;
  for (const { inventory } of ready) items += recordPool(builder, inventory, now, errors);
  return { batch: builder.emit() as ReturnType<Builder['emit']>, errors, pools: ready.length, items };
}

export interface StorageScraperSettings extends StorageScrapeSettings {
  readonly logger: { debug(obj: object, msg: string): void };
}

/**
 * A storage receiver's scraper: `scrapeStoragePools` plus one debug line per scrape
 * (`{ pools, <itemsName>: n, errors }`, constant message).
 */
export function createStorageScraper<Builder extends { emit(): unknown }, ItemError>(
  api: StorageScrapeApi<Builder, ItemError>,
  settings: StorageScraperSettings,
  config: StorageScrapeConfig,
  recordPool: RecordPool<Builder, ItemError>,
  log: { readonly itemsName: string; readonly message: string },
): { scrape(signal: AbortSignal): Promise<{ batch: ReturnType<Builder['emit']>; errors: ItemError[] }> } {
  return {
    async scrape(signal) {
      const { batch, errors, pools, items } = await scrapeStoragePools(api, settings, config, signal, recordPool);
      settings.logger.debug({ pools, [log.itemsName]: items, errors: errors.length }, log.message);
      return { batch, errors };
    },
  };
}
