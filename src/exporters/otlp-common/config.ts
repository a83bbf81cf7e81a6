// Config pieces shared by the `otlp` (gRPC) and `otlphttp` exporters, shaped like the collector's
// (configtls, configretry, exporterhelper sending_queue), plus the standard OTEL_EXPORTER_OTLP_* variables.
// Precedence per setting: config > OTEL_EXPORTER_OTLP_METRICS_* > OTEL_EXPORTER_OTLP_* > default.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { MILLIS_SINGLE, parseDuration } from '../../lib/duration/index.ts';
import { AgentError } from '../../plugin-api/index.ts';

/** `500ms`, `5 s`, `1.5h` (one part) or a number of milliseconds. */
export const durationSchema = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const ms = parseDuration(v, MILLIS_SINGLE);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration '${v}' (use e.g. 500ms, 5s, 1m)` });
    return z.NEVER;
  }
  return ms;
});

export const tlsSchema = z
  .object({
    /** Plain-text connection (gRPC) / skip TLS for a scheme-less endpoint. */
    insecure: z.boolean().optional(),
    ca_file: z.string().optional(),
    cert_file: z.string().optional(),
    key_file: z.string().optional(),
    /** Name to verify the server certificate against instead of the endpoint host. */
    server_name: z.string().optional(),
  })
  .strict()
  .refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
    message: 'cert_file and key_file must be set together',
  });

export const retrySchema = z
  .object({
    enabled: z.boolean().default(true),
    initial_interval: durationSchema.default(1000),
    max_interval: durationSchema.default(10_000),
    /** Give up on a request this long after its first attempt (the RRD cursor replays what was dropped). */
    max_elapsed_time: durationSchema.default(60_000),
    multiplier: z.number().min(1).default(1.5),
    randomization_factor: z.number().min(0).max(1).default(0.5),
  })
  .strict();

export const sendingQueueSchema = z
  .object({
    /** Requests in flight at once per exporter. */
    num_consumers: z.number().int().min(1).max(64).default(4),
  })
  .strict();

export const commonExporterFields = {
  endpoint: z.string().min(1).optional(),
  tls: tlsSchema.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  timeout: durationSchema.optional(),
  compression: z.enum(['gzip', 'none']).optional(),
  /**
   * Upper bound of one request before compression; bigger batches are packed into several requests. Each request in
   * flight holds its bytes (`sending_queue.num_consumers` of them), so the bound is also the exporter's memory: at
   * 64 hosts, 1 MiB instead of 3 MiB lowered the cycle's RSS peak by ~15 MiB for +0.25 s of wall time
   * (docs/benchmarks.md).
   */
  max_request_bytes: z.number().int().min(1024).default(1024 * 1024),
  retry_on_failure: retrySchema.prefault({}),
  sending_queue: sendingQueueSchema.prefault({}),
  /** `native`: the columnar encoder; `upstream`: @opentelemetry/otlp-transformer's serializer (fallback). */
  serializer: z.enum(['native', 'upstream']).default('native'),
};

export type TlsConfig = z.infer<typeof tlsSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;

function env(name: string, source: NodeJS.ProcessEnv): string | undefined {
  const specific = source[`OTEL_EXPORTER_OTLP_METRICS_${name}`]?.trim();
  if (specific) return specific;
  const generic = source[`OTEL_EXPORTER_OTLP_${name}`]?.trim();
  return generic ? generic : undefined;
}

/** W3C-baggage-like `k=v,k2=v2` with percent-encoding, as in the OTLP exporter spec. */
export function parseHeaderList(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const entry of raw.split(',')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = decodeURIComponent(entry.slice(0, eq).trim());
    const value = decodeURIComponent(entry.slice(eq + 1).trim());
    if (key) out[key] = value;
  }
  return out;
}

export interface ResolvedTls {
  /** False: plain text. */
  readonly secure: boolean;
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly serverName?: string;
}

/** Where the endpoint came from: OTLP/HTTP appends `/v1/metrics` to all but the signal-specific variable. */
export type EndpointSource = 'config' | 'metrics_env' | 'generic_env' | 'default';

export interface ResolvedCommon {
  /** For gRPC `host:port`, for HTTP a full URL. */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly compression: 'gzip' | 'none';
  readonly tls: ResolvedTls;
}

interface CommonConfigInput {
  endpoint?: string | undefined;
  tls?: TlsConfig | undefined;
  headers?: Record<string, string> | undefined;
  timeout?: number | undefined;
  compression?: 'gzip' | 'none' | undefined;
}

function readPem(path: string | undefined, what: string): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new AgentError('EXPORT_ERR_TLS_FILE', `cannot read ${what} '${path}'`, { cause, details: { path } });
  }
}

function envTimeout(source: NodeJS.ProcessEnv): number | undefined {
  const raw = env('TIMEOUT', source);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function envCompression(source: NodeJS.ProcessEnv): 'gzip' | 'none' | undefined {
  const raw = env('COMPRESSION', source)?.toLowerCase();
  return raw === 'gzip' || raw === 'none' ? raw : undefined;
}

/**
 * Applies env fallbacks and defaults and reads TLS files (so a bad path fails at create time, not per request).
 * `secureByDefault` decides for an endpoint without scheme when neither config nor env says (collector: TLS on).
 */
export function resolveCommon(
  config: CommonConfigInput,
  defaults: { endpoint: string; secureByDefault: boolean },
  source: NodeJS.ProcessEnv = process.env,
): ResolvedCommon & { endpointSource: EndpointSource } {
  const metricsEnvEndpoint = source['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']?.trim() || undefined;
  const genericEnvEndpoint = source['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || undefined;
  const endpointSource: EndpointSource =
    config.endpoint !== undefined ? 'config' : metricsEnvEndpoint ? 'metrics_env' : genericEnvEndpoint ? 'generic_env' : 'default';
  const endpoint = config.endpoint ?? metricsEnvEndpoint ?? genericEnvEndpoint ?? defaults.endpoint;
  const headers = { ...parseHeaderList(source['OTEL_EXPORTER_OTLP_HEADERS']), ...parseHeaderList(source['OTEL_EXPORTER_OTLP_METRICS_HEADERS']), ...config.headers };
  const tls = config.tls ?? {};
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(endpoint)?.[1]?.toLowerCase();
  let secure: boolean;
  if (tls.insecure !== undefined) secure = !tls.insecure;
  else if (scheme === 'http') secure = false;
  else if (scheme === 'https') secure = true;
  else {
    const envInsecure = env('INSECURE', source)?.toLowerCase();
    secure = envInsecure === undefined ? defaults.secureByDefault : envInsecure !== 'true';
  }
  const caPath = tls.ca_file ?? env('CERTIFICATE', source);
  const certPath = tls.cert_file ?? env('CLIENT_CERTIFICATE', source);
  const keyPath = tls.key_file ?? env('CLIENT_KEY', source);
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new AgentError('EXPORT_ERR_TLS_CONFIG', 'client certificate and key must be set together');
  }
  const resolvedTls: ResolvedTls = secure
    ? {
        secure,
        ca: readPem(caPath, 'CA file'),
        cert: readPem(certPath, 'client certificate'),
        key: readPem(keyPath, 'client key'),
        serverName: tls.server_name,
      }
    : { secure };
  return {
    endpoint,
    endpointSource,
    headers,
    timeoutMs: config.timeout ?? envTimeout(source) ?? 10_000,
    compression: config.compression ?? envCompression(source) ?? 'gzip',
    tls: resolvedTls,
  };
}
