// The HTTP exchange: keep-alive reuse, and the retry when a reused socket turns out closed (xcp-rrdd closes its
// fd after one answer even though it says `Connection: keep-alive`).
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEndpoint } from './endpoint.ts';
import { XapiErrorCode } from './errors.ts';
import { createAgents, destroyAgents, exchange, type Agents } from './transport.ts';

let server: http.Server | undefined;
let agents: Agents | undefined;

afterEach(async () => {
  if (agents !== undefined) destroyAgents(agents);
  server?.closeAllConnections();
  if (server !== undefined) await new Promise<void>((resolve) => server!.close(() => resolve()));
  server = undefined;
  agents = undefined;
});

async function listen(handler: (req: http.IncomingMessage, res: http.ServerResponse, socketRequestIndex: number) => void): Promise<string> {
  const perSocket = new WeakMap<Socket, number>();
  server = http.createServer((req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    handler(req, res, n);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const get = (url: string, path = '/rrd_updates') => ({
  agents: agents!,
  endpoint: parseEndpoint(url),
  method: 'GET' as const,
  path,
  headers: { Accept: 'text/xml' },
  timeoutMs: 2000,
  signal: undefined,
  maxBytes: 1_000_000,
});

describe('exchange', () => {
  it('reuses one keep-alive connection for sequential requests', async () => {
    const ports = new Set<number>();
    const url = await listen((req, res) => {
      ports.add(req.socket.remotePort!);
      res.end('ok');
    });
    agents = createAgents({ insecureSkipVerify: false });
    for (let i = 0; i < 3; i++) expect((await exchange(get(url))).body.toString()).toBe('ok');
    expect(ports.size).toBe(1);
  });

  it('retries once on a fresh socket when the reused one was closed by the server', async () => {
    let served = 0;
    const url = await listen((req, res, nth) => {
      if (nth > 1) {
        req.socket.destroy(); // like xcp-rrdd: the fd is gone although the answer said keep-alive
        return;
      }
      served++;
      res.writeHead(200, { Connection: 'keep-alive' });
      res.end('ok');
    });
    agents = createAgents({ insecureSkipVerify: false });
    expect((await exchange(get(url))).body.toString()).toBe('ok');
    expect((await exchange(get(url))).body.toString()).toBe('ok');
    expect(served).toBe(2);
  });

  it('classifies a refused connection as UNREACHABLE', async () => {
    const url = await listen((_req, res) => res.end());
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    agents = createAgents({ insecureSkipVerify: false });
    await expect(exchange(get(url))).rejects.toMatchObject({ code: XapiErrorCode.UNREACHABLE, details: { socketCode: 'ECONNREFUSED' } });
  });
});
