// One HTTP(S) listener per simulated host: XML-RPC on POST / and /RPC2, the RRD handlers, and the faults that a
// host can be told to show. Error pages and their headers are xapi's (notes/xapi.md §1.3, §1.4, §4.1); those that
// close the connection are written raw so no Node-added header changes the bytes.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { SimFault } from './api.ts';
import { dispatch, type RpcContext } from './rpc.ts';
import type { RrdEngine, RrdHttpResult } from './rrd/contract.ts';
import type { Pem } from './tls.ts';
import { parseMethodCall, XmlRpcParseError } from './xmlrpc.ts';

export interface HostFaultState {
  down: boolean;
  slowMs: number;
  hang: boolean;
  http500: number;
  truncate: number;
  malformed: number;
  xoLite: boolean;
  skewSeconds: number;
}

export function emptyFaults(): HostFaultState {
  return { down: false, slowMs: 0, hang: false, http500: 0, truncate: 0, malformed: 0, xoLite: false, skewSeconds: 0 };
}

export function applyFault(state: HostFaultState, fault: SimFault): void {
  switch (fault.kind) {
    case 'down': state.down = true; break;
    case 'slow': state.slowMs = Math.max(0, fault.delayMs); break;
    case 'hang': state.hang = true; break;
    case 'http500': state.http500 = Math.max(0, fault.count); break;
    case 'truncate': state.truncate = Math.max(0, fault.count); break;
    case 'malformed': state.malformed = Math.max(0, fault.count); break;
    case 'xo_lite': state.xoLite = true; break;
    case 'clock_skew': state.skewSeconds = fault.seconds; break;
  }
}

export interface HostHttpContext extends RpcContext {
  faults(hostRef: string): HostFaultState;
  hostUuid(hostRef: string): string;
  /** Base URL of a host, e.g. `https://127.0.0.3:4443`. */
  hostUrl(hostRef: string): string;
  /** The host a running VM is resident on, or undefined. */
  vmResidentHost(vmUuid: string): string | undefined;
  /** Brings the engine to now and returns it (undefined when no engine is loaded). */
  rrdEngine(): RrdEngine | undefined;
  /** Basic-auth check (a login + logout on the master; failed attempts take xapi's delay). */
  checkPassword(user: string, password: string): Promise<boolean>;
}

const UNAUTHORISED_BODY = '<html><body><h1>HTTP 401 unauthorised</h1>Please check your credentials and retry.</body></html>';
const NOT_FOUND_BODY = '<html><body><h1>HTTP 404 not found</h1>The requested resource could not be found.</body></html>';
const INTERNAL_ERROR_PREFIX =
  '<html><body><h1>HTTP 500 internal server error</h1>An unexpected error occurred; please wait a while and try again. If the problem persists, please contact your support representative.<h1> Additional information </h1>';

export const XO_LITE_PAGE =
  '<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8" />\n    <link rel="icon" href="/favicon.ico" />\n    <meta name="viewport" content="width=device-width, initial-scale=1.0" />\n    <title>XO Lite</title>\n  </head>\n  <body>\n    <div id="app"></div>\n  </body>\n</html>\n';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** `start` must be a decimal int64, as `Int64.of_string` requires. */
function rrdQuery(rawQuery: string): Array<[string, string]> {
  if (rawQuery === '') return [];
  const sep = rawQuery.includes(';') ? ';' : '&';
  return rawQuery.split(sep).filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    const dec = (s: string): string => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    return eq < 0 ? [dec(p), ''] : [dec(p.slice(0, eq)), dec(p.slice(eq + 1))];
  });
}

