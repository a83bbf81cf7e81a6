// What bench/run.ts and bench/memory.ts share: the two child processes (the simulated pool and the OTLP sink, so
// their work never shows in the agent's figures) and the agent's pool and exporter, built with the agent's defaults.

import { spawn, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { otlpGrpcConfigSchema, otlpGrpcExporterFactory } from '../src/exporters/otlp-grpc/index.ts';
import { createXapiPool } from '../src/lib/xapi/index.ts';
import type { XapiPool } from '../src/lib/xapi/types.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { ScrapeController } from '../src/pipeline/scrape-controller.ts';
import type { Logger, Scraper } from '../src/plugin-api/index.ts';
import type { SimulatorReadyInfo } from '../src/simulator/api.ts';
import { forceGc } from '../test/helpers/gc.ts';
import { runSink, type SinkStats } from './sink.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** A full GC without `--expose-gc` on the command line (the bench must run with the product's flags only). */
export const gc = forceGc;

export interface SimulatedPoolSize {
  readonly hosts: number;
  readonly vmsPerHost: number;
  /** One 5 s RRD row every `5 / timeScale` real seconds. */
  readonly timeScale: number;
}

/** `node src/main.ts simulate` in its own process, seeded and without dynamics; resolves on its ready line. */
export async function startSimulator(size: SimulatedPoolSize): Promise<{ info: SimulatorReadyInfo; child: ChildProcess }> {
  const args = [
    'src/main.ts', 'simulate',
    '--hosts', String(size.hosts),
    '--vms-per-host', String(size.vmsPerHost),
    '--no-dynamics',
    '--admin-port=-1',
    '--time-scale', String(size.timeScale),
    '--seed', '7',
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: child.stdout! })) {
    let msg: SimulatorReadyInfo;
    try {
      msg = JSON.parse(line) as SimulatorReadyInfo;
    } catch {
      continue; // not the ready line
    }
    if (msg.event === 'ready') return { info: msg, child };
  }
  throw new Error('simulator exited before it was ready');
}

/** The OTLP/gRPC sink (bench/sink.ts) in its own process: this module forked with `--sink`. */
export async function startSink(): Promise<{ child: ChildProcess; port: number; stats: () => Promise<SinkStats> }> {
  const child = fork(fileURLToPath(import.meta.url), ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  return {
    child,
    port,
    stats: async () => {
      child.send({ stats: true });
      const [msg] = (await once(child, 'message')) as [SinkStats];
      return msg;
    },
  };
}

/**
 * The agent's side: the XAPI pool as the agent's defaults configure it (config/schema.ts: 8 concurrent host
 * requests, 10 s request timeout), logged in as the simulator's read-only user over verified TLS, and the OTLP/gRPC
 * exporter pointed at the sink.
 */
export function createBenchAgent(options: { info: SimulatorReadyInfo; sinkPort: number; originator: string; logger: Logger; compression?: string }): {
  pool: XapiPool;
  exporter: ReturnType<typeof otlpGrpcExporterFactory.create>;
} {
  const { info, logger } = options;
  const user = info.users.find((u) => u.role === 'read-only')!;
  const pool = createXapiPool({
    name: 'bench',
    endpoints: [info.master_url],
    username: user.username,
    password: { reveal: () => user.password },
    tls: { insecureSkipVerify: false, ca: readFileSync(info.ca_file!) },
    requestTimeoutMs: 10_000,
    maxConcurrentHosts: 8,
    maxResponseBytes: 64 << 20,
    originator: options.originator,
    logger,
  });
  const exporter = otlpGrpcExporterFactory.create(
    { id: 'otlp', logger },
    otlpGrpcConfigSchema.parse({ endpoint: `127.0.0.1:${options.sinkPort}`, tls: { insecure: true }, compression: options.compression ?? 'gzip' }),
  );
  return { pool, exporter };
}

/** One pipeline with no processor into the exporter, driven by a controller the bench ticks itself. */
export function createBenchController(options: { scraper: Scraper; exporter: ReturnType<typeof otlpGrpcExporterFactory.create>; logger: Logger }): ScrapeController {
  const { scraper, exporter, logger } = options;
  const pipeline = new Pipeline({ id: 'metrics', processors: [], exporters: [{ id: 'otlp', exporter, isReady: () => true }], logger, exportTimeoutMs: 30_000 });
  return new ScrapeController({
    id: 'rrd_updates',
    scope: { name: 'xen-otel-agent/rrd_updates', version: 'bench' },
    scraper,
    collectionIntervalMs: 5000,
    timeoutMs: 30_000,
    initialDelayMs: 0,
    pipelines: [pipeline],
    logger,
  });
}

if (process.argv.includes('--sink')) await runSink();
