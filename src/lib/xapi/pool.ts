// One configured pool: master discovery (HOST_IS_SLAVE, seed failover), one long-lived session, an inventory kept
// current by an `event.from` loop, and keep-alive host HTTP with a per-pool concurrency limit.
import pLimit from 'p-limit';
import { XapiDouble, XmlRpcResponseDecoder, encodeMethodCall, parseXapiDateTime, unwrapXapiResult, type XmlRpcDecodeOptions, type XmlRpcValue } from './codec.ts';
import { endpointForAddress, parseEndpoint, sameEndpoint, type Endpoint } from './endpoint.ts';
import { XapiError, XapiErrorCode, isXapiError, xapiFailureCode } from './errors.ts';
import { EVENT_CLASSES, applyEvents, decodeEvents, emptyInventory, inventoryFromRecords, type RawRecordsByKey } from './inventory.ts';
import { INVENTORY_CLASSES } from './records.ts';
import type { ResponseBuffer } from './response-buffer.ts';
import { abortedError, createAgents, destroyAgents, exchange, exchangeStreamed, isConsumed, type Agents, type BodyConsumer, type HttpResult } from './transport.ts';
import type {
  HostHttpRequest,
  HostHttpResponse,
  Inventory,
  Ref,
  XapiLogger,
  XapiPool,
  XapiPoolOptions,
  XapiPoolStats,
} from './types.ts';

/** Knobs that are not configuration (tests shorten them). */
export interface XapiPoolTuning {
  /** First retry delay of the event loop after a failure; doubles up to `retryMaxMs`. Default 1000. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

const DEFAULT_EVENT_TIMEOUT_SECONDS = 60.1;
/** How many HOST_IS_SLAVE redirects one login attempt follows (a master that moves while we chase it). */
const MAX_REDIRECTS = 3;

interface Session {
  readonly id: string;
  readonly master: Endpoint;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      d.settled = true;
      resolve(value);
    },
    reject: (err) => {
      d.settled = true;
      reject(err);
    },
  };
  return d;
}

export function createXapiPool(options: XapiPoolOptions, tuning: XapiPoolTuning = {}): XapiPool {
  return new Pool(options, tuning);
}

class Pool implements XapiPool {
  readonly name: string;
  private readonly _options: XapiPoolOptions;
  private readonly _seeds: readonly Endpoint[];
  private readonly _log: XapiLogger;
  private readonly _agents: Agents;
  private readonly _hostLimit: ReturnType<typeof pLimit>;
  private readonly _closeController = new AbortController();
  private readonly _ready = deferred<void>();
  private readonly _firstAttempt = deferred<void>();
  private readonly _retryBaseMs: number;
  private readonly _retryMaxMs: number;
  private readonly _eventTimeoutSeconds: number;

  /** The master we last logged in to; tried first on the next discovery. */
  private _master: Endpoint | undefined;
  private _session: Session | undefined;
  private _loginInFlight: Promise<Session> | undefined;
  private _inventory: Inventory = emptyInventory();
  private _loop: Promise<void> | undefined;
  private _closing: Promise<void> | undefined;
  private readonly _pendingLogouts = new Set<Promise<void>>();

  private _xmlRpcCalls = 0;
  private _logins = 0;
  private _httpRequests = 0;
  private _httpBytes = 0;
  private _eventBatches = 0;
  private _pendingEventCalls = 0;

  constructor(options: XapiPoolOptions, tuning: XapiPoolTuning) {
    if (options.endpoints.length === 0) throw new TypeError('an XAPI pool needs at least one endpoint');
    this.name = options.name;
    this._options = options;
    this._seeds = options.endpoints.map(parseEndpoint);
    this._log = options.logger.child({ pool: options.name });
    this._agents = createAgents(options.tls);
    this._hostLimit = pLimit(Math.max(1, options.maxConcurrentHosts));
    this._retryBaseMs = tuning.retryBaseMs ?? 1000;
    this._retryMaxMs = tuning.retryMaxMs ?? 30_000;
    this._eventTimeoutSeconds = options.eventTimeoutSeconds ?? DEFAULT_EVENT_TIMEOUT_SECONDS;
  }

