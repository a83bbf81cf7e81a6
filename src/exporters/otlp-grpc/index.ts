// The `otlp` exporter factory (OTLP/gRPC).
import type { ExporterFactory } from '../types.ts';
import { resolveCommon } from '../otlp-common/config.ts';
import { engineOptions, OtlpMetricsExporter } from '../otlp-common/exporter.ts';
import { otlpGrpcConfigSchema, type OtlpGrpcConfig } from './config.ts';
import { createGrpcTransport, grpcTarget } from './transport.ts';

export { otlpGrpcConfigSchema, type OtlpGrpcConfig } from './config.ts';
export { OtlpMetricsExporter } from '../otlp-common/exporter.ts';

export const otlpGrpcExporterFactory: ExporterFactory<OtlpGrpcConfig> = {
  type: 'otlp',
  configSchema: otlpGrpcConfigSchema,
  create(settings, config) {
    // Env and TLS files are resolved here, so a bad certificate path fails at startup (AgentError EXPORT_ERR_TLS_*).
    const resolved = resolveCommon(config, { endpoint: 'localhost:4317', secureByDefault: true });
    const concurrency = config.sending_queue.num_consumers;
    return new OtlpMetricsExporter(
      () => createGrpcTransport(resolved, concurrency),
      engineOptions(config, resolved.timeoutMs),
      settings.logger,
      { endpoint: grpcTarget(resolved.endpoint), tls: resolved.tls.secure, compression: resolved.compression, id: settings.id },
    );
  },
};
