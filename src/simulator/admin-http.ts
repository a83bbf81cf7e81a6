// Small JSON admin API on 127.0.0.1 for tests and demos driving a simulator in another process.
//   POST /faults {host, fault}   DELETE /faults[?host=uuid]   POST /failover {host}   POST /sessions/invalidate
//   POST /dynamics {action, target?}   POST /dynamics/pause {paused}   GET /state
import http from 'node:http';
import { AgentError } from '../plugin-api/errors.ts';
import type { SimAdmin, SimFault, SimulatorReadyInfo } from './api.ts';

export interface AdminBackend {
  clearFaultsAsync(hostUuid?: string): Promise<void>;
  readyInfo(adminUrl: string | null): SimulatorReadyInfo;
  masterRef(): string;
  hostUuid(hostRef: string): string;
  now(): number;
  readonly sessions: ReadonlyMap<string, unknown>;
  readonly db: { generation: number };
  faultSummary(): Record<string, unknown>;
}

export interface AdminServer {
  url: string;
  close(): Promise<void>;
}

const FAULT_KINDS = new Set(['down', 'slow', 'hang', 'http500', 'truncate', 'malformed', 'xo_lite', 'clock_skew']);

function isFault(x: unknown): x is SimFault {
  return typeof x === 'object' && x !== null && FAULT_KINDS.has(String((x as { kind?: unknown }).kind));
}

export function startAdminServer(backend: AdminBackend, admin: SimAdmin, port: number): Promise<AdminServer> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
      const text = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://admin');
      const reply = (status: number, body: unknown): void => {
        const b = Buffer.from(JSON.stringify(body));
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(b.length) });
        res.end(b);
      };
      try {
        const body = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
        const route = `${req.method ?? 'GET'} ${url.pathname}`;
        switch (route) {
          case 'GET /state':
            return reply(200, {
              ...backend.readyInfo(serverUrl()), master_uuid: backend.hostUuid(backend.masterRef()), now_ms: backend.now(),
              sessions: backend.sessions.size, generation: backend.db.generation, faults: backend.faultSummary(),
            });
          case 'POST /faults':
            if (typeof body['host'] !== 'string' || !isFault(body['fault'])) return reply(400, { error: 'expected {host: uuid, fault: {kind, …}}' });
            admin.setFault(body['host'], body['fault']);
            return reply(200, { ok: true });
          case 'DELETE /faults':
            await backend.clearFaultsAsync(url.searchParams.get('host') ?? undefined);
            return reply(200, { ok: true });
          case 'POST /failover':
            if (typeof body['host'] !== 'string') return reply(400, { error: 'expected {host: uuid}' });
            admin.failover(body['host']);
            return reply(200, { ok: true });
          case 'POST /sessions/invalidate':
            admin.invalidateSessions();
            return reply(200, { ok: true });
          case 'POST /dynamics':
            if (typeof body['action'] !== 'string') return reply(400, { error: 'expected {action, target?}' });
            return reply(200, { ok: true, result: admin.triggerDynamics(body['action'], typeof body['target'] === 'string' ? body['target'] : undefined) });
          case 'POST /dynamics/pause':
            admin.pauseDynamics(body['paused'] !== false);
            return reply(200, { ok: true });
          default:
            return reply(404, { error: `no route ${route}` });
        }
      } catch (err) {
        return reply(err instanceof AgentError ? 409 : 400, { error: err instanceof Error ? err.message : String(err), code: err instanceof AgentError ? err.code : undefined });
      }
    })();
  });
  let url = '';
  const serverUrl = (): string => url;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const a = server.address();
      url = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : port}`;
      resolve({
        url,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