  // ---- lifecycle -------------------------------------------------------------------------------------------

  async start(signal: AbortSignal): Promise<void> {
    this._assertOpen();
    this._loop ??= this._runEventLoop();
    // The first login + inventory load decides; after a failure the loop keeps retrying in the background.
    await withSignal(Promise.race([this._ready.promise, this._firstAttempt.promise]), signal);
  }

  ready(signal: AbortSignal): Promise<void> {
    return withSignal(this._ready.promise, signal);
  }

  inventory(): Inventory {
    return this._inventory;
  }

  close(): Promise<void> {
    this._closing ??= this._close();
    return this._closing;
  }

  private async _close(): Promise<void> {
    const closed = new XapiError(XapiErrorCode.ABORTED, 'pool closed', { details: { pool: this.name } });
    this._closeController.abort(closed);
    if (!this._ready.settled) this._ready.reject(closed);
    if (!this._firstAttempt.settled) this._firstAttempt.reject(closed);
    await this._loop?.catch(() => undefined);
    await this._loginInFlight?.catch(() => undefined);
    await Promise.allSettled([...this._pendingLogouts]);
    const session = this._session;
    this._session = undefined;
    if (session !== undefined) await this._logout(session);
    this._hostLimit.clearQueue();
    destroyAgents(this._agents);
    this._log.info({ master: this._master?.origin }, 'xapi pool closed');
  }

  stats(): XapiPoolStats {
    return {
      xmlRpcCalls: this._xmlRpcCalls,
      logins: this._logins,
      httpRequests: this._httpRequests,
      httpBytes: this._httpBytes,
      eventBatches: this._eventBatches,
      pendingEventCalls: this._pendingEventCalls,
      masterAddress: this._master?.origin,
    };
  }

  private get _closed(): boolean {
    return this._closeController.signal.aborted;
  }

  private _assertOpen(): void {
    if (this._closed) throw abortedError(this._closeController.signal);
  }

  // ---- XML-RPC -----------------------------------------------------------------------------------------------

  async call<T = unknown>(method: string, params: unknown[], signal: AbortSignal): Promise<T> {
    this._assertOpen();
    let session = await this._currentSession(signal);
    try {
      return (await this._sessionCall(session, method, params, signal)) as T;
    } catch (err) {
      if (!needsNewSession(err)) throw err;
      session = await this._replaceSession(session, err, signal);
      return (await this._sessionCall(session, method, params, signal)) as T;
    }
  }

  async hostServerTime(hostRef: Ref, signal: AbortSignal): Promise<number> {
    const value = await this.call<XmlRpcValue>('host.get_servertime', [hostRef], signal);
    if (value instanceof Date) return value.getTime();
    try {
      if (typeof value === 'string') return parseXapiDateTime(value);
    } catch (err) {
      throw new XapiError(XapiErrorCode.PROTOCOL, 'host.get_servertime did not return a dateTime', { cause: err });
    }
    throw new XapiError(XapiErrorCode.PROTOCOL, 'host.get_servertime did not return a dateTime');
  }

  private _sessionCall(
    session: Session,
    method: string,
    params: readonly unknown[],
    signal: AbortSignal | undefined,
    timeoutMs?: number,
    decodeOptions?: XmlRpcDecodeOptions,
  ): Promise<XmlRpcValue> {
    return this._rpc(session.master, method, [session.id, ...params], [session.id, this._options.password.reveal()], signal, timeoutMs, true, decodeOptions);
  }

