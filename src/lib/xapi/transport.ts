// One HTTP exchange with a pool member: deadline, caller abort, streamed size cap, error classification.
// Shared by XML-RPC (POST /) and host HTTP (GET /rrd_updates…); both go through the pool's keep-alive agent.
import * as http from 'node:http';
import * as https from 'node:https';
import { checkServerIdentity } from 'node:tls';
import type { Endpoint } from './endpoint.ts';
import { XapiError, XapiErrorCode } from './errors.ts';
import type { XapiTlsOptions } from './types.ts';

export interface Agents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

export function createAgents(tls: XapiTlsOptions): Agents {
  const serverName = tls.serverName;
  const httpsOptions: https.AgentOptions = {
    keepAlive: true,
    maxFreeSockets: 16,
    rejectUnauthorized: !tls.insecureSkipVerify,
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(serverName === undefined || serverName === ''
      ? {}
      : { servername: serverName, checkServerIdentity: (_host: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(serverName, cert) }),
  };
  return { http: new http.Agent({ keepAlive: true, maxFreeSockets: 16 }), https: new https.Agent(httpsOptions) };
}

export function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
}

export interface HttpExchange {
  agents: Agents;
  endpoint: Endpoint;
  method: 'GET' | 'POST';
  /** Path with query string. */
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  maxBytes: number;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Runs one request; a stale keep-alive socket closed by the server (xcp-rrdd closes after one answer) is retried once. */
export async function exchange(request: HttpExchange): Promise<HttpResult> {
  try {
    return await exchangeOnce(request);
  } catch (err) {
    if (err instanceof StaleSocketError) return exchangeOnce(request);
    throw err;
  }
}

class StaleSocketError extends Error {}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|SIGNATURE|ISSUER|SELF_SIGNED/;

function exchangeOnce(request: HttpExchange): Promise<HttpResult> {
  const { endpoint, signal } = request;
  if (signal?.aborted === true) return Promise.reject(abortedError(signal));
  const deadline = AbortSignal.timeout(request.timeoutMs);
  const combined = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
  const transport = endpoint.protocol === 'https:' ? https : http;
  const headers: Record<string, string | number> = { ...request.headers };
  if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body, 'utf8');

  // Node's keep-alive agent leaves listeners on a pooled socket that still reach this request's closures; settling
  // through a variable we clear (and emptying `chunks`) keeps a finished response body from living on with the socket.
  let settle: ((err: unknown, result?: HttpResult) => void) | undefined;
  const promise = new Promise<HttpResult>((resolve, reject) => {
    settle = (err, result) => (err === undefined && result !== undefined ? resolve(result) : reject(err));
  });
  {
    let done = false;
    let responded = false;
    const finish = (err: unknown, result?: HttpResult) => {
      if (done) return;
      done = true;
      combined.removeEventListener('abort', onAbort);
      const s = settle!;
      settle = undefined;
      s(err, result);
    };
    const req = transport.request({
      agent: endpoint.protocol === 'https:' ? request.agents.https : request.agents.http,
      host: endpoint.host,
      ...(endpoint.port === undefined ? {} : { port: endpoint.port }),
      method: request.method,
      path: request.path,
      headers,
    });
    const onAbort = () => {
      const err = deadline.aborted
        ? new XapiError(XapiErrorCode.TIMEOUT, 'XAPI request timed out', { details: { endpoint: endpoint.origin, timeoutMs: request.timeoutMs } })
        : abortedError(signal);
      finish(err);
      req.destroy();
    };
    combined.addEventListener('abort', onAbort, { once: true });

    req.on('error', (err: NodeJS.ErrnoException) => {
      if (done) return;
      if (!responded && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        finish(new StaleSocketError());
        return;
      }
      finish(classifySocketError(err, endpoint));
    });

    req.on('response', (res) => {
      responded = true;
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > request.maxBytes) {
        finish(tooLarge(endpoint, request.maxBytes));
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > request.maxBytes) {
          // Cut the transfer: the socket is destroyed, so a huge body is never read to the end.
          finish(tooLarge(endpoint, request.maxBytes));
          res.removeAllListeners('data');
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks, size);
        chunks.length = 0;
        finish(undefined, { status, headers: flattenHeaders(res.headers), body });
      });
      res.on('error', (err) => finish(classifySocketError(err, endpoint)));
      res.on('aborted', () => finish(new XapiError(XapiErrorCode.UNREACHABLE, 'connection closed mid-response', { details: { endpoint: endpoint.origin } })));
    });

    req.end(request.body);
  }
  return promise;
}

function tooLarge(endpoint: Endpoint, maxBytes: number): XapiError {
  return new XapiError(XapiErrorCode.RESPONSE_TOO_LARGE, 'response body exceeds the size cap', { details: { endpoint: endpoint.origin, maxBytes } });
}

export function abortedError(signal: AbortSignal | undefined): XapiError {
  const reason: unknown = signal?.reason;
  if (reason instanceof XapiError) return reason;
  // A caller deadline (AbortSignal.timeout) is still a timeout for whoever classifies the error.
  const isTimeout = reason instanceof Error && reason.name === 'TimeoutError';
  return new XapiError(isTimeout ? XapiErrorCode.TIMEOUT : XapiErrorCode.ABORTED, isTimeout ? 'caller deadline expired' : 'request aborted', { cause: reason });
}

function classifySocketError(err: NodeJS.ErrnoException, endpoint: Endpoint): XapiError {
  if (err instanceof XapiError) return err;
  const code = err.code ?? '';
  if (TLS_ERROR.test(code)) {
    return new XapiError(XapiErrorCode.TLS, 'TLS handshake with the XAPI host failed', { cause: err, details: { endpoint: endpoint.origin, tlsCode: code } });
  }
  return new XapiError(XapiErrorCode.UNREACHABLE, 'XAPI host unreachable', { cause: err, details: { endpoint: endpoint.origin, socketCode: code } });
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
