// `exporters.otlphttp`: OTLP/HTTP with protobuf bodies. Keys follow the collector's otlphttp exporter.
import { z } from 'zod';
import { commonExporterFields } from '../otlp-common/config.ts';

export const otlpHttpConfigSchema = z
  .object({
    ...commonExporterFields,
    /** Base URL; `/v1/metrics` is appended (default OTEL_EXPORTER_OTLP_ENDPOINT, then http://localhost:4318). */
    endpoint: z.url({ protocol: /^https?$/ }).optional(),
    /** Full URL used as-is (wins over `endpoint`), like OTEL_EXPORTER_OTLP_METRICS_ENDPOINT. */
    metrics_endpoint: z.url({ protocol: /^https?$/ }).optional(),
  })
  .strict();

export type OtlpHttpConfig = z.infer<typeof otlpHttpConfigSchema>;
