// The agent's health endpoint over a real socket: readiness across the lifecycle, a pool that cannot connect,
// and the listener closing on shutdown.

import { request } from 'node:http';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, formatIssue } from '../../src/config/issues.ts';
import { parseConfigText } from '../../src/config/load.ts';
import type { ExporterFactory } from '../../src/exporters/types.ts';
import { Agent } from '../../src/host/agent.ts';
import { createXapiPool } from '../../src/lib/xapi/index.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { builtinRegistry, memoryExporter, memoryExporterFactory, recordingLogger, testReceiverFactory } from './helpers.ts';

interface Reply {
  status: number;
  body: string;
}

/** A fresh connection per request, so a closed listener shows as ECONNREFUSED. */
function get(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A loopback port with nothing listening: bind, note the port, close. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A `memory` exporter whose start waits until the test calls `release()`. */
function gatedExporterFactory(): ExporterFactory & { release(): void } {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  const base = memoryExporterFactory();
  return {
    ...base,
    type: 'gated',
    release: () => release(),
    create() {
      const e = memoryExporter();
      return { ...e, start: () => gate };
    },
  };
}

const agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.shutdown()));
});

describe('health endpoint', () => {
  it('is live but not ready while starting, ready once exporters and the pool inventory are up, gone after shutdown', async () => {
    // arrange
    const gated = gatedExporterFactory();
    const registry = builtinRegistry({ exporters: [gated] });
    const config = await parseConfigText(
      `pools:
  sim:
    simulator: { hosts: 1, vms_per_host: 1, tls: false, dynamics: { enabled: false } }
receivers:
  sr_usage/sim: { pools: [sim], collection_interval: 1m }
exporters:
  gated: {}
service:
  pipelines:
    metrics: { receivers: [sr_usage/sim], exporters: [gated] }
  telemetry:
    metrics: { enabled: false }
    health: { endpoint: 127.0.0.1:0 }
`,
      { registry, baseDir: '.', env: {} },
    );
    const agent = new Agent({ config, logger: recordingLogger(), poolDeps: { createXapiPool, startSimulator }, serviceVersion: '0.0.0', jitterFraction: 0 });
    agents.push(agent);
    // act: start blocks on the gated exporter
    const started = agent.start();
    await vi.waitFor(() => expect(agent.healthAddress).toBeDefined(), { timeout: 20_000, interval: 5 });
    const port = agent.healthAddress!.port;
    const liveWhileStarting = await get(port, '/healthz');
    const readyWhileStarting = await get(port, '/readyz');
    gated.release();
    await started;
    const readyAfterStart = await get(port, '/readyz');
    await agent.shutdown();
    // assert
    expect(liveWhileStarting.status).toBe(200);
    expect(readyWhileStarting.status).toBe(503);
    expect(JSON.parse(readyWhileStarting.body)).toEqual({
      status: 'not_ready',
      agent: 'starting',
      not_ready: [
        { component: 'agent', id: 'agent', reason: 'agent is starting' },
        { component: 'exporter', id: 'gated', reason: 'not started' },
      ],
    });
    expect(readyAfterStart.status).toBe(200);
    expect(JSON.parse(readyAfterStart.body)).toEqual({ status: 'ready', agent: 'running' });
    await expect(get(port, '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('answers 503 naming the pool and its error code when the pool refuses connections, without secrets', async () => {
    // arrange
    const xapiPort = await refusingPort();
    const memory = memoryExporterFactory();
    const registry = builtinRegistry({ exporters: [memory] });
    const config = await parseConfigText(
      `pools:
  prod:
    endpoints: [http://127.0.0.1:${xapiPort}]
    username: otel-reader
    password: hunter2-do-not-leak
    request_timeout: 500ms
receivers:
  sr_usage/prod: { pools: [prod], collection_interval: 1m }
exporters:
  memory: {}
service:
  pipelines:
    metrics: { receivers: [sr_usage/prod], exporters: [memory] }
  telemetry:
    metrics: { enabled: false }
    health: { endpoint: 127.0.0.1:0 }
`,
      { registry, baseDir: '.', env: {} },
    );
    const agent = new Agent({ config, logger: recordingLogger(), poolDeps: { createXapiPool }, serviceVersion: '0.0.0', jitterFraction: 0, shutdownTimeoutMs: 500 });
    agents.push(agent);
    // act
    await agent.start();
    const live = await get(agent.healthAddress!.port, '/healthz');
    const ready = await get(agent.healthAddress!.port, '/readyz');
    // assert
    expect(agent.state).toBe('running');
    expect(live.status).toBe(200);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'not_ready',
      agent: 'running',
      not_ready: [{ component: 'pool', id: 'prod', reason: 'inventory not loaded', code: 'XAPI_ERR_UNREACHABLE' }],
    });
    expect(ready.body).not.toMatch(/hunter2|OpaqueRef|otel-reader/);
  });

  it('fails the start when the health port is taken', async () => {
    // arrange
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    const receiver = testReceiverFactory(() => ({ scrape: async () => ({ batch: { resources: [] }, errors: [] }) }));
    const registry = builtinRegistry({ receivers: [receiver], exporters: [memoryExporterFactory()] });
    const config = await parseConfigText(
      `receivers:
  test_receiver: {}
exporters:
  memory: {}
service:
  pipelines:
    metrics: { receivers: [test_receiver], exporters: [memory] }
  telemetry:
    health: { endpoint: '127.0.0.1:${port}' }
`,
      { registry, baseDir: '.', env: {} },
    );
    const agent = new Agent({ config, logger: recordingLogger(), poolDeps: { createXapiPool }, serviceVersion: '0.0.0' });
    agents.push(agent);
    try {
      // act + assert
      await expect(agent.start()).rejects.toMatchObject({ code: 'AGENT_ERR_HEALTH_LISTEN' });
      expect(agent.state).toBe('stopped');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it.each([
    ['13133', "service.telemetry.health.endpoint: expected 'host:port'"],
    ['http://0.0.0.0:13133', "service.telemetry.health.endpoint: expected 'host:port'"],
  ])('rejects the endpoint %s with the path of the key', async (endpoint, message) => {
    const receiver = testReceiverFactory(() => ({ scrape: async () => ({ batch: { resources: [] }, errors: [] }) }));
    const err = await parseConfigText(
      `receivers: { test_receiver: {} }
exporters: { memory: {} }
service:
  pipelines: { metrics: { receivers: [test_receiver], exporters: [memory] } }
  telemetry: { health: { endpoint: '${endpoint}' } }
`,
      { registry: builtinRegistry({ receivers: [receiver], exporters: [memoryExporterFactory()] }), baseDir: '.', env: {} },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map(formatIssue).join('\n')).toContain(message);
  });
});
