// The commands behind the CLI. Everything process-global (argv, stdout, signals, exit, the built-in
// component lists) comes in through `CliDeps` from main.ts, so tests can drive the same code.

import { ConfigError, formatIssue } from '../config/issues.ts';
import { loadConfigFile, type AgentConfig } from '../config/load.ts';
import { effectiveConfigYaml } from '../config/effective.ts';
import { renderConfigJsonSchema } from '../config/json-schema.ts';
import { Agent } from '../host/agent.ts';
import type { PoolDeps } from '../host/pools.ts';
import type { ComponentRegistry } from '../host/registry.ts';
import { errorCode } from '../plugin-api/index.ts';
import { asAgentLogger, createLogger } from '../telemetry/logger.ts';
import { parseArgs, USAGE } from './args.ts';

export interface TextOut {
  write(text: string): unknown;
}

export interface CliDeps {
  readonly version: string;
  /** A fresh registry with the built-in receivers, processors and exporters. */
  createRegistry(): ComponentRegistry;
  /** XAPI pool and simulator implementations, loaded only when a pool is used. */
  loadPoolDeps(): Promise<PoolDeps>;
  runSimulate(argv: readonly string[]): Promise<number>;
  readonly stdout: TextOut;
  readonly stderr: TextOut;
  readonly env: Readonly<Record<string, string | undefined>>;
  onSignal(signal: 'SIGTERM' | 'SIGINT', handler: () => void): void;
  /** Immediate exit (second signal, shutdown overrun). */
  forceExit(code: number): void;
}

/** Returns the process exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const command = parseArgs(argv);
  switch (command.kind) {
    case 'help':
      deps.stdout.write(USAGE);
      return 0;
    case 'version':
      deps.stdout.write(`xen-otel-agent ${deps.version}\n`);
      return 0;
    case 'usage-error':
      deps.stderr.write(`xen-otel-agent: ${command.message}\n\n${USAGE}`);
      return 2;
    case 'schema':
      deps.stdout.write(renderConfigJsonSchema(deps.createRegistry()));
      return 0;
    case 'simulate':
      return deps.runSimulate(command.argv);
    case 'validate': {
      const config = await load(command.config, deps);
      if (!config) return 1;
      if (command.print) deps.stdout.write(effectiveConfigYaml(config));
      for (const w of config.warnings) deps.stderr.write(`warning: ${w}\n`);
      for (const [name, p] of Object.entries(config.pools)) {
        if (p.tls.insecure_skip_verify) deps.stderr.write(`warning: pools.${name}.tls.insecure_skip_verify is true: certificates are NOT verified\n`);
      }
      deps.stderr.write(`${command.config}: valid (${config.pipelines.length} pipeline(s), ${Object.keys(config.receivers).length} receiver(s))\n`);
      return 0;
    }
    case 'run':
      return run(command.config, deps);
  }
}

async function load(file: string, deps: CliDeps): Promise<AgentConfig | undefined> {
  try {
    return await loadConfigFile(file, { registry: deps.createRegistry(), env: deps.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      deps.stderr.write(`${file}: ${err.issues.length} error(s)\n`);
      for (const issue of err.issues) deps.stderr.write(`  ${formatIssue(issue)}\n`);
      return undefined;
    }
    throw err;
  }
}

const FORCE_EXIT_AFTER_SIGNAL_MS = 4800;

async function run(file: string, deps: CliDeps): Promise<number> {
  const config = await load(file, deps);
  if (!config) return 1;
  const root = createLogger({ level: config.telemetry.logs.level, format: config.telemetry.logs.format });
  const logger = asAgentLogger(root);
  for (const w of config.warnings) logger.warn({ warning: w }, 'config warning');

  let signals = 0;
  let resolveStop: (signal: string) => void = () => {};
  const stopRequested = new Promise<string>((resolve) => (resolveStop = resolve));
  const onSignal = (signal: 'SIGTERM' | 'SIGINT') => () => {
    signals += 1;
    if (signals === 1) {
      resolveStop(signal);
      // Whatever hangs, the process is gone within 5 s of the first signal.
      setTimeout(() => {
        logger.error({ signal }, 'shutdown overran its budget; exiting');
        deps.forceExit(1);
      }, FORCE_EXIT_AFTER_SIGNAL_MS).unref();
    } else {
      logger.warn({ signal }, 'second signal; exiting now');
      deps.forceExit(130);
    }
  };
  deps.onSignal('SIGTERM', onSignal('SIGTERM'));
  deps.onSignal('SIGINT', onSignal('SIGINT'));

  // Receiver and exporter timers are unref'd; this keeps the process alive until a signal arrives.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    const poolDeps: PoolDeps = config.usedPools.length > 0 ? await deps.loadPoolDeps() : { createXapiPool: unavailablePools };
    const agent = new Agent({ config, logger, poolDeps, serviceVersion: deps.version });
    try {
      await Promise.race([agent.start(), stopRequested]);
    } catch (err) {
      logger.error({ err, code: errorCode(err) }, 'agent failed to start');
      return 1;
    }
    const signal = await stopRequested;
    logger.info({ signal }, 'signal received; shutting down');
    await agent.shutdown();
    return 0;
  } finally {
    clearInterval(keepAlive);
    root.flush();
  }
}

function unavailablePools(): never {
  throw new Error('no pool is used by this configuration');
}
