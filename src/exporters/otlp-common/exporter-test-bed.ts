// Setup shared by the OTLP exporter tests (vitest): every exporter and test receiver a test makes is shut down
// after it, and OTEL_EXPORTER_OTLP_* variables a test sets are put back.
import { afterEach } from 'vitest';
import type { ExporterFactory } from '../types.ts';
import type { OtlpMetricsExporter } from './exporter.ts';
import { recordingLogger } from './test-support.ts';

/** Short backoff so retry tests finish quickly; a long retry budget so a loaded machine never runs out of it. */
export const FAST_RETRY = { initial_interval: '10ms', max_interval: '50ms', max_elapsed_time: '15s' };

interface TestReceiver<R> {
  start(): Promise<R>;
  stop(): Promise<void>;
}

export function exporterTestBed<C>(factory: ExporterFactory<C>, id: string) {
  const receivers: { stop(): Promise<void> }[] = [];
  const exporters: OtlpMetricsExporter[] = [];
  const savedEnv = { ...process.env };

  afterEach(async () => {
    for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_EXPORTER_OTLP_')) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await Promise.all(exporters.splice(0).map((e) => e.shutdown()));
    await Promise.all(receivers.splice(0).map((r) => r.stop()));
  });

  return {
    /** Starts a test receiver, stopped after the test. */
    async receiver<R extends TestReceiver<R>>(receiver: R): Promise<R> {
      const started = await receiver.start();
      receivers.push(started);
      return started;
    },
    /** Parses `config` with the factory's schema and creates the exporter, shut down after the test. */
    exporter(config: Record<string, unknown>, log = recordingLogger()): OtlpMetricsExporter {
      const e = factory.create({ id, logger: log }, factory.configSchema.parse(config)) as OtlpMetricsExporter;
      exporters.push(e);
      return e;
    },
  };
}
