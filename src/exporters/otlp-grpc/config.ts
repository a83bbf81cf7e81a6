// `exporters.otlp`: OTLP over gRPC. Keys follow the collector's otlp exporter.
import { z } from 'zod';
import { commonExporterFields } from '../otlp-common/config.ts';

export const otlpGrpcConfigSchema = z
  .object({
    /** `host:port`, `http://host:port` (plain text) or `https://host:port`; default OTEL_EXPORTER_OTLP_*_ENDPOINT, then localhost:4317. */
    ...commonExporterFields,
  })
  .strict();

export type OtlpGrpcConfig = z.infer<typeof otlpGrpcConfigSchema>;
