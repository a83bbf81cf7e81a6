// The running agent: builds components from a validated config and runs their lifecycle.
// Start order: exporters → pipelines → pools → receivers (downstream before upstream, as the collector does).
// Stop order: receivers (timers, in-flight cycles, scraper shutdown) → pools (XAPI logout, simulators) → final
// self-telemetry export → exporters. Every step has a deadline inside one overall shutdown budget.
// The health endpoint (when configured) listens first and closes last, so probes see the whole lifecycle.

import { errorCode, type Clock, type Logger, type ReceiverSettings } from '../plugin-api/index.ts';
import type { AgentConfig } from '../config/load.ts';
import type { MetricsExporter } from '../exporters/types.ts';
import { Pipeline, type ExporterHandle } from '../pipeline/pipeline.ts';
import { ScrapeController } from '../pipeline/scrape-controller.ts';
import { HealthServer, parseHostPort, type HostPort, type NotReadyItem, type Readiness } from '../telemetry/health.ts';
import { AGENT_RECEIVER_ID, SelfTelemetry } from '../telemetry/self-metrics.ts';
import { RetryingStart, withDeadline } from './lifecycle.ts';
import { PoolManager, type PoolDeps } from './pools.ts';

export interface AgentOptions {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly poolDeps: PoolDeps;
  readonly serviceVersion: string;
  readonly clock?: Clock;
  /** Per component start attempt (default 30 s). */
  readonly startTimeoutMs?: number;
  /** Whole graceful shutdown (default 4 s, so Ctrl-C exits well within 5 s). */
  readonly shutdownTimeoutMs?: number;
  /** Deadline of one export call (default 30 s). */
  readonly exportTimeoutMs?: number;
  /** Receiver first-tick phase jitter as a fraction of the interval (default 0.1; tests use 0). */
  readonly jitterFraction?: number;
}

interface RunningExporter {
  readonly id: string;
  readonly exporter: MetricsExporter;
  readonly starter: RetryingStart;
}

export class Agent {
  readonly telemetry: SelfTelemetry;
  private readonly _o: AgentOptions;
  private readonly _log: Logger;
  private readonly _clock: Clock;
  private readonly _exporters = new Map<string, RunningExporter>();
  private readonly _pipelines = new Map<string, Pipeline>();
  private readonly _controllers: ScrapeController[] = [];
  private readonly _poolStarts: RetryingStart[] = [];
  private _pools: PoolManager | undefined;
  private _telemetryController: ScrapeController | undefined;
  private _telemetryPipeline: Pipeline | undefined;
  private _state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private _shutdown: Promise<void> | undefined;
  private _health: HealthServer | undefined;
  /** Code of the last failed start attempt per component (`exporter/<id>`, `pool/<name>`), for readiness. */
  private readonly _startErrors = new Map<string, string>();

  constructor(options: AgentOptions) {
    this._o = options;
    this._log = options.logger;
    this._clock = options.clock ?? Date;
    this.telemetry = new SelfTelemetry({ serviceVersion: options.serviceVersion }, this._clock);
  }

  get state(): string {
    return this._state;
  }

  /** Where the health endpoint listens (the real port when configured with port 0); undefined when off. */
  get healthAddress(): HostPort | undefined {
    return this._health?.address;
  }

  /** Ready = running, every exporter started, every pool's first inventory loaded. */
  readiness(): Readiness {
    const notReady: NotReadyItem[] = [];
    if (this._state !== 'running') notReady.push({ component: 'agent', id: 'agent', reason: `agent is ${this._state}` });
    const withCode = (key: string) => {
      const code = this._startErrors.get(key);
      return code === undefined ? {} : { code };
    };
    for (const e of this._exporters.values()) {
      if (!e.starter.ready) notReady.push({ component: 'exporter', id: e.id, reason: 'not started', ...withCode(`exporter/${e.id}`) });
    }
    for (const name of this._pools?.names() ?? []) {
      // Generation 0 is the empty inventory; the first successful load makes it 1.
      if (this._pools!.get(name).inventory().generation === 0) {
        notReady.push({ component: 'pool', id: name, reason: 'inventory not loaded', ...withCode(`pool/${name}`) });
      }
    }
    return { agent: this._state, notReady };
  }

