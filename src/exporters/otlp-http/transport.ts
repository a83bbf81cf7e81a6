// OTLP/HTTP protobuf transport (node:http/https, keep-alive). Retry decisions follow the OTLP spec: 429, 502, 503,
// 504 and network errors are retryable and honour Retry-After; 413 means "split the request".

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { ResolvedTls } from '../otlp-common/config.ts';
import type { SendResult, Transport } from '../otlp-common/engine.ts';

const gzip = promisify(gzipCallback);
const RETRYABLE_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
const RETRYABLE_NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED']);
const MAX_RESPONSE_BYTES = 64 * 1024;
const USER_AGENT = 'xen-otel-agent';

/** Retry-After: delay-seconds or an HTTP-date. */
export function parseRetryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function classifyHttpStatus(statusCode: number, retryAfter: string | undefined, body: string): SendResult {
  const code = `EXPORT_ERR_HTTP_${statusCode}`;
  const error = new Error(`HTTP ${statusCode}: ${body.slice(0, 200)}`);
  if (RETRYABLE_STATUS.has(statusCode)) {
    const retryAfterMs = parseRetryAfterMs(retryAfter);
    return retryAfterMs === undefined ? { status: 'retryable', code, error } : { status: 'retryable', code, error, retryAfterMs };
  }
  if (statusCode === 413) return { status: 'too_large', code, error };
  return { status: 'failed', code, error };
}

export interface HttpTransportOptions {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly compression: 'gzip' | 'none';
  readonly tls: ResolvedTls;
  readonly concurrency: number;
}

export function createHttpTransport(options: HttpTransportOptions): Transport {
  const url = new URL(options.url);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({
        keepAlive: true,
        maxSockets: options.concurrency,
        ...(options.tls.ca ? { ca: options.tls.ca } : {}),
        ...(options.tls.cert ? { cert: options.tls.cert, key: options.tls.key } : {}),
        ...(options.tls.serverName ? { servername: options.tls.serverName } : {}),
      })
    : new HttpAgent({ keepAlive: true, maxSockets: options.concurrency });
  const send = secure ? httpsRequest : httpRequest;

  return {
    async send(body, _points, timeoutMs) {
      let payload: Buffer = body;
      const headers: Record<string, string> = {
        ...options.headers,
        'content-type': 'application/x-protobuf',
        'user-agent': USER_AGENT,
      };
      if (options.compression === 'gzip') {
        payload = await gzip(body);
        headers['content-encoding'] = 'gzip';
      }
      headers['content-length'] = String(payload.length);
      return new Promise<SendResult>((resolve) => {
        const req = send(url, { method: 'POST', headers, agent, ...(options.tls.serverName ? { servername: options.tls.serverName } : {}) }, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_RESPONSE_BYTES) chunks.push(chunk);
          });
          res.on('error', (error) => resolve({ status: 'retryable', code: 'EXPORT_ERR_HTTP_RESPONSE', error }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve({ status: 'ok' });
            else resolve(classifyHttpStatus(status, res.headers['retry-after'], Buffer.concat(chunks).toString('utf8')));
          });
        });
        req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
        req.on('error', (error: NodeJS.ErrnoException) => {
          const code = error.code ?? 'EXPORT_ERR_HTTP_CLIENT';
          resolve(
            RETRYABLE_NETWORK.has(code)
              ? { status: 'retryable', code: `EXPORT_ERR_HTTP_${code}`, error }
              : { status: 'failed', code: `EXPORT_ERR_HTTP_${code}`, error },
          );
        });
        req.end(payload);
      });
    },
    async shutdown() {
      agent.destroy();
    },
  };
}
