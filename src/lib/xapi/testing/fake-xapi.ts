// A scriptable fake XAPI host for the client's socket tests: answers XML-RPC with xapi's exact byte format
// (compact, bare strings, int64 as strings, unescaped map keys; notes/xapi.md §4.1) and serves host HTTP.
// Not a simulator: tests set the records, push events and inject faults by hand.
import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { RpcRaw, encodeValue, failureResponse, successResponse, type RpcValue } from '../../../simulator/xmlrpc.ts';

const require = createRequire(import.meta.url);
type DeserializerCtor = new () => {
  deserializeMethodCall(stream: NodeJS.ReadableStream, cb: (err: unknown, method: string, params: unknown[]) => void): void;
};
const Deserializer = require('xmlrpc/lib/deserializer.js') as DeserializerCtor;

// ---- xapi's byte format ----------------------------------------------------------------------------------------
// Written by the simulator's encoder, which reproduces xapi's bytes (src/simulator/xmlrpc.ts). Test code only: the
// library's production code never imports the simulator.

/** `<dateTime.iso8601>` with the text as given (`20250101T00:00:00Z`). */
export class DateTimeValue extends RpcRaw {
  constructor(text: string) {
    super(`<value><dateTime.iso8601>${text}</dateTime.iso8601></value>`);
  }
}
/** Pre-encoded `<value>…</value>` XML (e.g. `<i4>`). */
export { RpcRaw as RawXml };
/** A value in xapi's wire model: strings (int64 included), booleans, dateTimes, raw XML, sets, maps/records. */
export type XapiWire = string | boolean | RpcRaw | XapiWire[] | { [key: string]: XapiWire };

function toRpcValue(v: XapiWire): RpcValue {
  if (typeof v === 'string' || typeof v === 'boolean' || v instanceof RpcRaw) return v;
  if (Array.isArray(v)) return v.map(toRpcValue);
  return new Map(Object.entries(v).map(([k, x]) => [k, toRpcValue(x)]));
}

export function xapiValue(v: XapiWire): string {
  return encodeValue(toRpcValue(v));
}

export function xapiSuccess(valueXml: string): string {
  return successResponse(new RpcRaw(valueXml));
}

export function xapiFailure([code, ...params]: readonly [string, ...string[]]): string {
  return failureResponse(code, params);
}

// ---- server --------------------------------------------------------------------------------------------------

export interface RpcCall {
  method: string;
  params: unknown[];
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpGet {
  path: string;
  headers: http.IncomingHttpHeaders;
}

/** A handler's answer: a full XML body, `{ status, … }` for raw HTTP, or 'hang' to never answer. */
export type Reply = string | { status: number; headers?: Record<string, string>; body?: string | Buffer } | 'hang';

export interface FakeHostOptions {
  /** 127.0.0.x address to bind; default 127.0.0.1. */
  address?: string;
  port?: number;
  tls?: { key: string; cert: string };
  rpc?: (call: RpcCall, host: FakeHost) => Reply | Promise<Reply>;
  get?: (get: HttpGet, host: FakeHost) => Reply | Promise<Reply>;
}

export interface FakeHost {
  readonly url: string;
  readonly port: number;
  readonly address: string;
  readonly calls: RpcCall[];
  readonly gets: HttpGet[];
  /** Open requests (e.g. held event.from). */
  readonly open: number;
  close(): Promise<void>;
}

export async function startFakeHost(options: FakeHostOptions): Promise<FakeHost> {
  const address = options.address ?? '127.0.0.1';
  const calls: RpcCall[] = [];
  const gets: HttpGet[] = [];
  let open = 0;
  const sockets = new Set<import('node:net').Socket>();
  const listener: http.RequestListener = (req, res) => {
    open++;
    res.on('close', () => open--);
    void handle(req, res);
  };
  const server = options.tls === undefined ? http.createServer(listener) : https.createServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let reply: Reply;
    try {
      if (req.method === 'POST') {
        const { method, params } = await parseMethodCall(body);
        const call = { method, params, headers: req.headers, body };
        calls.push(call);
        reply = options.rpc === undefined ? xapiFailure(['MESSAGE_METHOD_UNKNOWN', method]) : await options.rpc(call, host);
      } else {
        const get = { path: req.url ?? '/', headers: req.headers };
        gets.push(get);
        reply = options.get === undefined ? { status: 404 } : await options.get(get, host);
      }
    } catch (err) {
      reply = { status: 500, body: String(err) };
    }
    if (reply === 'hang') return;
    if (typeof reply === 'string') {
      res.writeHead(200, { 'content-type': 'text/xml', 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'X-Requested-With' });
      res.end(reply);
      return;
    }
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body);
  }

  server.listen(options.port ?? 0, address);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const host: FakeHost = {
    url: `${options.tls === undefined ? 'http' : 'https'}://${address}:${port}`,
    port,
    address,
    calls,
    gets,
    get open() {
      return open;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
  return host;
}

/**
 * Starts hosts on several 127.0.0.x addresses sharing one OS-chosen port (a HOST_IS_SLAVE redirect keeps the
 * seed's port). Retries on EADDRINUSE.
 */
export async function startFakeHostsOnOnePort(list: FakeHostOptions[]): Promise<FakeHost[]> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const started: FakeHost[] = [];
    try {
      for (const opts of list) {
        started.push(await startFakeHost({ ...opts, port: started[0]?.port ?? 0 }));
      }
      return started;
    } catch (err) {
      await Promise.all(started.map((h) => h.close()));
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error('could not find a port free on every address');
}

/** A URL on which nothing listens (a port that was just released). */
export async function deadUrl(address = '127.0.0.1'): Promise<string> {
  const h = await startFakeHost({ address });
  await h.close();
  return h.url;
}

function parseMethodCall(body: string): Promise<{ method: string; params: unknown[] }> {
  return new Promise((resolve, reject) => {
    const input = new PassThrough();
    new Deserializer().deserializeMethodCall(input, (err, method, params) => (err ? reject(err as Error) : resolve({ method, params })));
    input.end(body);
  });
}
