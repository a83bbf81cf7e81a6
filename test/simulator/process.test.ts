// TLS with the written CA, time acceleration, the CLI ready line and clean shutdown, and scale.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import type { SimulatorReadyInfo } from '../../src/simulator/api.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import { call, login, request, value } from './helpers.ts';

const NO_DYNAMICS = { enabled: false, meanIntervalSeconds: 30 };

describe('TLS', () => {
  it('serves HTTPS verifiable with ca.pem (IP SAN per host) and fails without it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'sim-tls-'));
    const sim = await startSimulator({ hosts: 2, vmsPerHost: 1, stateDir, adminPort: null, dynamics: NO_DYNAMICS });
    try {
      expect(sim.info.ca_file).toBe(join(stateDir, 'ca.pem'));
      const ca = readFileSync(join(stateDir, 'ca.pem'), 'utf8');
      for (const h of sim.info.hosts) {
        expect(h.url).toMatch(/^https:\/\/127\.0\.0\.\d+:\d+$/);
        const r = await request(`${h.url}/`, { ca });
        expect(r.status).toBe(404);
      }
      const r = await call(sim.info.master_url, 'session.login_with_password', ['root', 'sim-root-password'], ca);
      expect(r.Status).toBe('Success');
      await expect(request(`${sim.info.master_url}/`)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    } finally {
      await sim.stop();
    }
  });
});

describe('time scale', () => {
  it('runs host time at timeScale simulated seconds per real second', async () => {
    const sim = await startSimulator({ tls: false, hosts: 1, vmsPerHost: 0, timeScale: 600, startTimeMs: Date.UTC(2025, 5, 1), adminPort: null, dynamics: NO_DYNAMICS });
    try {
      const s = await login(sim.info.master_url);
      const [h] = (await value(sim.info.master_url, 'host.get_all', [s])) as string[];
      const parse = (x: string): number => Date.UTC(+x.slice(0, 4), +x.slice(4, 6) - 1, +x.slice(6, 8), +x.slice(9, 11), +x.slice(12, 14), +x.slice(15, 17));
      const r0 = performance.now();
      const t0 = parse(String(await value(sim.info.master_url, 'host.get_servertime', [s, h ?? ''])));
      await new Promise((r) => setTimeout(r, 300));
      const t1 = parse(String(await value(sim.info.master_url, 'host.get_servertime', [s, h ?? ''])));
      const real = performance.now() - r0;
      expect(t0).toBeGreaterThanOrEqual(Date.UTC(2025, 5, 1));
      // 300 ms real ≈ 180 s simulated (second resolution, plus request latency)
      expect((t1 - t0) / 1000).toBeGreaterThan(150);
      expect((t1 - t0) / 1000).toBeLessThan((real / 1000) * 600 + 2);
    } finally {
      await sim.stop();
    }
  });
});

describe('CLI', () => {
  it('prints exactly one JSON ready line and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, ['src/simulator/cli.ts', '--hosts', '2', '--vms-per-host', '1', '--seed', '5', '--no-tls', '--no-dynamics', '--xapi-version', 'xcp-ng-8.3', '--time-scale', '2'], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    rl.on('line', (l) => lines.push(l));
    const info = JSON.parse(first) as SimulatorReadyInfo;
    expect(info).toMatchObject({ event: 'ready', xapi_version: '26.4.0', time_scale: 2, ca_file: null });
    expect(info.hosts).toHaveLength(2);
    expect(info.users.map((u) => u.role)).toEqual(['pool-admin', 'read-only']);
    const s = await login(info.master_url);
    expect(s).toMatch(/^OpaqueRef:/);
    const state = (await (await fetch(`${info.admin_url ?? ''}/state`)).json()) as { master_uuid: string };
    expect(state.master_uuid).toBe(info.hosts[0]?.uuid);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(lines).toEqual([]);
  });

  it('rejects bad flags with exit code 2', async () => {
    const child = spawn(process.execPath, ['src/simulator/cli.ts', '--hosts', 'many'], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(2);
    expect(err).toContain('--hosts expects an integer');
  });
});

describe('scale', () => {
  it('serves 64 hosts x 100 VMs with a fast cached VM.get_all_records', async () => {
    const t0 = performance.now();
    const sim = await startSimulator({ tls: false, hosts: 64, vmsPerHost: 100, adminPort: null, dynamics: NO_DYNAMICS, historySeconds: 60 });
    const startMs = performance.now() - t0;
    try {
      const url = sim.info.master_url;
      const s = await login(url);
      const body = `<methodCall><methodName>VM.get_all_records</methodName><params><param><value>${s}</value></param></params></methodCall>`;
      // Time to first byte is the server's work (the cached response is written as one prebuilt buffer); the total
      // also includes this process reading 47 MB, which is the client's cost and noisy on a shared machine.
      const post = (keep: boolean): Promise<{ ttfb: number; total: number; bytes: number; text: string }> =>
        new Promise((resolve, reject) => {
          const u = new URL(url);
          const t = performance.now();
          const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/', agent: false }, (res) => {
            let ttfb = -1;
            let bytes = 0;
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => {
              if (ttfb < 0) ttfb = performance.now() - t;
              bytes += c.length;
              if (keep) chunks.push(c);
            });
            res.on('end', () => resolve({ ttfb, total: performance.now() - t, bytes, text: keep ? Buffer.concat(chunks).toString('latin1') : '' }));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(body);
        });
      const first = await post(true);
      const again: Array<{ ttfb: number; total: number; bytes: number }> = [];
      for (let i = 0; i < 3; i++) again.push(await post(false));
      const vmCount = (first.text.match(/<member><name>is_control_domain<\/name>/g) ?? []).length;
      expect(vmCount).toBeGreaterThanOrEqual(64 * 100 + 64);
      for (const a of again) expect(a.bytes).toBe(first.bytes);
      // The first call encodes 6,500 records; a cached one only starts writing a prebuilt buffer. How much faster that
      // is gets printed, not asserted (a wall-clock comparison flakes on a loaded machine; bench/ measures speed):
      // the cache itself is tested in test/simulator/xmlrpc.test.ts.
      const cachedTtfb = Math.min(...again.map((a) => a.ttfb));
      const cachedMs = Math.min(...again.map((a) => a.total));
      const firstMs = first.total;
      const heapMb = process.memoryUsage().heapUsed / 1024 / 1024;
      console.log(`scale: start ${startMs.toFixed(0)} ms, VM.get_all_records ${vmCount} VMs ${(first.bytes / 1e6).toFixed(1)} MB first ${firstMs.toFixed(0)} ms (first byte ${first.ttfb.toFixed(0)} ms), cached ${cachedMs.toFixed(0)} ms (first byte ${cachedTtfb.toFixed(1)} ms), heap ${heapMb.toFixed(0)} MB`);
    } finally {
      await sim.stop();
    }
  }, 120_000);
});