  /** Rejects only for errors that retrying cannot fix (config errors, a simulator that cannot start). */
  async start(): Promise<void> {
    if (this._state !== 'new') return;
    this._state = 'starting';
    const { config } = this._o;
    const startTimeoutMs = this._o.startTimeoutMs ?? 30_000;
    try {
      // 0. health endpoint: liveness answers during a slow start; readiness says 'starting'.
      const health = config.telemetry.health;
      if (health) {
        this._health = new HealthServer({
          endpoint: parseHostPort(health.endpoint)!,
          readiness: () => this.readiness(),
          logger: this._log.child({ component: 'health' }),
        });
        await this._health.start();
      }

      // 1. exporters used by some pipeline
      const usedExporters = [...new Set(config.pipelines.flatMap((p) => p.exporters))];
      for (const id of usedExporters) {
        const c = config.exporters[id]!;
        const logger = this._log.child({ component: 'exporter', id });
        const exporter = c.factory.create({ id, logger }, c.config as never);
        const starter = new RetryingStart({ name: `exporter ${id}`, start: (s) => this._trackStart(`exporter/${id}`, exporter.start(s)), logger, timeoutMs: startTimeoutMs });
        this._exporters.set(id, { id, exporter, starter });
        this.telemetry.watchExporter(id, () => exporter.stats());
      }
      await Promise.all([...this._exporters.values()].map((e) => e.starter.start()));

      // 2. pipelines
      const exportTimeoutMs = this._o.exportTimeoutMs ?? 30_000;
      for (const p of config.pipelines) {
        const logger = this._log.child({ component: 'pipeline', id: p.id });
        const processors = p.processors.map((id) => {
          const c = config.processors[id]!;
          return { id, processor: c.factory.create({ id, logger: this._log.child({ component: 'processor', id }) }, c.config as never) };
        });
        this._pipelines.set(p.id, new Pipeline({ id: p.id, processors, exporters: p.exporters.map((id) => this._handle(id)), logger, telemetry: this.telemetry, exportTimeoutMs }));
      }

      // 3. pools used by some pipeline's receiver
      this._pools = new PoolManager({
        configs: config.pools,
        used: config.usedPools,
        deps: this._o.poolDeps,
        logger: this._log.child({ component: 'pool' }),
        originator: `xen-otel-agent/${this._o.serviceVersion}`,
      });
      await this._pools.open();
      for (const name of this._pools.names()) {
        const pool = this._pools.get(name);
        const starter = new RetryingStart({ name: `pool ${name}`, start: (s) => this._trackStart(`pool/${name}`, pool.start(s)), logger: this._log.child({ component: 'pool', pool: name }), timeoutMs: startTimeoutMs });
        this._poolStarts.push(starter);
        await starter.start();
      }

      // 4. receivers used by some pipeline
      const receiverIds = [...new Set(config.pipelines.flatMap((p) => p.receivers))];
      for (const id of receiverIds) {
        const r = config.receivers[id]!;
        const logger = this._log.child({ component: 'receiver', id });
        const settings: ReceiverSettings = { id, logger, clock: this._clock, pools: this._pools };
        const scraper = r.factory.createScraper(settings, r.config as never);
        const controller = new ScrapeController({
          id,
          scope: { name: `xen-otel-agent/${r.type}`, version: this._o.serviceVersion },
          scraper,
          collectionIntervalMs: r.scrape.collectionIntervalMs,
          timeoutMs: r.scrape.timeoutMs,
          initialDelayMs: r.scrape.initialDelayMs,
          pipelines: config.pipelines.filter((p) => p.receivers.includes(id)).map((p) => this._pipelines.get(p.id)!),
          logger,
          telemetry: this.telemetry,
          clock: this._clock,
          ...(this._o.jitterFraction !== undefined ? { jitterFraction: this._o.jitterFraction } : {}),
        });
        this._controllers.push(controller);
      }

      // 5. self-telemetry: to every exporter in use, once each, without processors.
      if (config.telemetry.metrics.enabled) {
        this._telemetryPipeline = new Pipeline({
          id: 'metrics/_agent',
          processors: [],
          exporters: usedExporters.map((id) => this._handle(id)),
          logger: this._log.child({ component: 'pipeline', id: 'metrics/_agent' }),
          exportTimeoutMs,
        });
        this._telemetryController = new ScrapeController({
          id: AGENT_RECEIVER_ID,
          scope: { name: 'xen-otel-agent/self', version: this._o.serviceVersion },
          scraper: { scrape: async () => ({ batch: this.telemetry.collect(), errors: [] }) },
          collectionIntervalMs: config.telemetry.metrics.interval,
          timeoutMs: config.telemetry.metrics.interval,
          initialDelayMs: config.telemetry.metrics.interval,
          pipelines: [this._telemetryPipeline],
          logger: this._log.child({ component: 'telemetry' }),
          clock: this._clock,
          jitterFraction: 0,
        });
      }
      for (const c of this._controllers) c.start();
      this._telemetryController?.start();
      this._state = 'running';
      this._log.info(
        { pipelines: config.pipelines.map((p) => p.id), receivers: receiverIds, exporters: usedExporters, pools: this._pools.names() },
        'agent started',
      );
    } catch (err) {
      this._log.error({ err, code: errorCode(err) }, 'agent start failed');
      await this.shutdown();
      throw err;
    }
  }

