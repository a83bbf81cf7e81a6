import { status } from '@grpc/grpc-js';
import { ValueType } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeResource, encodeScopeField } from '../../src/exporters/otlp-common/proto-encoder.ts';
import { smallResources } from '../../src/exporters/otlp-common/test-support.ts';
import { OtlpGrpcReceiver, OtlpHttpReceiver } from './otlp-receiver.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

const sample: ResourceMetrics = {
  resource: resourceFromAttributes({ 'xen.vm.uuid': 'abc' }),
  scopeMetrics: [
    {
      scope: { name: 'sdk-test' },
      metrics: [
        {
          descriptor: { name: 'm', description: '', unit: '1', valueType: ValueType.DOUBLE },
          aggregationTemporality: AggregationTemporality.CUMULATIVE,
          dataPointType: DataPointType.GAUGE,
          dataPoints: [{ startTime: [0, 0], endTime: [1_763_750_000, 5], attributes: { cpu: '1' }, value: 0.5 }],
        },
      ],
    },
  ],
};

function upstreamExport(url: string, rm: ResourceMetrics): Promise<ExportResult> {
  const exporter = new OTLPMetricExporter({ url });
  cleanup.push(() => exporter.shutdown());
  return new Promise((resolve) => exporter.export(rm, resolve));
}

describe('OtlpGrpcReceiver', () => {
  it('decodes what the upstream OTLPMetricExporter sends, with raw size; flattens to rows', async () => {
    const r = await new OtlpGrpcReceiver().start();
    cleanup.push(() => r.stop());
    expect(r.port).toBeGreaterThan(0);
    const result = await upstreamExport(`http://${r.address}`, sample);
    expect(result.code).toBe(ExportResultCode.SUCCESS);
    expect(r.received).toHaveLength(1);
    expect(r.received[0]!.rawBytes).toBeGreaterThan(50);
    expect(r.rows()).toEqual([
      {
        resource: { 'xen.vm.uuid': 'abc' },
        scope: 'sdk-test',
        metric: 'm',
        unit: '1',
        kind: 'gauge',
        attributes: { cpu: '1' },
        startTimeUnixNano: '0',
        timeUnixNano: '1763750000000000005',
        value: 0.5,
      },
    ]);
  });

  it('failFor: the window opens on the first refused call, however late that call comes', () => {
    vi.useFakeTimers();
    try {
      const plan = { code: status.ABORTED };
      const r = new OtlpGrpcReceiver();
      r.failures.failFor(150, plan);
      vi.advanceTimersByTime(10_000); // a slow client: the first call comes long after failFor
      expect(r.failures.take(0)).toBe(plan);
      vi.advanceTimersByTime(149);
      expect(r.failures.take(0)).toBe(plan);
      vi.advanceTimersByTime(1);
      expect(r.failures.take(0)).toBeNull();
      r.failures.failFor(150, plan);
      r.failures.reset();
      expect(r.failures.take(0)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('answers a chosen code for the next N calls, then accepts; stop/start keeps the port', async () => {
    const r = await new OtlpGrpcReceiver().start();
    cleanup.push(() => r.stop());
    r.failures.failNext(2, { code: status.UNAVAILABLE });
    const url = `http://${r.address}`;
    expect(((await upstreamExport(url, sample)).error as unknown as { code: number }).code).toBe(status.UNAVAILABLE);
    expect(((await upstreamExport(url, sample)).error as unknown as { code: number }).code).toBe(status.UNAVAILABLE);
    expect((await upstreamExport(url, sample)).code).toBe(ExportResultCode.SUCCESS);
    expect(r.calls).toBe(3);
    expect(r.received).toHaveLength(1);

    const port = r.port;
    await r.stop();
    expect(r.listening).toBe(false);
    expect((await upstreamExport(url, sample)).code).toBe(ExportResultCode.FAILED);
    await r.start();
    expect(r.port).toBe(port);
  });
});

describe('OtlpHttpReceiver', () => {
  it('decodes gzip and identity protobuf bodies, records wire and raw sizes, answers failures with Retry-After', async () => {
    const r = await new OtlpHttpReceiver().start();
    cleanup.push(() => r.stop());
    const body = encodeResource(smallResources(1, 2, 3)[0]!, encodeScopeField({ name: 's' }))!.bytes;
    const post = (data: Buffer, headers: Record<string, string> = {}) =>
      fetch(`${r.url}/v1/metrics`, { method: 'POST', body: new Uint8Array(data), headers: { 'content-type': 'application/x-protobuf', ...headers } });
    expect((await post(body)).status).toBe(200);
    expect((await post(gzipSync(body), { 'content-encoding': 'gzip' })).status).toBe(200);
    expect(r.received.map((q) => [q.encoding, q.rawBytes])).toEqual([
      ['identity', body.length],
      ['gzip', body.length],
    ]);
    expect(r.received[1]!.wireBytes).not.toBe(body.length);
    expect(r.points()).toBe(12);

    r.failures.failNext(1, { code: 503, retryAfterMs: 2000 });
    const refused = await post(body);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('2');
    expect(r.received).toHaveLength(2);
  });
});
