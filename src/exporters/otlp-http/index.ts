// The `otlphttp` exporter factory (OTLP/HTTP protobuf), for backends that only take HTTP.
import type { ExporterFactory } from '../types.ts';
import { resolveCommon, type EndpointSource } from '../otlp-common/config.ts';
import { engineOptions, OtlpMetricsExporter } from '../otlp-common/exporter.ts';
import { otlpHttpConfigSchema, type OtlpHttpConfig } from './config.ts';
import { createHttpTransport } from './transport.ts';

export { otlpHttpConfigSchema, type OtlpHttpConfig } from './config.ts';

/** Per the OTLP exporter spec: the signal-specific URL is used as-is, a base URL gets `/v1/metrics`. */
export function metricsUrl(endpoint: string, source: EndpointSource | 'metrics_endpoint'): string {
  if (source === 'metrics_endpoint' || source === 'metrics_env') return endpoint;
  return `${endpoint.replace(/\/+$/, '')}/v1/metrics`;
}

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  type: 'otlphttp',
  configSchema: otlpHttpConfigSchema,
  create(settings, config) {
    const resolved = resolveCommon(
      { ...config, endpoint: config.metrics_endpoint ?? config.endpoint },
      { endpoint: 'http://localhost:4318', secureByDefault: false },
    );
    const url = metricsUrl(resolved.endpoint, config.metrics_endpoint !== undefined ? 'metrics_endpoint' : resolved.endpointSource);
    const concurrency = config.sending_queue.num_consumers;
    return new OtlpMetricsExporter(
      () => createHttpTransport({ url, headers: resolved.headers, compression: resolved.compression, tls: resolved.tls, concurrency }),
      engineOptions(config, resolved.timeoutMs),
      settings.logger,
      { endpoint: url, compression: resolved.compression, id: settings.id },
    );
  },
};