  /** Graceful and idempotent; resolves within the shutdown budget and never rejects. */
  shutdown(): Promise<void> {
    this._shutdown ??= this._doShutdown();
    return this._shutdown;
  }

  private async _doShutdown(): Promise<void> {
    this._state = 'stopping';
    const budgetMs = this._o.shutdownTimeoutMs ?? 4000;
    const end = performance.now() + budgetMs;
    const remaining = (share: number) => Math.max(50, Math.min(share, end - performance.now()));
    this._log.info({}, 'agent stopping');

    const step = async (what: string, ms: number, fn: () => Promise<unknown>) => {
      try {
        await withDeadline(what, ms, fn);
      } catch (err) {
        this._log.warn({ err, step: what }, 'shutdown step did not complete');
      }
    };

    // Receivers: no new ticks; in-flight cycles (scrape + export + onDelivery) finish or are aborted.
    const grace = remaining(budgetMs * 0.5);
    await step('receivers', grace + 1000, () => Promise.all(this._controllers.map((c) => c.shutdown(grace))));
    await this._telemetryController?.shutdown(remaining(500));
    for (const s of [...this._poolStarts, ...[...this._exporters.values()].map((e) => e.starter)]) s.stop();
    if (this._pools) await step('pools', remaining(1000), () => this._pools!.close());

    // Final self-telemetry so the counters up to shutdown are exported.
    if (this._telemetryPipeline) {
      const pipeline = this._telemetryPipeline;
      await step('final telemetry export', remaining(1000), () =>
        pipeline.consume(this.telemetry.collect(), {
          receiver: AGENT_RECEIVER_ID,
          scope: { name: 'xen-otel-agent/self', version: this._o.serviceVersion },
          scrapeStartMs: this._clock.now(),
          scrapeDurationMs: 0,
          errors: [],
        }),
      );
    }
    await Promise.all(
      [...this._exporters.values()].map((e) => step(`shutdown of exporter ${e.id}`, remaining(budgetMs), () => e.exporter.shutdown())),
    );
    this._state = 'stopped';
    await this._health?.close();
    this._log.info({}, 'agent stopped');
  }

  private async _trackStart(key: string, started: Promise<void>): Promise<void> {
    try {
      await started;
      this._startErrors.delete(key);
    } catch (err) {
      this._startErrors.set(key, startErrorCode(err));
      throw err;
    }
  }

  private _handle(id: string): ExporterHandle {
    const e = this._exporters.get(id)!;
    return { id, exporter: e.exporter, isReady: () => e.starter.ready };
  }
}

/** The stable code of a start failure (AgentError, XapiError, Node's `ECONNREFUSED`…); never the message. */
function startErrorCode(err: unknown): string {
  const code = err !== null && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : errorCode(err);
}
