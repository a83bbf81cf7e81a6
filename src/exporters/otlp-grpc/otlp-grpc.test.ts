import { status } from '@grpc/grpc-js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { OtlpGrpcReceiver, rowKey, startByteCountingProxy } from '../../../test/helpers/otlp-receiver.ts';
import type { ExportBatch } from '../types.ts';
import { FAST_RETRY, exporterTestBed } from '../otlp-common/exporter-test-bed.ts';
import { recordingLogger, smallResources } from '../otlp-common/test-support.ts';
import { otlpGrpcExporterFactory } from './index.ts';
import { classifyGrpcError } from './transport.ts';

const bed = exporterTestBed(otlpGrpcExporterFactory, 'otlp/test');
const receiver = (options?: ConstructorParameters<typeof OtlpGrpcReceiver>[0]): Promise<OtlpGrpcReceiver> => bed.receiver(new OtlpGrpcReceiver(options));
const exporter = bed.exporter;

function batch(resources = smallResources(10, 5, 3)): ExportBatch {
  return { scope: { name: 'xen-otel-agent/test', version: '1.2.3' }, resources };
}

const signal = (): AbortSignal => AbortSignal.timeout(20_000);

function expectExactlyOnce(r: OtlpGrpcReceiver, b: ExportBatch): void {
  const expected = b.resources.reduce((n, rm) => n + rm.metrics.reduce((m, x) => m + x.series.reduce((k, s) => k + s.values.length, 0), 0), 0);
  const keys = r.rows().map(rowKey);
  expect(keys.length).toBe(expected);
  expect(new Set(keys).size).toBe(expected);
}

