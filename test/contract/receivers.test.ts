// The lifecycle contract (receiver-contract.ts) over every built-in receiver, one row per plugin folder.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { builtinReceivers } from '../../plugins/index.ts';
import type { ReceiverFactory } from '../../src/plugin-api/index.ts';
import { describeReceiverContract } from './receiver-contract.ts';

const PLUGINS = new URL('../../plugins/', import.meta.url);
const folders = readdirSync(PLUGINS).filter((name) => statSync(new URL(name, PLUGINS)).isDirectory()).sort();

/** Sample configs: the plugin's `testdata/config.yaml` overrides where it has one. */
function sampleConfigOf(folder: string): Record<string, unknown> {
  const inline: Record<string, Record<string, unknown>> = {
    rrd_updates: { pools: ['prod', 'dr'], resolution: '1m', cf: 'MAX', format: 'xml', max_rows_per_cycle: 120, max_backfill: '30m', metrics: { 'xen.host.cpu.utilization': { enabled: false } } },
  };
  if (inline[folder]) return inline[folder];
  const sections = parse(readFileSync(new URL(`${folder}/testdata/config.yaml`, PLUGINS), 'utf8')) as { overrides: Record<string, unknown> };
  return sections.overrides;
}

describe('built-in receivers', () => {
  it('are exactly the plugin folders, each exporting its factory from index.ts', async () => {
    expect(builtinReceivers.map((f) => f.type).sort()).toEqual(folders);
    for (const folder of folders) {
      const mod = (await import(new URL(`${folder}/index.ts`, PLUGINS).href)) as { factory: ReceiverFactory<unknown> };
      expect(builtinReceivers).toContain(mod.factory);
    }
  });
});

for (const factory of builtinReceivers as readonly ReceiverFactory<object>[]) {
  describeReceiverContract(factory, sampleConfigOf(factory.type), { folder: folders.find((f) => f === factory.type) ?? `(no folder for ${factory.type})` });
}
