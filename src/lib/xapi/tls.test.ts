// TLS: verification is on by default; `ca`, `serverName` and `insecureSkipVerify` behave as documented.
import { generate } from 'selfsigned';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { XapiErrorCode } from './errors.ts';
import { createXapiPool } from './pool.ts';
import { FakePool, seedPool } from './testing/fake-pool.ts';
import { startFakeHostsOnOnePort, type FakeHost } from './testing/fake-xapi.ts';
import { poolOptions, renderLogs, signal, type LogEntry } from './testing/harness.ts';
import type { XapiTlsOptions } from './types.ts';

let byIp: { key: string; cert: string };
let byNameOnly: { key: string; cert: string };
const cleanups: (() => Promise<void>)[] = [];
let logs: LogEntry[] = [];

beforeAll(async () => {
  const make = async (altNames: { type: 2 | 7; value?: string; ip?: string }[]) => {
    const pems = await generate([{ name: 'commonName', value: 'xcp-host' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames }],
    });
    return { key: pems.private, cert: pems.cert };
  };
  byIp = await make([{ type: 7, ip: '127.0.0.2' }, { type: 7, ip: '127.0.0.3' }]);
  byNameOnly = await make([{ type: 2, value: 'xapi.test' }]);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  expect(renderLogs(logs)).not.toMatch(/OpaqueRef:session-/);
  logs = [];
});

async function hosts(tls: { key: string; cert: string }): Promise<FakeHost[]> {
  const model = new FakePool();
  model.masterAddress = '127.0.0.2';
  seedPool(model, '127.0.0.3');
  const started = await startFakeHostsOnOnePort([
    { address: '127.0.0.2', tls, rpc: model.rpc, get: () => ({ status: 200, body: 'rrd' }) },
    { address: '127.0.0.3', tls, rpc: model.rpc, get: () => ({ status: 200, body: 'rrd' }) },
  ]);
  cleanups.push(async () => {
    model.shutdown();
    await Promise.all(started.map((h) => h.close()));
  });
  return started;
}

function pool(url: string, tls: XapiTlsOptions) {
  const p = createXapiPool(poolOptions([url], logs, { tls }), { retryBaseMs: 10_000 });
  cleanups.push(() => p.close());
  return p;
}

describe('TLS', () => {
  it('refuses a certificate it cannot verify (verification is on by default)', async () => {
    const [master] = await hosts(byIp);
    await expect(pool(master!.url, { insecureSkipVerify: false }).start(signal())).rejects.toMatchObject({ code: XapiErrorCode.TLS });
  });

  it('trusts the configured CA and reaches members over the same keep-alive TLS settings', async () => {
    const [master] = await hosts(byIp);
    const p = pool(master!.url, { insecureSkipVerify: false, ca: byIp.cert });
    await p.start(signal());
    const res = await p.getFromHost('OpaqueRef:host2', { path: '/rrd_updates', query: {}, accept: 'text/xml', signal: signal() });
    expect(res.body.toString()).toBe('rrd');
  });

  it('checks the certificate against serverName when connecting by address', async () => {
    const [master] = await hosts(byNameOnly);
    await expect(pool(master!.url, { insecureSkipVerify: false, ca: byNameOnly.cert }).start(signal())).rejects.toMatchObject({ code: XapiErrorCode.TLS });
    await expect(pool(master!.url, { insecureSkipVerify: false, ca: byNameOnly.cert, serverName: 'xapi.test' }).start(signal())).resolves.toBeUndefined();
  });

  it('skips verification only when asked to', async () => {
    const [master] = await hosts(byIp);
    await expect(pool(master!.url, { insecureSkipVerify: true }).start(signal())).resolves.toBeUndefined();
  });
});