describe('otlp (gRPC) exporter', () => {
  it('sends one resource per entity, packed into requests under max_request_bytes, with exact ns timestamps', async () => {
    const r = await receiver();
    const e = exporter({ endpoint: `http://${r.address}`, max_request_bytes: 4096 });
    const b = batch(smallResources(40, 6, 2));
    const outcome = await e.export(b, signal());
    expect(outcome.failedKeys.size).toBe(0);
    expect(outcome.droppedPoints).toBe(0);
    expect(r.received.length).toBeGreaterThan(1);
    for (const req of r.received) {
      expect(req.rawBytes).toBeLessThanOrEqual(4096);
      expect(req.request.resourceMetrics.length).toBeGreaterThan(1);
    }
    const resources = r.received.flatMap((q) => q.request.resourceMetrics);
    expect(resources).toHaveLength(40);
    expect(new Set(resources.map((rm) => rm.resource.attributes.find((a) => a.key === 'xen.vm.uuid')?.value.stringValue)).size).toBe(40);
    expect(resources[0]!.scopeMetrics[0]!.scope).toMatchObject({ name: 'xen-otel-agent/test', version: '1.2.3' });
    const rows = r.rows();
    expect(rows).toHaveLength(40 * 6 * 2);
    const first = rows.find((row) => row.resource['xen.vm.uuid'] === 'uuid-3' && row.attributes['device'] === 'd2')!;
    expect(first).toMatchObject({ metric: 'test.gauge', unit: 'By', kind: 'gauge', timeUnixNano: '1763750000123000000', value: 3002 });
    expect(rows.filter((row) => row.timeUnixNano === '1763750005123000000')).toHaveLength(240);
    expect(e.stats()).toMatchObject({ requests: r.received.length, pointsSent: 480, pointsDropped: 0, retries: 0 });
  });

  it('hands each request to grpc-js without a copy, and frees it as soon as it is answered', async () => {
    const r = await receiver();
    const e = exporter({ endpoint: `http://${r.address}`, max_request_bytes: 8192 });
    // Upstream's transport wraps the request with `Buffer.from(data)`: a view for an ArrayBuffer, a copy (freed only
    // by a full GC) for a Uint8Array.
    const wrapped: unknown[] = [];
    const from = Buffer.from.bind(Buffer) as (...args: unknown[]) => Buffer;
    const spy = vi.spyOn(Buffer, 'from').mockImplementation(((...args: unknown[]) => {
      wrapped.push(args[0]);
      return from(...args);
    }) as never);
    try {
      expect((await e.export(batch(smallResources(40, 6, 2)), signal())).failedKeys.size).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(r.received.length).toBeGreaterThan(1);
    // (The engine wraps each request's ArrayBuffer too, when it makes it.)
    const requests = new Set(wrapped.filter((x): x is ArrayBuffer => x instanceof ArrayBuffer));
    expect(requests.size).toBe(r.received.length);
    for (const request of requests) expect(request.detached).toBe(true);
    const sizes = new Set(r.received.map((q) => q.rawBytes));
    expect(wrapped.filter((x) => x instanceof Uint8Array && sizes.has(x.length))).toEqual([]);
    expect(r.rows()).toHaveLength(40 * 6 * 2);
  });

  it('writes sums with start time, cumulative and monotonic, and int values', async () => {
    const r = await receiver();
    const e = exporter({ endpoint: `http://${r.address}` });
    const b: ExportBatch = {
      scope: { name: 's' },
      resources: [
        {
          key: 'host:1',
          resource: { 'host.id': '1' },
          metrics: [
            {
              definition: { name: 'c', description: '', unit: '{op}', kind: 'sum', valueType: 'int', monotonic: true, attributes: [], enabledByDefault: true },
              series: [{ attributes: {}, timesMs: [1_700_000_000_000], values: [-5], startTimeMs: 1_600_000_000_001 }],
            },
          ],
        },
      ],
    };
    await e.export(b, signal());
    const metric = r.received[0]!.request.resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
    expect(metric.sum).toMatchObject({ aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', isMonotonic: true });
    expect(metric.sum!.dataPoints[0]).toMatchObject({ startTimeUnixNano: '1600000000001000000', timeUnixNano: '1700000000000000000', asInt: '-5' });
  });

  it('gzips by default (fewer bytes on the wire than decoded) and sends headers as metadata; none sends it raw', async () => {
    const r = await receiver();
    const proxy = await startByteCountingProxy(r.port);
    try {
      const b = batch(smallResources(50, 10, 4));
      const gz = exporter({ endpoint: `http://127.0.0.1:${proxy.port}`, headers: { 'x-tenant': 'pool-a' } });
      await gz.export(b, signal());
      const raw = r.received[0]!.rawBytes;
      expect(r.received).toHaveLength(1);
      expect(r.received[0]!.headers['x-tenant']).toBe('pool-a');
      expect(proxy.bytesUp()).toBeLessThan(raw / 2);
      await gz.shutdown();
      const before = proxy.bytesUp();
      const plain = exporter({ endpoint: `http://127.0.0.1:${proxy.port}`, compression: 'none' });
      await plain.export(b, signal());
      expect(r.received.at(-1)!.rawBytes).toBe(raw);
      expect(proxy.bytesUp() - before).toBeGreaterThan(raw);
    } finally {
      await proxy.close();
    }
  });

  it('the upstream serializer fallback delivers the same rows', async () => {
    const r = await receiver();
    const b = batch(smallResources(30, 4, 3));
    await exporter({ endpoint: `http://${r.address}`, max_request_bytes: 4096 }).export(b, signal());
    const native = r.rows().map(rowKey).sort();
    const nativeValues = r.rows().map((x) => `${rowKey(x)}=${x.value}`).sort();
    r.received.length = 0;
    await exporter({ endpoint: `http://${r.address}`, max_request_bytes: 4096, serializer: 'upstream' }).export(b, signal());
    for (const q of r.received) expect(q.rawBytes).toBeLessThanOrEqual(4096);
    expect(r.rows().map(rowKey).sort()).toEqual(native);
    expect(r.rows().map((x) => `${rowKey(x)}=${x.value}`).sort()).toEqual(nativeValues);
  });

  describe('TLS', () => {
    let dir: string;
    let pems: Awaited<ReturnType<typeof generate>>;
    beforeAll(async () => {
      pems = await generate([{ name: 'commonName', value: 'otlp-test' }], {
        keyType: 'ec',
        algorithm: 'sha256',
        extensions: [
          { name: 'basicConstraints', cA: true },
          { name: 'keyUsage', digitalSignature: true, keyCertSign: true, keyEncipherment: true },
          { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
          { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'collector.test' }] },
        ],
        clientCertificate: { cn: 'agent', keyType: 'ec', algorithm: 'sha256' },
      });
      dir = mkdtempSync(join(tmpdir(), 'otlp-tls-'));
      writeFileSync(join(dir, 'ca.pem'), pems.cert);
      writeFileSync(join(dir, 'client.pem'), pems.clientcert!);
      writeFileSync(join(dir, 'client.key'), pems.clientprivate!);
    });

    it('connects over TLS with a CA file and checks server_name', async () => {
      const r = await receiver({ tls: { key: pems.private, cert: pems.cert } });
      const e = exporter({ endpoint: r.address, tls: { ca_file: join(dir, 'ca.pem') } });
      expect((await e.export(batch(), signal())).failedKeys.size).toBe(0);
      expect(r.received).toHaveLength(1);

      const named = exporter({ endpoint: r.address, tls: { ca_file: join(dir, 'ca.pem'), server_name: 'collector.test' } });
      expect((await named.export(batch(), signal())).failedKeys.size).toBe(0);
      const wrong = exporter({ endpoint: r.address, tls: { ca_file: join(dir, 'ca.pem'), server_name: 'other.test' }, retry_on_failure: { enabled: false } });
      expect((await wrong.export(batch(), signal())).failedKeys.size).toBe(10);
    });

    it('mTLS: delivers with a client certificate, fails without one', async () => {
      const r = await receiver({ tls: { key: pems.private, cert: pems.cert, clientCa: pems.cert } });
      const withCert = exporter({
        endpoint: r.address,
        tls: { ca_file: join(dir, 'ca.pem'), cert_file: join(dir, 'client.pem'), key_file: join(dir, 'client.key') },
      });
      expect((await withCert.export(batch(), signal())).failedKeys.size).toBe(0);
      const without = exporter({ endpoint: r.address, tls: { ca_file: join(dir, 'ca.pem') }, retry_on_failure: { enabled: false } });
      const outcome = await without.export(batch(), signal());
      expect(outcome.failedKeys.size).toBe(10);
      expect(r.received).toHaveLength(1);
    });

    it('takes endpoint, CA and client certificate from OTEL_EXPORTER_OTLP_* variables', async () => {
      const r = await receiver({ tls: { key: pems.private, cert: pems.cert, clientCa: pems.cert } });
      process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://127.0.0.1:1'; // loses to the _METRICS_ variant
      process.env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] = `https://${r.address}`;
      process.env['OTEL_EXPORTER_OTLP_CERTIFICATE'] = join(dir, 'ca.pem');
      process.env['OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE'] = join(dir, 'client.pem');
      process.env['OTEL_EXPORTER_OTLP_CLIENT_KEY'] = join(dir, 'client.key');
      process.env['OTEL_EXPORTER_OTLP_HEADERS'] = 'x-from-env=a,x-both=env';
      process.env['OTEL_EXPORTER_OTLP_METRICS_COMPRESSION'] = 'none';
      const e = exporter({ headers: { 'x-both': 'config' } });
      expect((await e.export(batch(), signal())).failedKeys.size).toBe(0);
      expect(r.received[0]!.headers).toMatchObject({ 'x-from-env': 'a', 'x-both': 'config' });
      expect(r.received[0]!.encoding).toBe('identity');
    });
  });

  it('retries UNAVAILABLE: every point arrives exactly once', async () => {
    const r = await receiver();
    r.failures.failNext(3, { code: status.UNAVAILABLE });
    const e = exporter({ endpoint: `http://${r.address}`, max_request_bytes: 2048, retry_on_failure: FAST_RETRY, sending_queue: { num_consumers: 2 } });
    const b = batch(smallResources(20, 5, 2));
    const outcome = await e.export(b, signal());
    expect(outcome.failedKeys.size).toBe(0);
    expectExactlyOnce(r, b);
    expect(e.stats().retries).toBe(3);
    expect(r.calls).toBe(r.received.length + 3);
  });

  it('retries UNAVAILABLE for a time window and DEADLINE_EXCEEDED-class codes', async () => {
    const r = await receiver();
    // The window opens on the first refused call (see FailureSwitch.failFor), so at least that call is retried
    // however slowly the client connects; FAST_RETRY's backoff leaves the exporter seconds past the window.
    r.failures.failFor(150, { code: status.ABORTED });
    const e = exporter({ endpoint: `http://${r.address}`, retry_on_failure: FAST_RETRY });
    const b = batch();
    expect((await e.export(b, signal())).failedKeys.size).toBe(0);
    expectExactlyOnce(r, b);
    expect(e.stats().retries).toBeGreaterThan(0);
    expect(r.calls - r.received.length).toBe(e.stats().retries);
  });

  it('survives a receiver that is down, then comes back: no loss, no duplicates', async () => {
    const r = await receiver();
    await r.stop();
    const e = exporter({ endpoint: `http://${r.address}`, retry_on_failure: { initial_interval: '20ms', max_interval: '200ms', max_elapsed_time: '15s' } });
    const b = batch(smallResources(12, 4, 2));
    const pending = e.export(b, signal());
    // Come back once the exporter has retried at least twice against the closed port.
    const deadline = Date.now() + 10_000;
    while (e.stats().retries < 2 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(e.stats().retries).toBeGreaterThanOrEqual(2);
    await r.start();
    const outcome = await pending;
    expect(outcome.failedKeys.size).toBe(0);
    expectExactlyOnce(r, b);
  });

  it('past the retry deadline: names the failed keys, counts dropped points, logs once per episode, never rejects', async () => {
    const r = await receiver();
    r.failures.failFor(60_000, { code: status.UNAVAILABLE });
    const log = recordingLogger();
    const e = exporter(
      { endpoint: `http://${r.address}`, max_request_bytes: 2048, retry_on_failure: { initial_interval: '10ms', max_interval: '20ms', max_elapsed_time: '100ms' } },
      log,
    );
    const b = batch(smallResources(8, 5, 2));
    const first = await e.export(b, signal());
    expect([...first.failedKeys].sort()).toEqual(b.resources.map((x) => x.key).sort());
    expect(first.droppedPoints).toBe(80);
    const second = await e.export(b, signal());
    expect(second.droppedPoints).toBe(80);
    expect(e.stats()).toMatchObject({ pointsDropped: 160, pointsSent: 0 });
    expect(e.stats().retries).toBeGreaterThan(0);
    expect(log.entries.filter((x) => x.level === 'warn')).toHaveLength(1);
    expect(log.entries.find((x) => x.level === 'warn')!.obj).toMatchObject({ code: 'EXPORT_ERR_GRPC_UNAVAILABLE' });

    r.failures.reset();
    const third = await e.export(b, signal());
    expect(third.failedKeys.size).toBe(0);
    expect(log.entries.filter((x) => x.msg === 'otlp export recovered')).toHaveLength(1);
  });

  it('does not retry non-retryable codes', async () => {
    const r = await receiver();
    r.failures.failNext(1, { code: status.INVALID_ARGUMENT });
    const e = exporter({ endpoint: `http://${r.address}`, retry_on_failure: FAST_RETRY });
    const outcome = await e.export(batch(smallResources(3, 1, 1)), signal());
    expect(outcome.failedKeys.size).toBe(3);
    expect(e.stats()).toMatchObject({ retries: 0, requests: 1, failures: 1 });
  });

  it('RESOURCE_EXHAUSTED without RetryInfo halves the request until it fits', async () => {
    const r = await receiver();
    const limit = 3000;
    r.failures.failWhen((bytes) => (bytes > limit ? { code: status.RESOURCE_EXHAUSTED, message: 'too big' } : null));
    const e = exporter({ endpoint: `http://${r.address}`, max_request_bytes: 16_384, retry_on_failure: FAST_RETRY });
    // 12 small resources and one resource much larger than the server limit (split by points on the way).
    const big = smallResources(1, 40, 6).map((x) => ({ ...x, key: 'vm:big', resource: { 'xen.vm.uuid': 'big' } }));
    const b = batch([...smallResources(12, 4, 2), ...big]);
    const outcome = await e.export(b, signal());
    expect(outcome.failedKeys.size).toBe(0);
    for (const q of r.received) expect(q.rawBytes).toBeLessThanOrEqual(limit);
    expectExactlyOnce(r, b);
    expect(e.stats().retries).toBe(0);
  });

  it('RESOURCE_EXHAUSTED with RetryInfo waits and retries the same request', async () => {
    const r = await receiver();
    r.failures.failNext(1, { code: status.RESOURCE_EXHAUSTED, retryAfterMs: 30 });
    const e = exporter({ endpoint: `http://${r.address}`, retry_on_failure: FAST_RETRY });
    const b = batch();
    expect((await e.export(b, signal())).failedKeys.size).toBe(0);
    expect(e.stats().retries).toBe(1);
    expect(r.received).toHaveLength(1);
    expectExactlyOnce(r, b);
  });

  it('keeps at most sending_queue.num_consumers requests in flight', async () => {
    const r = await receiver();
    r.hold();
    const e = exporter({ endpoint: `http://${r.address}`, max_request_bytes: 1024, sending_queue: { num_consumers: 3 } });
    const b = batch(smallResources(30, 4, 2));
    const pending = e.export(b, signal());
    await r.waitFor(() => r.inFlight === 3);
    // Nothing else arrives while the three are held (the other calls are queued in the exporter).
    const second = e.export(batch(smallResources(5, 1, 1)), signal());
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.inFlight).toBe(3);
    r.release();
    await Promise.all([pending, second]);
    expect(r.maxInFlight).toBe(3);
    expect(e.maxConcurrentRequests()).toBe(3);
    expect(r.points()).toBe(30 * 4 * 2 + 5);
  });

  it('export after shutdown fails every key without network; shutdown is idempotent and safe without start', async () => {
    const e = exporter({ endpoint: 'http://127.0.0.1:1' });
    await e.shutdown();
    await e.shutdown();
    const outcome = await e.export(batch(smallResources(2, 1, 3)), signal());
    expect(outcome).toEqual({ failedKeys: new Set(['vm:0', 'vm:1']), droppedPoints: 6 });
  });

  it('classifies gRPC errors per the OTLP spec', () => {
    expect(classifyGrpcError({ code: status.UNAVAILABLE }).status).toBe('retryable');
    expect(classifyGrpcError({ code: status.DATA_LOSS }).status).toBe('retryable');
    expect(classifyGrpcError({ code: status.PERMISSION_DENIED }).status).toBe('failed');
    expect(classifyGrpcError(new Error('Concurrent export limit reached'))).toMatchObject({ status: 'failed', code: 'EXPORT_ERR_GRPC_CLIENT' });
  });

  it('config: defaults and validation', () => {
    const parsed = otlpGrpcExporterFactory.configSchema.parse({});
    expect(parsed).toMatchObject({
      max_request_bytes: 1024 * 1024,
      retry_on_failure: { enabled: true, initial_interval: 1000, max_interval: 10_000, max_elapsed_time: 60_000 },
      sending_queue: { num_consumers: 4 },
      serializer: 'native',
    });
    expect(otlpGrpcExporterFactory.configSchema.parse({ timeout: '2.5s' }).timeout).toBe(2500);
    expect(() => otlpGrpcExporterFactory.configSchema.parse({ timeout: '5 parsecs' })).toThrow(/invalid duration/);
    expect(() => otlpGrpcExporterFactory.configSchema.parse({ tls: { cert_file: 'a' } })).toThrow(/cert_file and key_file/);
    expect(() => otlpGrpcExporterFactory.configSchema.parse({ compression: 'zstd' })).toThrow();
    expect(() => otlpGrpcExporterFactory.configSchema.parse({ nope: 1 })).toThrow();
  });
});
