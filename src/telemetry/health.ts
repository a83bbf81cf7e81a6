// Health endpoint, like the collector's `health_check` extension: `GET /healthz` (liveness) and `GET /readyz`
// (readiness) on `service.telemetry.health.endpoint`. It exposes status only — no metrics, no config — and the
// bodies carry component ids, states and error codes, never error messages (a message may quote a URL or a
// server's answer), secrets or session ids.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError, type Logger } from '../plugin-api/index.ts';

export const AGENT_ERR_HEALTH_LISTEN = 'AGENT_ERR_HEALTH_LISTEN';

/**
 * Liveness fails when the event loop was blocked longer than this since the previous probe. A blocked loop
 * answers no probe at all (the kubelet's timeout catches that); this catches a loop that stalls for long
 * stretches between probes but happens to be free when one arrives. Generous on purpose: a false liveness
 * failure restarts the process.
 */
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 10_000;

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `127.0.0.1:13133`, `0.0.0.0:13133`, `localhost:13133`, `[::1]:13133`; port 0 lets the OS choose. */
export function parseHostPort(text: string): HostPort | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

export type ReadinessComponent = 'agent' | 'exporter' | 'pool';

export interface NotReadyItem {
  readonly component: ReadinessComponent;
  readonly id: string;
  /** A fixed phrase (`inventory not loaded`), never an error message. */
  readonly reason: string;
  /** Stable error code of the last failed start attempt, when there was one. */
  readonly code?: string;
}

export interface Readiness {
  /** `new | starting | running | stopping | stopped`. */
  readonly agent: string;
  readonly notReady: readonly NotReadyItem[];
}

export interface HealthServerOptions {
  readonly endpoint: HostPort;
  readonly readiness: () => Readiness;
  readonly logger: Logger;
  readonly maxEventLoopDelayMs?: number;
  /** Period of the heartbeat timer that measures event-loop delay (default 100 ms). */
  readonly heartbeatIntervalMs?: number;
}

export class HealthServer {
  private readonly _o: HealthServerOptions;
  private readonly _maxDelayMs: number;
  private _server: Server | undefined;
  private _heartbeat: ReturnType<typeof setInterval> | undefined;
  private _lastBeat = 0;
  private _maxLagMs = 0;
  private _address: HostPort | undefined;

  constructor(options: HealthServerOptions) {
    this._o = options;
    this._maxDelayMs = options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS;
  }

  /** The bound address (the real port when the endpoint asked for port 0); undefined until listening. */
  get address(): HostPort | undefined {
    return this._address;
  }

  /** Rejects with AGENT_ERR_HEALTH_LISTEN if the endpoint cannot be bound (port in use, unknown address). */
  async start(): Promise<HostPort> {
    if (this._address) return this._address;
    const server = createServer((req, res) => this._handle(req, res));
    // Probes are tiny: do not let a slow or idle client hold a socket open.
    server.headersTimeout = 5000;
    server.requestTimeout = 5000;
    server.keepAliveTimeout = 1000;
    const { host, port } = this._o.endpoint;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      throw new AgentError(AGENT_ERR_HEALTH_LISTEN, `health endpoint cannot listen on ${formatHostPort(this._o.endpoint)}`, { cause: err });
    }
    server.on('error', (err) => this._o.logger.warn({ err }, 'health endpoint error'));
    this._server = server;
    this._startHeartbeat();
    const bound = server.address() as AddressInfo;
    this._address = { host: bound.address, port: bound.port };
    this._o.logger.info({ endpoint: formatHostPort(this._address) }, 'health endpoint listening');
    return this._address;
  }

  /** Stops listening and drops open connections. Idempotent; safe without start. */
  async close(): Promise<void> {
    const server = this._server;
    this._server = undefined;
    this._address = undefined;
    clearInterval(this._heartbeat);
    this._heartbeat = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private _handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/healthz' && path !== '/readyz') return send(res, req, 404, { status: 'not_found', paths: ['/healthz', '/readyz'] });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, req, 405, { status: 'method_not_allowed' });
    }
    if (path === '/healthz') return this._liveness(req, res);
    return this._readiness(req, res);
  }

  private _liveness(req: IncomingMessage, res: ServerResponse): void {
    // Worst delay since the previous probe, then a fresh window. After a stall, the probe can be handled before
    // the heartbeat timer runs again, so the gap since the last beat counts too.
    const maxDelayMs = Math.round(Math.max(this._maxLagMs, this._lagNow()));
    this._maxLagMs = 0;
    const body = { status: 'ok', uptime_s: Math.round(process.uptime()), event_loop_delay_max_ms: maxDelayMs };
    if (maxDelayMs > this._maxDelayMs) return send(res, req, 503, { ...body, status: 'event_loop_blocked', limit_ms: this._maxDelayMs });
    send(res, req, 200, body);
  }

  private _startHeartbeat(): void {
    const interval = this._o.heartbeatIntervalMs ?? 100;
    this._lastBeat = performance.now();
    this._heartbeat = setInterval(() => {
      this._maxLagMs = Math.max(this._maxLagMs, this._lagNow());
      this._lastBeat = performance.now();
    }, interval);
    this._heartbeat.unref();
  }

  /** How late the next heartbeat is running right now (0 when on time). */
  private _lagNow(): number {
    return Math.max(0, performance.now() - this._lastBeat - (this._o.heartbeatIntervalMs ?? 100));
  }

  private _readiness(req: IncomingMessage, res: ServerResponse): void {
    let readiness: Readiness;
    try {
      readiness = this._o.readiness();
    } catch (err) {
      this._o.logger.warn({ err }, 'readiness check failed');
      return send(res, req, 503, { status: 'not_ready', agent: 'unknown', not_ready: [{ component: 'agent', id: 'agent', reason: 'readiness check failed' }] });
    }
    const ready = readiness.agent === 'running' && readiness.notReady.length === 0;
    send(res, req, ready ? 200 : 503, {
      status: ready ? 'ready' : 'not_ready',
      agent: readiness.agent,
      ...(ready ? {} : { not_ready: readiness.notReady }),
    });
  }
}

export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function send(res: ServerResponse, req: IncomingMessage, status: number, body: object): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}
