// The HTTP exchange: keep-alive reuse, and the retry when a reused socket turns out closed (xcp-rrdd closes its
// fd after one answer even though it says `Connection: keep-alive`).
import { once } from 'node:events';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEndpoint } from './endpoint.ts';
import { XapiError, XapiErrorCode } from './errors.ts';
import { closeServerAndAgents } from './testing/harness.ts';
import { createAgents, exchange, exchangeStreamed, isConsumed, type Agents, type BodyConsumer } from './transport.ts';

let server: http.Server | undefined;
let agents: Agents | undefined;

afterEach(async () => {
  await closeServerAndAgents(server, agents);
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

/** Collects the chunks it is given; `failOn` makes write() throw at that chunk index. */
function collector(failOn?: number): BodyConsumer<string> & { chunks: number } {
  const parts: Buffer[] = [];
  return {
    chunks: 0,
    write(chunk) {
      if (this.chunks++ === failOn) throw new Error('not the expected format');
      parts.push(chunk);
    },
    end: () => Buffer.concat(parts).toString(),
  };
}

describe('exchangeStreamed', () => {
  it('hands every chunk to the consumer chosen from status and headers, and buffers when none is chosen', async () => {
    const url = await listen((req, res) => {
      if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not here');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write('<a>');
      setTimeout(() => res.end('</a>'), 5);
    });
    agents = createAgents({ insecureSkipVerify: false });
    const seen: [number, string | undefined][] = [];
    const consumer = collector();
    const pick = (status: number, headers: Readonly<Record<string, string>>) => {
      seen.push([status, headers['content-type']]);
      return status === 200 ? consumer : undefined;
    };
    const streamed = await exchangeStreamed(get(url, '/'), pick);
    expect(isConsumed(streamed) && streamed.consumed).toBe('<a></a>');
    expect(consumer.chunks).toBe(2);
    const buffered = await exchangeStreamed(get(url, '/missing'), pick);
    expect(isConsumed(buffered)).toBe(false);
    expect(buffered).toMatchObject({ status: 404, body: Buffer.from('not here') });
    expect(seen).toEqual([[200, 'text/xml'], [404, 'text/plain']]);
  });

  it('aborts the transfer with a PROTOCOL error when the consumer rejects a chunk', async () => {
    let closed = false;
    const url = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.write('<html>');
      req.socket.on('close', () => (closed = true)); // the rest is never sent: the client must hang up
    });
    agents = createAgents({ insecureSkipVerify: false });
    const err = await exchangeStreamed(get(url, '/'), () => collector(0)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: XapiErrorCode.PROTOCOL, cause: expect.objectContaining({ message: 'not the expected format' }) });
    await until(() => closed);
  });

  it('passes an XapiError thrown by the consumer through unchanged', async () => {
    const url = await listen((_req, res) => res.end('x'));
    agents = createAgents({ insecureSkipVerify: false });
    const own = new XapiError(XapiErrorCode.PROTOCOL, 'XAPI answer is not XML-RPC');
    const consumer: BodyConsumer<never> = {
      write: () => {
        throw own;
      },
      end: () => {
        throw new Error('unreachable');
      },
    };
    await expect(exchangeStreamed(get(url, '/'), () => consumer)).rejects.toBe(own);
  });

  it('cuts a streamed body past maxBytes, and times out one that stalls', async () => {
    const url = await listen((req, res) => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      if (req.url === '/big') {
        res.write('x'.repeat(600_000));
        res.end('x'.repeat(600_000));
      } else {
        res.write('<methodResponse>'); // and never more
      }
    });
    agents = createAgents({ insecureSkipVerify: false });
    await expect(exchangeStreamed(get(url, '/big'), () => collector())).rejects.toMatchObject({ code: XapiErrorCode.RESPONSE_TOO_LARGE });
    await expect(exchangeStreamed({ ...get(url, '/stall'), timeoutMs: 100 }, () => collector())).rejects.toMatchObject({ code: XapiErrorCode.TIMEOUT });
  });

  it('retries a stale keep-alive socket before any consumer is created', async () => {
    const url = await listen((req, res, nth) => {
      if (nth > 1) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { Connection: 'keep-alive' });
      res.end('ok');
    });
    agents = createAgents({ insecureSkipVerify: false });
    let consumers = 0;
    const factory = () => {
      consumers++;
      return collector();
    };
    for (let i = 0; i < 2; i++) {
      const res = await exchangeStreamed(get(url), factory);
      expect(isConsumed(res) && res.consumed).toBe('ok');
    }
    expect(consumers).toBe(2);
  });
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
