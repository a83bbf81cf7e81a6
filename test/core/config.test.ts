import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssue, ConfigError } from '../../src/config/issues.ts';
import { parseConfigText, type AgentConfig } from '../../src/config/load.ts';
import { effectiveConfigYaml } from '../../src/config/effective.ts';
import { Secret } from '../../src/plugin-api/index.ts';
import { builtinRegistry, testReceiverFactory } from './helpers.ts';

const BASE = `
pools:
  prod:
    endpoints: [https://10.0.0.1]
    username: reader
    password: \${env:PW}
receivers:
  test_receiver/prod:
    pools: [prod]
exporters:
  debug: {}
service:
  pipelines:
    metrics:
      receivers: [test_receiver/prod]
      exporters: [debug]
`;

const dir = mkdtempSync(path.join(tmpdir(), 'agent-config-'));

async function load(text: string, env: Record<string, string> = { PW: 'hunter2' }): Promise<AgentConfig> {
  const registry = builtinRegistry({ receivers: [testReceiverFactory(() => ({ scrape: async () => ({ batch: { resources: [] }, errors: [] }) }))] });
  return parseConfigText(text, { registry, env, baseDir: dir, fileName: 'test.yaml' });
}

async function errorsOf(text: string, env?: Record<string, string>): Promise<string[]> {
  try {
    await load(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map(formatIssue);
    throw err;
  }
  return [];
}

describe('config validation', () => {
  it('accepts the base config and applies defaults', async () => {
    // act
    const config = await load(BASE);
    // assert
    const pool = config.pools['prod']!;
    expect(pool.password).toBeInstanceOf(Secret);
    expect(pool.password!.reveal()).toBe('hunter2');
    expect(pool).toMatchObject({ max_concurrent_hosts: 8, request_timeout: 10_000, max_response_size: 64 * 1024 * 1024, tls: { insecure_skip_verify: false } });
    expect(config.receivers['test_receiver/prod']!.scrape).toEqual({ collectionIntervalMs: 10_000, timeoutMs: 10_000, initialDelayMs: 0 });
    expect(config.usedPools).toEqual(['prod']);
    expect(config.telemetry).toEqual({ logs: { level: 'info' }, metrics: { enabled: true, interval: 30_000 } });
    expect(Object.isFrozen(config.pools)).toBe(true);
  });

  it.each([
    ['unknown pool reference', ['    pools: [prod]', '    pools: [prdo]'], [`receivers.test_receiver/prod.pools[0]: unknown pool 'prdo' (did you mean 'prod'?)`]],
    ['unknown top-level key', ['service:', 'extensions: {}\nservice:'], ['extensions: unknown key']],
    ['unknown nested key', ['    username: reader', '    username: reader\n    tls: { insecure: true }'], ['pools.prod.tls.insecure: unknown key']],
    ['unknown receiver key', ['    pools: [prod]', '    pools: [prod]\n    colection_interval: 5s'], ['receivers.test_receiver/prod.colection_interval: unknown key']],
    [
      'malformed duration',
      ['    pools: [prod]', '    pools: [prod]\n    collection_interval: 10x'],
      [`receivers.test_receiver/prod.collection_interval: invalid duration '10x' (expected e.g. 500ms, 10s, 1m30s)`],
    ],
    ['too short interval', ['    pools: [prod]', '    pools: [prod]\n    collection_interval: 50ms'], [`receivers.test_receiver/prod.collection_interval: duration '50ms' must be at least 100ms`]],
    ['unset environment variable', ['${env:PW}', '${env:NOPE}'], [`pools.prod.password: environment variable 'NOPE' is not set`]],
    ['unreadable secret file', ['${env:PW}', '${file:missing-secret}'], [`pools.prod.password: cannot read file 'missing-secret' (ENOENT)`]],
    ['unknown placeholder scheme', ['${env:PW}', '${vault:pw}'], [`pools.prod.password: unknown placeholder scheme 'vault' (expected env or file)`]],
    ['neither endpoints nor simulator', ['    endpoints: [https://10.0.0.1]\n', ''], [`pools.prod: either 'endpoints' or 'simulator' is required`]],
    ['non-http endpoint', ['https://10.0.0.1', 'ftp://10.0.0.1'], ['pools.prod.endpoints[0]: expected an http(s) URL']],
    ['missing password', ['    password: ${env:PW}\n', ''], ['pools.prod.password: required']],
    [
      'simulator with credentials',
      ['    endpoints: [https://10.0.0.1]\n', '    simulator: { hosts: 2 }\n'],
      [`pools.prod.username: not allowed with 'simulator' (the simulator supplies it)`, `pools.prod.password: not allowed with 'simulator' (the simulator supplies it)`],
    ],
    ['bad number', ['    username: reader', '    username: reader\n    max_concurrent_hosts: 0'], ['pools.prod.max_concurrent_hosts: Too small: expected number to be >=1']],
    ['wrong type', ['    username: reader', '    username: 42'], ['pools.prod.username: expected string, got number']],
    ['bad size', ['    username: reader', '    username: reader\n    max_response_size: 12 parsecs'], [`pools.prod.max_response_size: invalid size '12 parsecs' (expected e.g. 1048576, 512KiB, 64MiB)`]],
    ['bad enum', ['  debug: {}', '  debug: { verbosity: loud }'], ['exporters.debug.verbosity: invalid value "loud" (expected one of "basic", "normal", "detailed")']],
    ['unknown exporter in pipeline', ['exporters: [debug]', 'exporters: [debug, otlp/x]'], [`service.pipelines.metrics.exporters[1]: unknown exporter 'otlp/x'`]],
    ['unknown receiver in pipeline', ['receivers: [test_receiver/prod]', 'receivers: [test_receiver/prdo]'], [`service.pipelines.metrics.receivers[0]: unknown receiver 'test_receiver/prdo' (did you mean 'test_receiver/prod'?)`]],
    ['duplicate in pipeline', ['exporters: [debug]', 'exporters: [debug, debug]'], [`service.pipelines.metrics.exporters[1]: 'debug' is listed twice`]],
    ['empty exporter list', ['exporters: [debug]', 'exporters: []'], ['service.pipelines.metrics.exporters: at least one exporter is required']],
    ['bad component id', ['  debug: {}', '  debug: {}\n  Debug/x: {}'], [`exporters.Debug/x: invalid exporter id (expected 'type' or 'type/name')`]],
    ['bad log level', ['      exporters: [debug]', '      exporters: [debug]\n  telemetry: { logs: { level: loud } }'], [
      'service.telemetry.logs.level: invalid value "loud" (expected one of "trace", "debug", "info", "warn", "error", "fatal", "silent")',
    ]],
  ])('%s', async (_name, [from, to], expected) => {
    // arrange
    expect(BASE).toContain(from);
    // act
    const errors = await errorsOf(BASE.replace(from!, to!));
    // assert
    expect(errors).toEqual(expected);
  });

  it('names unknown component types and lists the known ones', async () => {
    const errors = await errorsOf(BASE.replace('  debug: {}', '  debug: {}\n  kafka: {}'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^exporters\.kafka: unknown exporter type 'kafka' \(known: debug, .*otlp/);
  });

  it('collects every error, not just the first', async () => {
    const text = BASE.replace('    pools: [prod]', '    pools: [prdo]\n    timeout: soon').replace('${env:PW}', '${env:NOPE}').replace('exporters: [debug]', 'exporters: [dbg]');
    const errors = await errorsOf(text);
    expect(errors).toEqual([
      `pools.prod.password: environment variable 'NOPE' is not set`,
      `receivers.test_receiver/prod.timeout: invalid duration 'soon' (expected e.g. 500ms, 10s, 1m30s)`,
      `receivers.test_receiver/prod.pools[0]: unknown pool 'prdo' (did you mean 'prod'?)`,
      `service.pipelines.metrics.exporters[0]: unknown exporter 'dbg' (did you mean 'debug'?)`,
    ]);
  });

  it('reports YAML syntax errors with line and column', async () => {
    const errors = await errorsOf('pools:\n  a: [1, 2\nservice: {}\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(/^\(root\): YAML test\.yaml:\d+:\d+: /);
  });
});

describe('placeholder expansion', () => {
  it('expands ${env:} and ${file:} anywhere, trims one trailing newline, keeps $${} literal', async () => {
    // arrange
    writeFileSync(path.join(dir, 'pw.txt'), 's3cr:t #1\n');
    const text = BASE.replace('${env:PW}', '${file:pw.txt}').replace('username: reader', 'username: ${env:USER_NAME}-x').replace('label', 'label');
    // act
    const config = await load(text.replace('    pools: [prod]', () => '    pools: [prod]\n    label: "$${env:NOT_EXPANDED}"'), { USER_NAME: 'svc' });
    // assert
    expect(config.pools['prod']!.password!.reveal()).toBe('s3cr:t #1');
    expect(config.pools['prod']!.username).toBe('svc-x');
    expect((config.receivers['test_receiver/prod']!.config as { label: string }).label).toBe('${env:NOT_EXPANDED}');
  });

  it('keeps expanded values as strings (a numeric password stays a string)', async () => {
    const config = await load(BASE, { PW: '123456' });
    expect(config.pools['prod']!.password!.reveal()).toBe('123456');
  });
});

describe('effective config echo', () => {
  it('redacts secrets and formats durations back', async () => {
    // arrange
    const config = await load(BASE.replace('    pools: [prod]', '    pools: [prod]\n    label: "token-ish"'), { PW: 'hunter2' });
    // act
    const yaml = effectiveConfigYaml(config);
    // assert
    expect(yaml).not.toContain('hunter2');
    expect(yaml).toContain('password: "[REDACTED]"');
    expect(yaml).toContain('collection_interval: 10s');
    expect(yaml).toContain('request_timeout: 10s');
    expect(JSON.stringify(config)).not.toContain('hunter2');
  });

  it('shows the health endpoint when one is configured', async () => {
    const config = await load(`${BASE}\n  telemetry:\n    health:\n      endpoint: 127.0.0.1:13133\n`, { PW: 'hunter2' });
    expect(effectiveConfigYaml(config)).toContain('endpoint: 127.0.0.1:13133');
  });
});
