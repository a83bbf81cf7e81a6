// One HTTP exchange with a pool member: deadline, caller abort, streamed size cap, error classification.
// Shared by XML-RPC (POST /) and host HTTP (GET /rrd_updates…); both go through the pool's keep-alive agent.
// The body is either buffered (`exchange`) or handed chunk by chunk to a consumer chosen once the status and headers
// are known (`exchangeStreamed`; the XML-RPC decoder), so a large answer is never held whole.
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

/** Takes a response body chunk by chunk instead of buffering it. */
export interface BodyConsumer<T> {
  /** The next chunk. Throwing aborts the request with that error (a PROTOCOL XapiError unless it is an XapiError). */
  write(chunk: Buffer): void;
  /** The body is complete; the result (or the thrown error) settles the exchange. */
  end(): T;
}

/** Called once the status and headers are in; `undefined` buffers the body as `exchange` does. */
export type BodyConsumerFactory<T> = (status: number, headers: Readonly<Record<string, string>>) => BodyConsumer<T> | undefined;

/** An exchange whose body went to a consumer: its result instead of the bytes. */
export interface ConsumedResult<T> {
  status: number;
  headers: Record<string, string>;
  consumed: T;
}

export function isConsumed<T>(result: HttpResult | ConsumedResult<T>): result is ConsumedResult<T> {
  return 'consumed' in result;
}

/** Runs one request; a stale keep-alive socket closed by the server (xcp-rrdd closes after one answer) is retried once. */
export async function exchange(request: HttpExchange): Promise<HttpResult> {
  return (await exchangeWithRetry<never>(request, undefined)) as HttpResult;
}

/** Like `exchange`, but the body goes to the consumer `consume` returns for this status and these headers. */
export function exchangeStreamed<T>(request: HttpExchange, consume: BodyConsumerFactory<T>): Promise<HttpResult | ConsumedResult<T>> {
  return exchangeWithRetry(request, consume);
}

async function exchangeWithRetry<T>(request: HttpExchange, consume: BodyConsumerFactory<T> | undefined): Promise<HttpResult | ConsumedResult<T>> {
  try {
    return await exchangeOnce(request, consume);
  } catch (err) {
    // Only raised before any response arrived, so no consumer has seen a byte yet.
    if (err instanceof StaleSocketError) return exchangeOnce(request, consume);
    throw err;
  }
}

class StaleSocketError extends Error {}

const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|SIGNATURE|ISSUER|SELF_SIGNED/;

type Outcome<T> = HttpResult | ConsumedResult<T>;

function exchangeOnce<T>(request: HttpExchange, consume: BodyConsumerFactory<T> | undefined): Promise<Outcome<T>> {
  const { endpoint, signal, maxBytes, timeoutMs } = request;
  if (signal?.aborted === true) return Promise.reject(abortedError(signal));
  const deadline = AbortSignal.timeout(timeoutMs);
  const combined = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
  const transport = endpoint.protocol === 'https:' ? https : http;
  const headers: Record<string, string | number> = { ...request.headers };
  if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body, 'utf8');

  // Node's keep-alive agent leaves listeners on a pooled socket that still reach this request's closures. Everything
  // those closures share that could hold a body (the settle functions, the chunk list, the consumer and its factory)
  // sits in a variable that `finish` clears, so a finished response body or decoder does not live on with the socket.
  // No closure below refers to `request` or `consume` directly for the same reason.
  let settle: ((err: unknown, result?: Outcome<T>) => void) | undefined;
  const promise = new Promise<Outcome<T>>((resolve, reject) => {
    settle = (err, result) => (err === undefined && result !== undefined ? resolve(result) : reject(err));
  });
  {
    let done = false;
    let responded = false;
    let consumerFactory = consume;
    let consumer: BodyConsumer<T> | undefined;
    let chunks: Buffer[] = [];
    const finish = (err: unknown, result?: Outcome<T>) => {
      if (done) return;
      done = true;
      combined.removeEventListener('abort', onAbort);
      consumerFactory = undefined;
      consumer = undefined;
      chunks = [];
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
        ? new XapiError(XapiErrorCode.TIMEOUT, 'XAPI request timed out', { details: { endpoint: endpoint.origin, timeoutMs } })
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
      if (done) return;
      const status = res.statusCode ?? 0;
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        finish(tooLarge(endpoint, maxBytes));
        req.destroy();
        return;
      }
      const responseHeaders = flattenHeaders(res.headers);
      const factory = consumerFactory;
      consumerFactory = undefined;
      try {
        consumer = factory?.(status, responseHeaders);
      } catch (err) {
        finish(consumerError(err, endpoint));
        req.destroy();
        return;
      }
      // A consumer that throws and the size cap cut the transfer (as the deadline does): the socket is destroyed, so
      // the rest of the body is never read.
      const cut = (err: unknown) => {
        finish(err);
        res.removeAllListeners('data');
        req.destroy();
      };
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        if (size > maxBytes) {
          cut(tooLarge(endpoint, maxBytes));
          return;
        }
        if (consumer === undefined) {
          chunks.push(chunk);
          return;
        }
        try {
          consumer.write(chunk);
        } catch (err) {
          cut(consumerError(err, endpoint));
        }
      });
      res.on('end', () => {
        if (done) return;
        if (consumer === undefined) {
          finish(undefined, { status, headers: responseHeaders, body: Buffer.concat(chunks, size) });
          return;
        }
        let consumed: T;
        try {
          consumed = consumer.end();
        } catch (err) {
          finish(consumerError(err, endpoint));
          return;
        }
        finish(undefined, { status, headers: responseHeaders, consumed });
      });
      res.on('error', (err) => finish(classifySocketError(err, endpoint)));
      res.on('aborted', () => finish(new XapiError(XapiErrorCode.UNREACHABLE, 'connection closed mid-response', { details: { endpoint: endpoint.origin } })));
    });

    req.end(request.body);
  }
  return promise;
}

function consumerError(err: unknown, endpoint: Endpoint): XapiError {
  if (err instanceof XapiError) return err;
  return new XapiError(XapiErrorCode.PROTOCOL, 'response body rejected by its decoder', { cause: err, details: { endpoint: endpoint.origin } });
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
