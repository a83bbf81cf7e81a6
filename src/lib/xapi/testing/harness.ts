// Shared bits of the pool tests: options, a capturing logger, polling with a deadline.
import type * as http from 'node:http';
import type * as https from 'node:https';
import { destroyAgents, type Agents } from '../transport.ts';
import type { XapiLogger, XapiPoolOptions } from '../types.ts';

export const PASSWORD = 'p@ss<&>word';

export interface LogEntry {
  level: string;
  obj: object;
  msg: string;
}

export function captureLogger(entries: LogEntry[], bindings: Record<string, unknown> = {}): XapiLogger {
  const log = (level: string) => (obj: object, msg: string) => entries.push({ level, obj: { ...bindings, ...obj }, msg });
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => captureLogger(entries, { ...bindings, ...more }),
  };
}

/** Everything a log line would show, errors included (message, code, details, causes). */
export function renderLogs(entries: LogEntry[]): string {
  return JSON.stringify(entries, (_key, value: unknown) => {
    if (value instanceof Error) {
      return { message: value.message, code: (value as { code?: unknown }).code, details: (value as { details?: unknown }).details, cause: value.cause, stack: value.stack };
    }
    return value;
  });
}

export function poolOptions(endpoints: string[], logs: LogEntry[], over: Partial<XapiPoolOptions> = {}): XapiPoolOptions {
  return {
    name: 'pool1',
    endpoints,
    username: 'root',
    password: { reveal: () => PASSWORD },
    tls: { insecureSkipVerify: false },
    requestTimeoutMs: 2000,
    maxConcurrentHosts: 4,
    maxResponseBytes: 1_000_000,
    originator: 'xen-otel-agent-test',
    logger: captureLogger(logs),
    eventTimeoutSeconds: 30,
    ...over,
  };
}

/** Polls `condition` (no fixed sleeps) until it holds or the deadline passes. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const signal = () => AbortSignal.timeout(10_000);

/** Ends a test's loopback server and keep-alive agents; connections first, so `close()` does not wait for idle sockets. */
export async function closeServerAndAgents(server: http.Server | https.Server | undefined, agents: Agents | undefined): Promise<void> {
  if (agents !== undefined) destroyAgents(agents);
  server?.closeAllConnections();
  if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
}
