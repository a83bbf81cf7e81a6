// The receiver lifecycle contract every receiver is held to (the collector's mdatagen `generated_component_test`):
// its type, its config schema (defaults, strictness, pools) and create → start → shutdown on fresh instances.
// Pools are in-memory (no XAPI call may happen: start must be quick and shutdown must not need a connection).
import { describe, expect, it } from 'vitest';
import type { ReceiverFactory, ReceiverSettings, Scraper } from '../../src/plugin-api/index.ts';
import { fakePool, inventoryFrom, testSettings } from '../../src/lib/storage/testing.ts';

export interface ReceiverContractOptions {
  /** Folder the receiver lives in (`plugins/<folder>/`); its type must equal it. */
  readonly folder?: string;
  /** The least config that is valid; default: `{ pools }` of the sample config. */
  readonly minimalConfig?: Record<string, unknown>;
}

const LOWER_SNAKE_CASE = /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/;
const signal = () => AbortSignal.timeout(5_000);

/** What the host does: an absent `start`/`shutdown` is a no-op. */
const shutdown = (scraper: Scraper): Promise<void> => Promise.resolve(scraper.shutdown?.());
const start = (scraper: Scraper): Promise<void> => Promise.resolve(scraper.start?.(signal()));

function poolNamesOf(config: Record<string, unknown>): string[] {
  const pools = config['pools'];
  return Array.isArray(pools) ? pools.filter((p): p is string => typeof p === 'string') : [];
}

function settingsFor(config: Record<string, unknown>, id: string): ReceiverSettings {
  const pools = poolNamesOf(config).map((name) => fakePool(name, inventoryFrom({ pool: { uuid: `00000000-0000-4000-8000-${name.padStart(12, '0').slice(-12)}`, name_label: name } })));
  return testSettings(pools, id).settings;
}

export function describeReceiverContract<C>(factory: ReceiverFactory<C>, sampleConfig: Record<string, unknown>, options: ReceiverContractOptions = {}): void {
  const minimalConfig = options.minimalConfig ?? { pools: poolNamesOf(sampleConfig) };
  const create = (raw: Record<string, unknown>) => factory.createScraper(settingsFor(raw, `${factory.type}/contract`), factory.configSchema.parse(raw));

  describe(`receiver contract: ${factory.type}`, () => {
    it('has a lower_snake_case type equal to its folder', () => {
      expect(factory.type).toMatch(LOWER_SNAKE_CASE);
      if (options.folder !== undefined) expect(factory.type).toBe(options.folder);
    });

    it('parses the minimal (defaults) and the sample config', () => {
      expect(factory.configSchema.safeParse(minimalConfig).error).toBeUndefined();
      expect(factory.configSchema.safeParse(sampleConfig).error).toBeUndefined();
    });

    it('rejects an unknown key', () => {
      const result = factory.configSchema.safeParse({ ...sampleConfig, no_such_option: true });
      expect(result.success).toBe(false);
      expect(result.error!.issues.map((i) => i.code)).toContain('unrecognized_keys');
    });

    it('returns the configured pools from poolsOf', () => {
      const pools = poolNamesOf(sampleConfig);
      if (pools.length === 0) return;
      expect(factory.poolsOf, 'a receiver with pools: declares poolsOf').toBeDefined();
      expect(factory.poolsOf!(factory.configSchema.parse(sampleConfig))).toEqual(pools);
      expect(factory.poolsOf!(factory.configSchema.parse(minimalConfig))).toEqual(poolNamesOf(minimalConfig));
    });

    it('shuts down without having been started', async () => {
      await expect(shutdown(create(sampleConfig))).resolves.toBeUndefined();
    });

    it('starts and shuts down, twice, on fresh instances', async () => {
      for (let round = 0; round < 2; round++) {
        const scraper = create(sampleConfig);
        await start(scraper);
        await expect(shutdown(scraper)).resolves.toBeUndefined();
      }
    });

    it('shuts down idempotently', async () => {
      const scraper = create(sampleConfig);
      await start(scraper);
      await shutdown(scraper);
      await expect(shutdown(scraper)).resolves.toBeUndefined();
    });
  });
}
