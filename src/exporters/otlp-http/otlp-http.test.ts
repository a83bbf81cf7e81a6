import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { OtlpHttpReceiver, rowKey } from '../../../test/helpers/otlp-receiver.ts';
import { FAST_RETRY, exporterTestBed } from '../otlp-common/exporter-test-bed.ts';
import { smallResources } from '../otlp-common/test-support.ts';
import type { ExportBatch } from '../types.ts';
import { metricsUrl, otlpHttpExporterFactory } from './index.ts';
import { classifyHttpStatus, parseRetryAfterMs } from './transport.ts';

const bed = exporterTestBed(otlpHttpExporterFactory, 'otlphttp/test');
const receiver = (options?: ConstructorParameters<typeof OtlpHttpReceiver>[0]): Promise<OtlpHttpReceiver> => bed.receiver(new OtlpHttpReceiver(options));
const exporter = bed.exporter;

const batch = (resources = smallResources(10, 5, 3)): ExportBatch => ({ scope: { name: 'xen-otel-agent/test' }, resources });
const signal = (): AbortSignal => AbortSignal.timeout(20_000);

describe('otlphttp exporter', () => {
  it('POSTs gzip protobuf to <endpoint>/v1/metrics, packed under the bound, with headers and exact timestamps', async () => {
    const r = await receiver();
    const e = exporter({ endpoint: r.url, headers: { authorization: 'Bearer t0k' }, max_request_bytes: 4096 });
    const b = batch(smallResources(40, 6, 2));
    const outcome = await e.export(b, signal());
    expect(outcome.failedKeys.size).toBe(0);
    expect(new Set(r.paths)).toEqual(new Set(['/v1/metrics']));
    expect(r.received.length).toBeGreaterThan(1);
    for (const q of r.received) {
      expect(q.encoding).toBe('gzip');
      expect(q.wireBytes).toBeLessThan(q.rawBytes);
      expect(q.rawBytes).toBeLessThanOrEqual(4096);
      expect(q.headers['authorization']).toBe('Bearer t0k');
      expect(q.headers['content-type']).toBe('application/x-protobuf');
    }
    expect(r.received.flatMap((q) => q.request.resourceMetrics)).toHaveLength(40);
    const rows = r.rows();
    expect(rows).toHaveLength(480);
    expect(rows.find((x) => x.resource['xen.vm.uuid'] === 'uuid-7' && x.attributes['device'] === 'd1')).toMatchObject({
      timeUnixNano: '1763750000123000000',
      value: 7001,
    });
  });

  it('compression none sends the raw protobuf', async () => {
    const r = await receiver();
    await exporter({ endpoint: r.url, compression: 'none' }).export(batch(), signal());
    expect(r.received[0]).toMatchObject({ encoding: 'identity' });
    expect(r.received[0]!.wireBytes).toBe(r.received[0]!.rawBytes);
  });

  it('retries 503 and 429 honouring Retry-After: every point exactly once', async () => {
    const r = await receiver();
    r.failures.failNext(2, { code: 503 });
    const e = exporter({ endpoint: r.url, max_request_bytes: 2048, retry_on_failure: FAST_RETRY, sending_queue: { num_consumers: 2 } });
    const b = batch(smallResources(20, 5, 2));
    expect((await e.export(b, signal())).failedKeys.size).toBe(0);
    const keys = r.rows().map(rowKey);
    expect(keys).toHaveLength(200);
    expect(new Set(keys).size).toBe(200);
    expect(e.stats().retries).toBe(2);

    r.failures.failNext(1, { code: 429, retryAfterMs: 1000 });
    const started = Date.now();
    expect((await e.export(batch(smallResources(1, 1, 1)), signal())).failedKeys.size).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950); // Retry-After: 1 beat the 10 ms backoff
  });

  it('a receiver that is down, then back: delivered once; past the deadline: failed keys and dropped points', async () => {
    const r = await receiver();
    await r.stop();
    const e = exporter({ endpoint: r.url, retry_on_failure: { initial_interval: '10ms', max_interval: '30ms', max_elapsed_time: '10s' } });
    const b = batch();
    const pending = e.export(b, signal());
    const deadline = Date.now() + 5000;
    while (e.stats().retries < 2 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    await r.start();
    expect((await pending).failedKeys.size).toBe(0);
    expect(new Set(r.rows().map(rowKey)).size).toBe(150);
    expect(r.points()).toBe(150);

    r.failures.failFor(60_000, { code: 502 });
    const quick = exporter({ endpoint: r.url, retry_on_failure: { initial_interval: '10ms', max_interval: '10ms', max_elapsed_time: '50ms' } });
    const outcome = await quick.export(b, signal());
    expect(outcome.failedKeys.size).toBe(10);
    expect(outcome.droppedPoints).toBe(150);
    expect(quick.stats().pointsDropped).toBe(150);
  });

  it('413 splits the request; 400 is not retried', async () => {
    const r = await receiver();
    r.failures.failWhen((bytes) => (bytes > 1500 ? { code: 413 } : null));
    const e = exporter({ endpoint: r.url, max_request_bytes: 8192, retry_on_failure: FAST_RETRY });
    expect((await e.export(batch(smallResources(20, 5, 2)), signal())).failedKeys.size).toBe(0);
    expect(r.points()).toBe(200);
    for (const q of r.received) expect(q.rawBytes).toBeLessThanOrEqual(1500);

    r.failures.reset();
    r.failures.failNext(1, { code: 400 });
    const bad = await e.export(batch(smallResources(2, 1, 1)), signal());
    expect(bad.failedKeys.size).toBe(2);
  });

  it('https with mTLS from OTEL_EXPORTER_OTLP_* files; the metrics endpoint variable is used as-is', async () => {
    const pems = await generate([{ name: 'commonName', value: 'otlp-test' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
      ],
      clientCertificate: { cn: 'agent', keyType: 'ec', algorithm: 'sha256' },
    });
    const dir = mkdtempSync(join(tmpdir(), 'otlphttp-tls-'));
    writeFileSync(join(dir, 'ca.pem'), pems.cert);
    writeFileSync(join(dir, 'c.pem'), pems.clientcert!);
    writeFileSync(join(dir, 'c.key'), pems.clientprivate!);
    const r = await receiver({ tls: { key: pems.private, cert: pems.cert, clientCa: pems.cert } });
    process.env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] = `${r.url}/custom/path`;
    process.env['OTEL_EXPORTER_OTLP_CERTIFICATE'] = join(dir, 'ca.pem');
    process.env['OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'] = join(dir, 'c.pem');
    process.env['OTEL_EXPORTER_OTLP_CLIENT_KEY'] = join(dir, 'c.key');
    expect((await exporter({}).export(batch(), signal())).failedKeys.size).toBe(0);
    expect(r.paths).toEqual(['/custom/path']);

    delete process.env['OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE'];
    delete process.env['OTEL_EXPORTER_OTLP_CLIENT_KEY'];
    const noCert = await exporter({ retry_on_failure: { enabled: false } }).export(batch(), signal());
    expect(noCert.failedKeys.size).toBe(10);
  });

  it('endpoint rules and status classification', () => {
    expect(metricsUrl('http://c:4318', 'config')).toBe('http://c:4318/v1/metrics');
    expect(metricsUrl('http://c:4318/', 'generic_env')).toBe('http://c:4318/v1/metrics');
    expect(metricsUrl('http://c:4318/x', 'metrics_env')).toBe('http://c:4318/x');
    expect(parseRetryAfterMs('3')).toBe(3000);
    expect(parseRetryAfterMs(new Date(Date.now() + 10_000).toUTCString())).toBeGreaterThan(8000);
    expect(parseRetryAfterMs('soon')).toBeUndefined();
    expect(classifyHttpStatus(504, undefined, '').status).toBe('retryable');
    expect(classifyHttpStatus(413, undefined, '').status).toBe('too_large');
    expect(classifyHttpStatus(401, undefined, '').status).toBe('failed');
    expect(() => otlpHttpExporterFactory.configSchema.parse({ endpoint: 'ftp://x' })).toThrow();
  });
});
