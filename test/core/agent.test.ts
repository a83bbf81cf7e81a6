import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, formatIssue } from '../../src/config/issues.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { Agent } from '../../src/host/agent.ts';
import type { PoolDeps } from '../../src/host/pools.ts';
import type { XapiPool, XapiPoolOptions } from '../../src/lib/xapi/types.ts';
import { AgentError, PLUGIN_API_VERSION } from '../../src/plugin-api/index.ts';
import { builtinRegistry, memoryExporterFactory, recordingLogger, sampleBatch, testReceiverFactory } from './helpers.ts';

const zodUrl = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href;

function writePlugin(dir: string, apiVersion = `^${PLUGIN_API_VERSION}`): void {
  writeFileSync(
    path.join(dir, 'my-plugin.mjs'),
    `import { z } from '${zodUrl}';
const definition = { name: 'thirdparty.answer', description: 'The answer.', unit: '1', kind: 'gauge', valueType: 'int', attributes: [], enabledByDefault: true };
export const receivers = [{
  type: 'thirdparty',
  stability: 'development',
  apiVersion: '${apiVersion}',
  description: 'A third-party receiver loaded by path',
  configSchema: z.strictObject({ answer: z.number().default(42) }),
  createScraper: (settings, config) => ({
    async scrape() {
      return { batch: { resources: [{ key: 'tp:1', resource: { 'tp.id': settings.id }, metrics: [{ definition, series: [{ attributes: {}, timesMs: [Date.now()], values: [config.answer] }] }] }] }, errors: [] };
    },
  }),
}];
`,
  );
}

const noPools: PoolDeps = {
  createXapiPool: () => {
    throw new Error('no pools in this test');
  },
};

describe('Agent', () => {
  it('loads a third-party plugin by path and exports its data, then self-telemetry on shutdown', async () => {
    // arrange
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-plugin-'));
    writePlugin(dir);
    const memory = memoryExporterFactory();
    const registry = builtinRegistry({ exporters: [memory] });
    const config = await parseConfigText(
      `plugins: [{ path: ./my-plugin.mjs }]
receivers:
  thirdparty/x: { answer: 7, collection_interval: 1s }
exporters:
  memory: {}
service:
  pipelines:
    metrics: { receivers: [thirdparty/x], exporters: [memory] }
  telemetry: { metrics: { interval: 1m } }
`,
      { registry, baseDir: dir, env: {} },
    );
    const log = recordingLogger();
    const agent = new Agent({ config, logger: log, poolDeps: noPools, serviceVersion: '9.9.9', jitterFraction: 0 });
    // act
    await agent.start();
    const sink = memory.instances.get('memory')!;
    await vi.waitFor(() => expect(sink.batches.length).toBeGreaterThan(0), { timeout: 20_000, interval: 10 });
    await agent.shutdown();
    // assert
    const first = sink.batches[0]!;
    expect(first.origin?.receiver).toBe('thirdparty/x');
    expect(first.scope).toEqual({ name: 'xen-otel-agent/thirdparty', version: '9.9.9' });
    expect(first.resources[0]!.metrics[0]!.series[0]!.values).toEqual([7]);
    const self = sink.batches.at(-1)!;
    expect(self.origin?.receiver).toBe('agent');
    expect(self.resources[0]!.resource).toMatchObject({ 'service.name': 'xen-otel-agent', 'service.version': '9.9.9' });
    expect(String(self.resources[0]!.resource['service.instance.id'])).toMatch(/^[0-9a-f-]{36}$/);
    const names = self.resources[0]!.metrics.map((m) => m.definition.name);
    expect(names).toEqual(expect.arrayContaining(['xen_otel_agent.scrape.duration', 'xen_otel_agent.scrapes', 'xen_otel_agent.exporter.sent_points']));
    expect(sink.shutdownCalls).toBe(1);
    expect(agent.state).toBe('stopped');
  });

  it('rejects a plugin built for another API version, with its path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'agent-plugin-'));
    writePlugin(dir, '^2.0.0');
    const err = await parseConfigText(`plugins: [{ path: ./my-plugin.mjs }]\nservice: { pipelines: {} }\n`, { registry: builtinRegistry(), baseDir: dir, env: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map(formatIssue)[0]).toBe(
      `plugins[0]: receiver 'thirdparty' from ./my-plugin.mjs requires plugin API ^2.0.0, this agent provides ${PLUGIN_API_VERSION} [PLUGIN_ERR_API_VERSION]`,
    );
  });

  it('rejects a plugin that registers a type twice', () => {
    const registry = builtinRegistry({ receivers: [testReceiverFactory(() => ({ scrape: async () => ({ batch: sampleBatch(), errors: [] }) }))] });
    expect(() => registry.registerReceiver(testReceiverFactory(() => ({ scrape: async () => ({ batch: sampleBatch(), errors: [] }) })), './x.js')).toThrow(
      "receiver type 'test_receiver' from ./x.js is already registered by builtin",
    );
  });

  it('opens only the pools a pipeline uses, survives a failing pool start, and closes pools on shutdown', async () => {
    // arrange
    const created: XapiPoolOptions[] = [];
    const closed: string[] = [];
    let starts = 0;
    const fakePool = (options: XapiPoolOptions): XapiPool =>
      ({
        name: options.name,
        start: async () => {
          starts += 1;
          throw new AgentError('XAPI_ERR_CONNECT', 'connection refused');
        },
        close: async () => {
          closed.push(options.name);
        },
      }) as unknown as XapiPool;
    const seenPools: string[] = [];
    const receiver = testReceiverFactory(() => ({ scrape: async () => ({ batch: sampleBatch(), errors: [] }) }));
    const wrapped = { ...receiver, createScraper: (settings: Parameters<typeof receiver.createScraper>[0], c: Parameters<typeof receiver.createScraper>[1]) => {
      seenPools.push(settings.pools.get('a').name);
      return receiver.createScraper(settings, c);
    } };
    const memory = memoryExporterFactory();
    const config = await parseConfigText(
      `pools:
  a: { endpoints: [https://127.0.0.1:1], username: u, password: p, tls: { insecure_skip_verify: true } }
  b: { endpoints: [https://127.0.0.1:2], username: u, password: p }
receivers:
  test_receiver: { pools: [a], collection_interval: 1h }
exporters: { memory: {} }
service: { pipelines: { metrics: { receivers: [test_receiver], exporters: [memory] } }, telemetry: { metrics: { enabled: false } } }
`,
      { registry: builtinRegistry({ receivers: [wrapped], exporters: [memory] }), baseDir: '.', env: {} },
    );
    const log = recordingLogger();
    const agent = new Agent({ config, logger: log, poolDeps: { createXapiPool: (o) => (created.push(o), fakePool(o)) }, serviceVersion: 't', jitterFraction: 0 });
    // act
    await agent.start();
    await agent.shutdown();
    // assert
    expect(created.map((o) => o.name)).toEqual(['a']);
    expect(created[0]!.tls.insecureSkipVerify).toBe(true);
    expect(created[0]!.password.reveal()).toBe('p');
    expect(seenPools).toEqual(['a']);
    expect(starts).toBe(1);
    expect(log.entries.some((e) => e.msg === 'component start failed; retrying in the background')).toBe(true);
    expect(log.entries.some((e) => e.level === 'warn' && e.msg.includes('TLS CERTIFICATE VERIFICATION IS DISABLED'))).toBe(true);
    expect(closed).toEqual(['a']);
    expect(config.warnings).toContain("pool 'b' is not used by any receiver of a pipeline; it is not opened");
  });
});
