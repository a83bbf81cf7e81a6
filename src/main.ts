// Composition root: the only importer of plugins/index.ts and the only process.exit.

import { readFileSync } from 'node:fs';
import { builtinReceivers } from '../plugins/index.ts';
import { runCli } from './cli/run.ts';
import { builtinExporters } from './exporters/registry.ts';
import { ComponentRegistry } from './host/registry.ts';
import type { PoolDeps } from './host/pools.ts';
import { filterProcessorFactory } from './pipeline/processors/filter.ts';
import type { ProcessorFactory } from './pipeline/processors/types.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

async function loadPoolDeps(): Promise<PoolDeps> {
  // Loaded on demand: `validate`, `--help` and pool-less configs do not pay for TLS, XML-RPC and the simulator.
  const [{ createXapiPool }, { startSimulator }] = await Promise.all([import('./lib/xapi/index.ts'), import('./simulator/index.ts')]);
  return { createXapiPool, startSimulator };
}

async function runSimulate(argv: readonly string[]): Promise<number> {
  const { runSimulateCommand } = await import('./simulator/cli.ts');
  return runSimulateCommand([...argv]);
}

const code = await runCli(process.argv.slice(2), {
  version: pkg.version,
  createRegistry: () =>
    new ComponentRegistry({
      receivers: builtinReceivers,
      exporters: builtinExporters(),
      processors: [filterProcessorFactory as ProcessorFactory],
    }),
  loadPoolDeps,
  runSimulate,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onSignal: (signal, handler) => process.on(signal, handler),
  forceExit: (exitCode) => process.exit(exitCode),
});
// Let stdout drain (piped output is asynchronous) before exiting.
process.stdout.write('', () => process.exit(code));
