// OTLP/gRPC transport over the upstream export delegate (otel-js.md Q1 option B): our pre-packed request bytes go
// through `createOtlpGrpcExportDelegate` with a pass-through serializer, so channel setup, TLS credentials,
// metadata, gzip and per-call deadlines are upstream code. The delegate never retries; the engine does, using the
// classification below (OTLP spec "Failures": retryable codes, RESOURCE_EXHAUSTED only with RetryInfo).

import { credentials as grpcCredentials, Metadata, status as grpcStatus, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import type { IExporterMetricsHelper, IExportMetricsServiceResponse, ISerializer } from '@opentelemetry/otlp-transformer';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import type { ResolvedCommon } from '../otlp-common/config.ts';
import { ownedCopy, type SendResult, type Transport } from '../otlp-common/engine.ts';
import { retryDelayFromStatusDetails } from './retry-info.ts';

const RETRYABLE_CODES: ReadonlySet<number> = new Set([
  grpcStatus.CANCELLED,
  grpcStatus.DEADLINE_EXCEEDED,
  grpcStatus.ABORTED,
  grpcStatus.OUT_OF_RANGE,
  grpcStatus.UNAVAILABLE,
  grpcStatus.DATA_LOSS,
]);

interface Packed {
  /** The request's bytes, in an ArrayBuffer of exactly their length (see the engine's `ownedCopy`). */
  readonly body: ArrayBuffer;
  readonly points: number;
}

const passThroughSerializer: ISerializer<Packed, IExportMetricsServiceResponse> = {
  // The upstream transport wraps what this returns with `Buffer.from(data)`: a copy for a Uint8Array, a view for an
  // ArrayBuffer. The declared type says Uint8Array; the ArrayBuffer is deliberate (test: "hands the request to
  // grpc-js without a copy").
  serializeRequest: (packed) => packed.body as unknown as Uint8Array,
  deserializeResponse: (data) => ProtobufMetricsSerializer.deserializeResponse(data),
};

const pointsHelper: IExporterMetricsHelper<Packed> = { name: 'metric_data_point', countItems: (p) => p.points };

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number';
}

export function classifyGrpcError(error: unknown): SendResult {
  if (!isServiceError(error)) return { status: 'failed', code: 'EXPORT_ERR_GRPC_CLIENT', error };
  const code = `EXPORT_ERR_GRPC_${grpcStatus[error.code] ?? error.code}`;
  if (RETRYABLE_CODES.has(error.code)) return { status: 'retryable', code, error };
  if (error.code === grpcStatus.RESOURCE_EXHAUSTED) {
    const details = error.metadata?.get('grpc-status-details-bin')[0];
    const retryAfterMs = retryDelayFromStatusDetails(typeof details === 'string' ? Buffer.from(details) : details);
    // Throttling with RetryInfo: retry after the server's delay. Without it the usual cause is a message over the
    // server's receive limit (4 MiB by default), so halve the request instead.
    return retryAfterMs === undefined ? { status: 'too_large', code, error } : { status: 'retryable', code, error, retryAfterMs };
  }
  return { status: 'failed', code, error };
}

function channelCredentials(resolved: ResolvedCommon): ChannelCredentials {
  const tls = resolved.tls;
  if (!tls.secure) return grpcCredentials.createInsecure();
  const serverName = tls.serverName;
  // The delegate offers no channel options, so `grpc.ssl_target_name_override` is not available: verify the
  // certificate against `server_name` ourselves (SNI still carries the endpoint host).
  const verify =
    serverName === undefined
      ? undefined
      : { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert) };
  return grpcCredentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null, verify);
}

/** `host:port` for the delegate; the scheme only chose TLS (already resolved). */
export function grpcTarget(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  const url = new URL(withScheme);
  if (url.protocol === 'unix:') return endpoint;
  return `http://${url.host}`;
}

export function createGrpcTransport(resolved: ResolvedCommon, concurrency: number): Transport {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(resolved.headers)) metadata.set(key, value);
  const delegate = createOtlpGrpcExportDelegate(
    convertLegacyOtlpGrpcOptions(
      {
        url: grpcTarget(resolved.endpoint),
        credentials: channelCredentials(resolved),
        metadata,
        compression: resolved.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
        timeoutMillis: resolved.timeoutMs,
        // Our engine bounds concurrency; leave the delegate headroom so it never fails fast locally.
        concurrencyLimit: concurrency * 2 + 2,
      },
      'METRICS',
    ),
    passThroughSerializer,
    'xen_otel_agent_otlp_grpc_metric_exporter',
    pointsHelper,
    undefined,
    'MetricsExportService',
    '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  );
  return {
    send(body, points) {
      // The engine's requests are whole ArrayBuffers: handed over as they are. A slice of one (a split request) is
      // copied into one of ours: upstream's own copy (`Buffer.from(uint8array)`) could only be freed by a full GC.
      const whole = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer;
      const handed = (whole ? body.buffer : ownedCopy(body).buffer) as ArrayBuffer;
      return new Promise<SendResult>((resolve) => {
        delegate.export({ body: handed, points }, (result: ExportResult) => {
          if (result.code === ExportResultCode.SUCCESS) {
            // Answered: grpc-js has compressed, framed and written the message, so nothing reads our copy any more;
            // free it now rather than at the next full GC. After a failure (a deadline can fire while zlib still
            // reads the message on the thread pool) it is left to the GC. The engine frees its own bodies.
            if (!whole) handed.transfer(0);
            resolve({ status: 'ok' });
          } else resolve(classifyGrpcError(result.error));
        });
      });
    },
    shutdown: () => delegate.shutdown(),
  };
}