function cookie(req: http.IncomingMessage, name: string): string | undefined {
  const h = req.headers.cookie;
  if (h === undefined) return undefined;
  for (const part of h.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class HostEndpoint {
  readonly hostRef: string;
  readonly address: string;
  private readonly _ctx: HostHttpContext;
  private readonly _server: http.Server;
  private readonly _sockets = new Set<Socket>();
  private readonly _hung = new Set<Socket>();
  private _port = 0;
  private _listening = false;

  constructor(ctx: HostHttpContext, hostRef: string, address: string, tls: Pem | undefined) {
    this._ctx = ctx;
    this.hostRef = hostRef;
    this.address = address;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this._handle(req, res).catch((err: unknown) => {
        this._internalError(req, err instanceof Error ? err.message : String(err));
      });
    };
    this._server = tls === undefined ? http.createServer(handler) : https.createServer({ key: tls.key, cert: tls.cert }, handler);
    this._server.keepAliveTimeout = 30_000;
    this._server.on(tls === undefined ? 'connection' : 'secureConnection', (s: Socket) => {
      this._sockets.add(s);
      s.on('close', () => {
        this._sockets.delete(s);
        this._hung.delete(s);
      });
    });
    // Plain TCP sockets too, so that a TLS handshake in progress is also cut by `down`.
    if (tls !== undefined) {
      this._server.on('connection', (s: Socket) => {
        this._sockets.add(s);
        s.on('close', () => this._sockets.delete(s));
      });
    }
  }

  get port(): number {
    return this._port;
  }
  get listening(): boolean {
    return this._listening;
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this._server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this._server.off('error', onError);
        const a = this._server.address();
        this._port = typeof a === 'object' && a !== null ? a.port : port;
        this._listening = true;
        resolve(this._port);
      };
      this._server.once('error', onError);
      this._server.once('listening', onListening);
      this._server.listen({ port, host: this.address, exclusive: true });
    });
  }

  /** Stops listening and cuts every connection (a host that is down refuses connections). */
  close(): Promise<void> {
    for (const s of this._sockets) s.destroy();
    this._hung.clear();
    if (!this._listening) return Promise.resolve();
    this._listening = false;
    return new Promise((resolve) => this._server.close(() => resolve()));
  }

  /** Drops requests held by the `hang` fault. */
  releaseHung(): void {
    for (const s of this._hung) s.destroy();
    this._hung.clear();
  }

  private async _handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.sendDate = false;
    const faults = this._ctx.faults(this.hostRef);
    if (faults.hang) {
      this._hung.add(req.socket);
      req.resume();
      return;
    }
    if (faults.slowMs > 0) await new Promise((r) => setTimeout(r, faults.slowMs));
    if (faults.http500 > 0) {
      faults.http500--;
      req.resume();
      this._internalError(req, 'Simulated fault: HTTP 500 burst');
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    if (req.method === 'POST' && (path === '/' || path === '/RPC2')) return this._xmlrpc(req, res);
    if (req.method === 'GET' && (path === '/rrd_updates' || path === '/host_rrd' || path === '/vm_rrd')) {
      req.resume();
      return this._rrd(req, res, path.slice(1) as 'rrd_updates' | 'host_rrd' | 'vm_rrd', rawQuery);
    }
    req.resume();
    if (req.method === 'GET' && path === '/' && faults.xoLite) {
      const body = Buffer.from(XO_LITE_PAGE);
      res.writeHead(200, 'OK', { 'Content-Length': String(body.length), 'content-type': 'text/html', Connection: 'keep-alive' });
      res.end(body);
      return;
    }
    this._raw(req, 404, 'Not Found', [['content-type', 'text/html']], NOT_FOUND_BODY);
  }

  private async _xmlrpc(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > 64 * 1024 * 1024) {
        this._internalError(req, 'request body too large');
        return;
      }
      chunks.push(c);
    }
    let call;
    try {
      call = parseMethodCall(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      if (err instanceof XmlRpcParseError) {
        this._internalError(req, `Xmlrpc.Parse_error: ${err.message}`);
        return;
      }
      throw err;
    }
    const xml = await dispatch(this._ctx, this.hostRef, call.method, call.params);
    if (res.destroyed) return;
    const body = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
    res.writeHead(200, 'OK', {
      'Content-Length': String(body.length),
      'content-type': 'text/xml',
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Allow-Headers': 'X-Requested-With',
      Connection: 'keep-alive',
    });
    res.end(body);
  }

  private async _authorised(req: http.IncomingMessage, query: Array<[string, string]>): Promise<boolean> {
    const fromCookie = cookie(req, 'session_id');
    const fromQuery = query.find(([k]) => k === 'session_id')?.[1];
    const ref = fromCookie ?? fromQuery;
    if (ref !== undefined) return this._ctx.session(ref) !== undefined;
    const auth = req.headers.authorization;
    if (auth !== undefined && /^basic /i.test(auth)) {
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0) return false;
      return this._ctx.checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
    }
    return false;
  }

  private async _rrd(req: http.IncomingMessage, res: http.ServerResponse, action: 'rrd_updates' | 'host_rrd' | 'vm_rrd', rawQuery: string): Promise<void> {
    const query = rrdQuery(rawQuery);
    if (!(await this._authorised(req, query))) {
      this._raw(req, 401, 'Unauthorised', [['content-type', 'text/html'], ['connection', 'close'], ['cache-control', 'no-cache, no-store'], ['WWW-Authenticate', `Basic realm="${action}"`]], UNAUTHORISED_BODY, true);
      return;
    }
    const has = (k: string): boolean => query.some(([key]) => key === k);
    const get = (k: string): string | undefined => query.find(([key]) => key === k)?.[1];
    if (action === 'rrd_updates' && !has('start')) {
      this._rawHead(req, `HTTP/${req.httpVersion} 400 Bad Request\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n\r\n`);
      return;
    }
    if (action === 'vm_rrd') {
      const owner = this._ctx.vmResidentHost(get('uuid') ?? '');
      if (owner !== undefined && owner !== this.hostRef) {
        const location = `${this._ctx.hostUrl(owner)}/vm_rrd?${rawQuery}`;
        this._rawHead(req, `HTTP/${req.httpVersion} 302 Found\r\nLocation: ${location}\r\nConnection: close\r\nCache-Control: no-cache, no-store\r\n\r\n`);
        return;
      }
    }
    const engine = this._ctx.rrdEngine();
    let result: RrdHttpResult;
    if (engine === undefined) {
      result = { ok: false, exception: 'Rrd_interface.Rrdd_error(Internal_error("RRD engine not loaded in this simulator build"))' };
    } else {
      try {
        const hostUuid = this._ctx.hostUuid(this.hostRef);
        result =
          action === 'rrd_updates' ? engine.rrdUpdates(hostUuid, query, req.headers.accept)
          : action === 'host_rrd' ? engine.hostRrd(hostUuid, has('json'))
          : engine.vmRrd(get('uuid') ?? '', has('json'));
      } catch (err) {
        result = { ok: false, exception: err instanceof Error ? err.message : String(err) };
      }
    }
    if (!result.ok) {
      this._internalError(req, result.exception);
      return;
    }
    let body = result.body;
    const faults = this._ctx.faults(this.hostRef);
    if (action === 'rrd_updates' && faults.truncate > 0) {
      faults.truncate--;
      body = body.subarray(0, Math.floor(body.length / 2));
    } else if (action === 'rrd_updates' && faults.malformed > 0) {
      faults.malformed--;
      body = Buffer.from(`${body.subarray(0, 40).toString('latin1')}\u0000<<garbage ${'#'.repeat(32)} </meta>{"t":]]`, 'latin1');
    }
    const headers: Array<[string, string]> = [['Connection', 'keep-alive'], ['Content-Length', String(body.length)], ['Cache-Control', 'no-cache, no-store']];
    if (result.contentType !== undefined) headers.push(['content-type', result.contentType]);
    headers.push(['Access-Control-Allow-Origin', '*'], ['Access-Control-Allow-Headers', 'X-Requested-With']);
    res.writeHead(200, 'OK', headers.flat());
    res.end(body);
  }

  private _internalError(req: http.IncomingMessage, exception: string): void {
    this._raw(req, 500, 'Internal Error', [['content-type', 'text/html'], ['connection', 'close'], ['cache-control', 'no-cache, no-store']], `${INTERNAL_ERROR_PREFIX}${escapeHtml(exception)}</body></html>`, true);
  }

  /** A complete response written straight to the socket, then the connection is closed (xapi's error paths). */
  private _raw(req: http.IncomingMessage, status: number, text: string, headers: Array<[string, string]>, body: string, lengthFirst = true): void {
    const b = Buffer.from(body, 'utf8');
    const lines = [`HTTP/${req.httpVersion} ${status} ${text}`];
    if (lengthFirst) lines.push(`content-length: ${b.length}`);
    for (const [k, v] of headers) lines.push(`${k}: ${v}`);
    this._rawHead(req, lines.join('\r\n') + '\r\n\r\n', b);
  }

  private _rawHead(req: http.IncomingMessage, head: string, body?: Buffer): void {
    const s = req.socket;
    if (s.destroyed) return;
    s.end(body === undefined ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]));
  }
}
