import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const zodUrl = pathToFileURL(createRequire(import.meta.url).resolve('zod')).href;

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempConfig(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'agent-cli-'));
  writeFileSync(
    path.join(dir, 'ticker.mjs'),
    `import { z } from '${zodUrl}';
const definition = { name: 'ticker.count', description: 'Ticks.', unit: '1', kind: 'sum', monotonic: true, valueType: 'int', attributes: [], enabledByDefault: true };
let n = 0;
export const receivers = [{
  type: 'ticker', stability: 'development', apiVersion: '^1.0.0', description: 'counts', configSchema: z.strictObject({}),
  createScraper: () => ({ async scrape() { n += 1; return { batch: { resources: [{ key: 'ticker', resource: { 'ticker.id': 'a' }, metrics: [{ definition, series: [{ attributes: {}, timesMs: [Date.now()], values: [n] }] }] }] }, errors: [] }; } }),
}];
`,
  );
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(file, text);
  return file;
}

describe('CLI', () => {
  it('prints the version and the help', () => {
    expect(cli(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^xen-otel-agent \d+\.\d+\.\d+\n$/) });
    expect(cli(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: xen-otel-agent') });
    expect(cli(['frobnicate']).code).toBe(2);
  });

  it('validate exits 0 on a valid file and prints the effective config with secrets redacted', () => {
    const file = tempConfig(`pools:
  p: { endpoints: [https://10.0.0.1], username: u, password: '\${env:SECRET_PW}' }
receivers:
  sr_usage: { pools: [p] }
exporters: { debug: {} }
service: { pipelines: { metrics: { receivers: [sr_usage], exporters: [debug] } } }
`);
    const r = cli(['validate', '--config', file, '--print'], { SECRET_PW: 'topsecret' });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('password: "[REDACTED]"');
    expect(r.stdout + r.stderr).not.toContain('topsecret');
    expect(r.stderr).toContain('valid (1 pipeline(s), 1 receiver(s))');
  });

  it('validate exits 1 and prints every error with its path', () => {
    const file = tempConfig(`pools:
  prod: { endpoints: [https://10.0.0.1], username: u, password: p, tls: { verify: false } }
receivers:
  sr_usage/prod: { pools: [prdo] }
exporters: { debug: { verbosity: loud } }
service: { pipelines: { metrics: { receivers: [sr_usage/prod], exporters: [debug] } } }
`);
    const r = cli(['validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}: 3 error(s)`);
    expect(r.stderr).toContain('  pools.prod.tls.verify: unknown key\n');
    expect(r.stderr).toContain(`  receivers.sr_usage/prod.pools[0]: unknown pool 'prdo' (did you mean 'prod'?)\n`);
    expect(r.stderr).toContain('  exporters.debug.verbosity: invalid value "loud"');
  });

  it('validate exits 1 when the file is missing', () => {
    const r = cli(['validate', '--config', '/nonexistent/agent.yaml']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(root): cannot read config file '/nonexistent/agent.yaml' (ENOENT)`);
  });

  it('run: SIGTERM stops the agent gracefully with a final export and exit code 0', async () => {
    // arrange
    const file = tempConfig(`plugins: [{ path: ./ticker.mjs }]
receivers:
  ticker: { collection_interval: 200ms }
exporters: { debug: { verbosity: basic } }
service:
  pipelines: { metrics: { receivers: [ticker], exporters: [debug] } }
  telemetry: { logs: { level: info, format: json }, metrics: { interval: 1h } }
`);
    const child = spawn(process.execPath, [MAIN, 'run', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // act: wait for the first exported batch, then SIGTERM
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('ticker → metrics')) resolve();
      });
      void exited.then(() => reject(new Error(`exited early: ${stderr}`)));
    });
    child.kill('SIGTERM');
    const code = await exited;
    // assert: exit code 0 is a graceful shutdown; one that overran its budget is forced out with code 1
    // (FORCE_EXIT_AFTER_SIGNAL_MS), so no wall-clock bound is needed here.
    expect(code).toBe(0);
    expect(stdout).toMatch(/ agent → metrics\/_agent resources=1 /); // final self-telemetry
    expect(stdout).toMatch(/debug shutdown: \d+ batches, \d+ points\n$/);
    const logs = stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['agent started', 'signal received; shutting down', 'agent stopped']));
  });
});