  /**
   * One XML-RPC exchange; `secrets` are redacted from any XAPI error description. A 200 XML answer is decoded as it
   * streams in (never buffered whole); `decodeOptions.recordFields` projects a get_all_records answer.
   */
  private async _rpc(
    endpoint: Endpoint,
    method: string,
    params: readonly unknown[],
    secrets: readonly string[],
    signal: AbortSignal | undefined,
    timeoutMs = this._options.requestTimeoutMs,
    closeAware = true,
    decodeOptions: XmlRpcDecodeOptions = {},
  ): Promise<XmlRpcValue> {
    const signals = [signal, closeAware ? this._closeController.signal : undefined].filter((s): s is AbortSignal => s !== undefined);
    this._xmlRpcCalls++;
    const origin = endpoint.origin;
    const res = await exchangeStreamed(
      {
        agents: this._agents,
        endpoint,
        method: 'POST',
        path: '/',
        headers: { 'Content-Type': 'text/xml', Accept: 'text/xml', 'User-Agent': this._options.originator },
        body: encodeMethodCall(method, params),
        timeoutMs,
        signal: signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals),
        maxBytes: this._options.maxResponseBytes,
      },
      (status, headers) => {
        const contentType = headers['content-type'] ?? '';
        if (status !== 200 || /html/i.test(contentType)) return undefined; // rejected below from the (capped) body
        return xmlRpcConsumer(decodeOptions, { endpoint: origin, contentType, method });
      },
    );
    if (isConsumed(res)) return unwrapXapiResult(res.consumed, secrets);
    if (res.status !== 200) {
      throw new XapiError(XapiErrorCode.HTTP_STATUS, `XAPI answered HTTP ${res.status}`, { details: { status: res.status, endpoint: origin, method } });
    }
    const contentType = res.headers['content-type'] ?? '';
    throw new XapiError(XapiErrorCode.PROTOCOL, 'XAPI endpoint answered HTML, not XML-RPC', { details: { endpoint: origin, contentType, method } });
  }

  // ---- sessions and master discovery -------------------------------------------------------------------------

  private _currentSession(signal: AbortSignal | undefined): Promise<Session> {
    if (this._session !== undefined) return Promise.resolve(this._session);
    this._loginInFlight ??= this._discoverAndLogin().finally(() => {
      this._loginInFlight = undefined;
    });
    return withSignal(this._loginInFlight, signal);
  }

  /**
   * Drops `stale` (unless another caller already replaced it) and logs in again. A session that may still be
   * valid (the master moved or stopped answering) is logged out on a best-effort basis so it does not count
   * against xapi's per-originator cap.
   */
  private _replaceSession(stale: Session, reason: unknown, signal: AbortSignal | undefined): Promise<Session> {
    if (this._session === stale) {
      this._session = undefined;
      const code = isXapiError(reason) ? reason.code : undefined;
      this._log.warn({ code, master: stale.master.origin }, 'xapi session lost; logging in again');
      if (code !== XapiErrorCode.SESSION_INVALID && !(code === XapiErrorCode.HTTP_STATUS)) this._logoutInBackground(stale);
    }
    return this._currentSession(signal);
  }

  private async _discoverAndLogin(): Promise<Session> {
    const candidates: Endpoint[] = [];
    for (const endpoint of [this._master, ...this._seeds]) {
      if (endpoint !== undefined && !candidates.some((c) => sameEndpoint(c, endpoint))) candidates.push(endpoint);
    }
    const attempts: { endpoint: string; code: string }[] = [];
    let lastMeaningful: XapiError | undefined;
    let lastError: unknown;
    for (const candidate of candidates) {
      let target = candidate;
      for (let redirects = 0; ; redirects++) {
        this._assertOpen();
        try {
          return await this._loginAt(target);
        } catch (err) {
          if (this._closed) throw abortedError(this._closeController.signal);
          if (isXapiError(err, XapiErrorCode.AUTH_FAILED)) throw err; // same credentials everywhere; each failure costs xapi 5 s
          if (isXapiError(err, XapiErrorCode.HOST_IS_SLAVE) && redirects < MAX_REDIRECTS) {
            const next = endpointForAddress(candidate, String(err.details['masterAddress'] ?? ''));
            if (next.host !== '' && !sameEndpoint(next, target)) {
              this._log.info({ from: target.origin, to: next.origin }, 'host is a pool member; following HOST_IS_SLAVE to the master');
              target = next;
              continue;
            }
          }
          lastError = err;
          const code = isXapiError(err) ? err.code : 'UNKNOWN';
          attempts.push({ endpoint: target.origin, code });
          if (code !== XapiErrorCode.UNREACHABLE && code !== XapiErrorCode.TIMEOUT && isXapiError(err)) lastMeaningful = err;
          this._log.debug({ endpoint: target.origin, code }, 'xapi login attempt failed');
          break;
        }
      }
    }
    if (lastMeaningful !== undefined) throw lastMeaningful;
    throw new XapiError(XapiErrorCode.UNREACHABLE, 'no pool master reachable', { cause: lastError, details: { pool: this.name, attempts } });
  }

  private async _loginAt(endpoint: Endpoint): Promise<Session> {
    const password = this._options.password.reveal();
    const id = await this._rpc(
      endpoint,
      'session.login_with_password',
      [this._options.username, password, '1.0', this._options.originator],
      [password],
      undefined,
    );
    if (typeof id !== 'string' || id === '') throw new XapiError(XapiErrorCode.PROTOCOL, 'login did not return a session reference');
    this._logins++;
    const session: Session = { id, master: endpoint };
    if (this._closed) {
      // Closed while logging in: do not leave the session behind.
      await this._logout(session);
      throw abortedError(this._closeController.signal);
    }
    if (!sameEndpoint(this._master, endpoint)) this._log.info({ master: endpoint.origin }, 'logged in to pool master');
    this._master = endpoint;
    this._session = session;
    return session;
  }

  private async _logout(session: Session): Promise<void> {
    try {
      await this._rpc(session.master, 'session.logout', [session.id], [session.id], undefined, this._options.requestTimeoutMs, false);
    } catch (err) {
      this._log.debug({ code: isXapiError(err) ? err.code : undefined, master: session.master.origin }, 'xapi logout failed');
    }
  }

  private _logoutInBackground(session: Session): void {
    const pending = this._logout(session).finally(() => this._pendingLogouts.delete(pending));
    this._pendingLogouts.add(pending);
  }

  // ---- inventory and event loop --------------------------------------------------------------------------------

  private async _runEventLoop(): Promise<void> {
    const signal = this._closeController.signal;
    let consecutiveFailures = 0;
    let failingCode: string | undefined;
    while (!this._closed) {
      let session: Session | undefined;
      try {
        session = await this._currentSession(signal);
        let token = await this._loadInventory(session, signal);
        if (!this._ready.settled) {
          this._ready.resolve();
          this._firstAttempt.resolve();
        }
        consecutiveFailures = 0;
        if (failingCode !== undefined) {
          this._log.info({ previousCode: failingCode }, 'xapi inventory recovered');
          failingCode = undefined;
        }
        const eventDeadlineMs = Math.ceil(this._eventTimeoutSeconds * 1000) + this._options.requestTimeoutMs;
        while (!this._closed) {
          this._pendingEventCalls = 1;
          let batch: XmlRpcValue;
          try {
            batch = await this._sessionCall(session, 'event.from', [EVENT_CLASSES, token, new XapiDouble(this._eventTimeoutSeconds)], signal, eventDeadlineMs);
          } finally {
            this._pendingEventCalls = 0;
          }
          this._eventBatches++;
          token = this._applyBatch(batch, token);
        }
      } catch (err) {
        if (this._closed) break;
        if (!this._firstAttempt.settled) this._firstAttempt.reject(err);
        consecutiveFailures++;
        const code = isXapiError(err) ? err.code : 'UNKNOWN';
        const xapiCode = xapiFailureCode(err);
        if (failingCode !== code) {
          this._log.warn({ err, code, xapiCode }, 'xapi inventory or event loop failed; retrying');
          failingCode = code;
        }
        if (session !== undefined && (needsNewSession(err) || code === XapiErrorCode.TIMEOUT)) {
          if (this._session === session) {
            this._session = undefined;
            if (code !== XapiErrorCode.SESSION_INVALID && code !== XapiErrorCode.HTTP_STATUS) this._logoutInBackground(session);
          }
        }
        // EVENTS_LOST / SESSION_INVALID / HOST_IS_SLAVE (the master moved): restart from scratch at once (xapi's
        // documented recovery); repeated or other failures back off.
        const immediate =
          consecutiveFailures === 1 && (xapiCode === 'EVENTS_LOST' || code === XapiErrorCode.SESSION_INVALID || code === XapiErrorCode.HOST_IS_SLAVE);
        if (!immediate) await this._sleep(this._backoffMs(consecutiveFailures));
      }
    }
  }

  /** `pool.get_all` → `event.inject` (the token, taken *before* reading so nothing is missed) → `get_all_records`. */
  private async _loadInventory(session: Session, signal: AbortSignal): Promise<string> {
    const poolRefs = await this._sessionCall(session, 'pool.get_all', [], signal);
    const poolRef = Array.isArray(poolRefs) && typeof poolRefs[0] === 'string' ? poolRefs[0] : undefined;
    let token: string | undefined;
    if (poolRef !== undefined) {
      try {
        const injected = await this._sessionCall(session, 'event.inject', ['pool', poolRef], signal);
        if (typeof injected === 'string') token = injected;
      } catch (err) {
        if (xapiFailureCode(err) !== 'MESSAGE_METHOD_UNKNOWN') throw err;
      }
    }
    if (token === undefined) {
      // No event.inject: the empty token makes event.from return every current object plus a fresh token.
      const batch = await this._sessionCall(session, 'event.from', [EVENT_CLASSES, '', new XapiDouble(0.1)], signal);
      this._eventBatches++;
      const struct = asStruct(batch);
      const events = decodeEvents(struct['events']);
      const base = inventoryFromRecords(this._inventory.generation + (events.length === 0 ? 1 : 0), {});
      this._inventory = events.length === 0 ? base : applyEvents(base, events);
      return typeof struct['token'] === 'string' ? struct['token'] : '';
    }
    // Only the fields records.ts reads are decoded: the other ~80 % of each record are skipped in the stream.
    const results = await Promise.all(
      INVENTORY_CLASSES.map((cls) => this._sessionCall(session, `${cls.wire}.get_all_records`, [], signal, undefined, { recordFields: cls.fields })),
    );
    const raw: RawRecordsByKey = {};
    INVENTORY_CLASSES.forEach((cls, i) => {
      raw[cls.key] = results[i];
    });
    this._inventory = inventoryFromRecords(this._inventory.generation + 1, raw);
    this._log.debug({ generation: this._inventory.generation, hosts: this._inventory.hosts.size, vms: this._inventory.vms.size }, 'xapi inventory loaded');
    return token;
  }

  private _applyBatch(batch: XmlRpcValue, token: string): string {
    const struct = asStruct(batch);
    const events = decodeEvents(struct['events']);
    if (events.length > 0) this._inventory = applyEvents(this._inventory, events);
    const next = struct['token'];
    return typeof next === 'string' && next !== '' ? next : token;
  }

  private _backoffMs(failures: number): number {
    const base = Math.min(this._retryMaxMs, this._retryBaseMs * 2 ** Math.min(failures - 1, 20));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private _sleep(ms: number): Promise<void> {
    const signal = this._closeController.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  // ---- host HTTP -----------------------------------------------------------------------------------------------

  getFromHost(hostRef: Ref, request: HostHttpRequest): Promise<HostHttpResponse> {
    this._assertOpen();
    return withSignal(
      this._hostLimit(() => this._getFromHost(hostRef, request)),
      request.signal,
    );
  }

  private async _getFromHost(hostRef: Ref, request: HostHttpRequest): Promise<HostHttpResponse> {
    if (request.signal.aborted) throw abortedError(request.signal);
    let session = await this._currentSession(request.signal);
    let res = await this._hostGet(hostRef, session, request);
    if (res.status === 401) {
      session = await this._replaceSession(session, new XapiError(XapiErrorCode.HTTP_STATUS, 'HTTP 401', { details: { status: 401 } }), request.signal);
      res = await this._hostGet(hostRef, session, request);
    }
    if (res.status < 200 || res.status > 299) {
      throw new XapiError(XapiErrorCode.HTTP_STATUS, `host answered HTTP ${res.status}`, { details: { status: res.status, host: hostRef, path: request.path } });
    }
    return res;
  }

  private async _hostGet(hostRef: Ref, session: Session, request: HostHttpRequest): Promise<HttpResult> {
    const inventory = this._inventory;
    const host = inventory.hosts.get(hostRef);
    if (host === undefined || host.address === '') {
      throw new XapiError(XapiErrorCode.HOST_UNKNOWN, 'host is not in the pool inventory', { details: { host: hostRef } });
    }
    // The master is reached through the URL we logged in with (it may differ from host.address behind NAT).
    const endpoint = inventory.pool?.master === hostRef ? session.master : endpointForAddress(session.master, host.address);
    this._httpRequests++;
    const exchangeRequest = {
      agents: this._agents,
      endpoint,
      method: 'GET' as const,
      path: request.path + encodeQuery(request.query),
      headers: { Accept: request.accept, Cookie: `session_id=${session.id}`, 'User-Agent': this._options.originator },
      timeoutMs: this._options.requestTimeoutMs,
      signal: AbortSignal.any([request.signal, this._closeController.signal]),
      maxBytes: request.maxBytes ?? this._options.maxResponseBytes,
    };
    const into = request.into;
    let res: HttpResult;
    if (into === undefined) {
      res = await exchange(exchangeRequest);
    } else {
      const received = await exchangeStreamed(exchangeRequest, (_status, headers) => intoBuffer(into, Number(headers['content-length'])));
      res = isConsumed(received) ? { status: received.status, headers: received.headers, body: received.consumed } : received;
    }
    this._httpBytes += res.body.length;
    return res;
  }
}

/** Copies each chunk into `buffer` as it arrives, so the socket's chunks die young (see response-buffer.ts). */
function intoBuffer(buffer: ResponseBuffer, declaredLength: number): BodyConsumer<Buffer> {
  buffer.begin(Number.isFinite(declaredLength) ? declaredLength : undefined);
  return {
    write: (chunk) => buffer.append(chunk),
    end: () => buffer.view(),
  };
}

/** xapi decodes queries with `Uri.pct_decode` (no `+` → space), so encode with %20, never URLSearchParams. */
export function encodeQuery(query: Record<string, string | string[]>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(item)}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

/** Streams an XML-RPC answer into the decoder; a decoding failure becomes the PROTOCOL error `_rpc` always raised. */
function xmlRpcConsumer(options: XmlRpcDecodeOptions, details: { endpoint: string; contentType: string; method: string }): BodyConsumer<XmlRpcValue> {
  const decoder = new XmlRpcResponseDecoder(options);
  const notXmlRpc = (err: unknown) => new XapiError(XapiErrorCode.PROTOCOL, 'XAPI answer is not XML-RPC', { cause: err, details });
  return {
    write(chunk) {
      try {
        decoder.write(chunk);
      } catch (err) {
        throw notXmlRpc(err);
      }
    },
    end() {
      try {
        return decoder.end();
      } catch (err) {
        throw notXmlRpc(err);
      }
    },
  };
}

/** Errors after which the call is retried once with a fresh session (and master discovery). */
function needsNewSession(err: unknown): boolean {
  if (!isXapiError(err)) return false;
  switch (err.code) {
    case XapiErrorCode.SESSION_INVALID:
    case XapiErrorCode.HOST_IS_SLAVE:
    case XapiErrorCode.UNREACHABLE:
      return true;
    case XapiErrorCode.HTTP_STATUS:
      return err.details['status'] === 401;
    default:
      return false;
  }
}

function asStruct(value: XmlRpcValue): Record<string, XmlRpcValue> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && !Buffer.isBuffer(value)) return value;
  throw new XapiError(XapiErrorCode.PROTOCOL, 'expected an XML-RPC struct');
}

function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(abortedError(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
