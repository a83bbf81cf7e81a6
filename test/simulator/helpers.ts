// Wire-level helpers for simulator tests: raw HTTP(S) requests (headers kept in order) and XML-RPC calls.
import http from 'node:http';
import https from 'node:https';
import { RpcDouble, encodeValue, parseMethodResponse, type DecodedValue, type RpcValue } from '../../src/simulator/xmlrpc.ts';

export interface RawResponse {
  status: number;
  statusMessage: string;
  httpVersion: string;
  rawHeaders: string[];
  body: string;
}

export function request(url: string, opts: { method?: string; body?: string; headers?: Record<string, string>; ca?: string; timeoutMs?: number } = {}): Promise<RawResponse> {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers: opts.headers, agent: false, ...(opts.ca === undefined ? {} : { ca: opts.ca }) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', httpVersion: res.httpVersion, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.timeoutMs !== undefined) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TEST_TIMEOUT' })));
    req.end(opts.body);
  });
}

/** Numbers are sent as `<double>` (XenAPI floats, e.g. the event.from timeout). */
export type Param = RpcValue | number;

export function methodCall(method: string, params: Param[]): string {
  const enc = (p: Param): string => encodeValue(typeof p === 'number' ? new RpcDouble(p) : p);
  return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params.map((p) => `<param>${enc(p)}</param>`).join('')}</params></methodCall>`;
}

export interface CallResult {
  Status: string;
  Value?: DecodedValue;
  ErrorDescription?: string[];
}

export async function call(url: string, method: string, params: Param[], ca?: string): Promise<CallResult> {
  const res = await request(`${url}/`, { method: 'POST', body: methodCall(method, params), headers: { 'content-type': 'text/xml' }, ...(ca === undefined ? {} : { ca }) });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body}`);
  return parseMethodResponse(res.body) as unknown as CallResult;
}

export async function value(url: string, method: string, params: Param[]): Promise<DecodedValue> {
  const r = await call(url, method, params);
  if (r.Status !== 'Success') throw new Error(`${method} failed: ${JSON.stringify(r.ErrorDescription)}`);
  return r.Value as DecodedValue;
}

export async function login(url: string, user = 'root', password = 'sim-root-password'): Promise<string> {
  return String(await value(url, 'session.login_with_password', [user, password, '1.0', 'sim-test']));
}

/** Polls until `check` passes or the deadline expires (for effects without an event to wait on). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
