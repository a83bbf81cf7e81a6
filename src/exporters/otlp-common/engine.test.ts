import { describe, expect, it } from 'vitest';
import { decodeExportRequest, flattenRequest, rowKey, type MetricRow } from '../../../test/helpers/otlp-receiver.ts';
import type { ResourceMetricsData } from '../../plugin-api/index.ts';
import type { ExportBatch } from '../types.ts';
import { ExportEngine, type EngineOptions, type SendResult, type Transport } from './engine.ts';
import { recordingLogger, smallResources } from './test-support.ts';

const scope = { name: 'xen-otel-agent/test', version: '1' };

function options(overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    maxRequestBytes: 8 * 1024,
    timeoutMs: 1000,
    concurrency: 2,
    serializer: 'native',
    retry: { enabled: false, initialIntervalMs: 1, maxIntervalMs: 1, maxElapsedMs: 1000, multiplier: 1, randomizationFactor: 0 },
    ...overrides,
  };
}

function batchOf(resources: ResourceMetricsData[]): ExportBatch {
  return { scope, resources };
}

/** Rows of a batch as the receiver would see them, for exactly-once comparisons. */
function rowsOf(resources: ResourceMetricsData[]): string[] {
  const rows: string[] = [];
  for (const r of resources) {
    for (const m of r.metrics) {
      for (const s of m.series) {
        for (let i = 0; i < s.values.length; i++) rows.push(`${r.resource['xen.vm.uuid']}|${m.definition.name}|${JSON.stringify(s.attributes)}|${s.timesMs[i]}|${s.values[i]}`);
      }
    }
  }
  return rows.sort();
}

function receivedRow(row: MetricRow): string {
  return `${row.resource['xen.vm.uuid']}|${row.metric}|${JSON.stringify(row.attributes)}|${Number(BigInt(row.timeUnixNano) / 1_000_000n)}|${row.value}`;
}

/**
 * A transport that decodes each body when it is sent (an answered body is freed by the engine), answers with
 * `answer`, and can hold sends until released so a test sees what is encoded while the network is busy.
 */
class ScriptedTransport implements Transport {
  readonly received: MetricRow[] = [];
  readonly bodies: Buffer[] = [];
  /** Copies of the bodies as they were when sent. */
  readonly copies: Buffer[] = [];
  /** Whether each body was the whole of its ArrayBuffer when sent. */
  readonly whole: boolean[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private _held: (() => void)[] | null = null;
  private readonly _answer: (body: Buffer, attempt: number) => SendResult;

  constructor(answer: (body: Buffer, attempt: number) => SendResult = () => ({ status: 'ok' })) {
    this._answer = answer;
  }

  hold(): void {
    this._held = [];
  }

  release(): void {
    const held = this._held ?? [];
    this._held = null;
    for (const go of held) go();
  }

  async send(body: Buffer): Promise<SendResult> {
    this.bodies.push(body);
    this.copies.push(Buffer.from(body));
    this.whole.push(body.byteOffset === 0 && body.byteLength === body.buffer.byteLength);
    const attempt = this.bodies.length;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (this._held) await new Promise<void>((resolve) => this._held!.push(resolve));
    const result = this._answer(body, attempt);
    if (result.status === 'ok') this.received.push(...flattenRequest(decodeExportRequest(body)));
    this.inFlight--;
    return result;
  }

  async shutdown(): Promise<void> {}
}

describe('ExportEngine request buffers', () => {
  it('encodes through one scratch buffer into exact bodies of their own, freed once answered; every row arrives once', async () => {
    // arrange: ~40 requests of up to 8 KiB with 2 consumers
    const resources = smallResources(120, 20, 2);
    const transport = new ScriptedTransport();
    const engine = new ExportEngine(transport, options(), recordingLogger());

    // act: two cycles through the same exporter
    const first = await engine.export(batchOf(resources), AbortSignal.timeout(5000));
    const second = await engine.export(batchOf(resources), AbortSignal.timeout(5000));

    // assert
    expect(first.failedKeys.size + second.failedKeys.size).toBe(0);
    expect(transport.bodies.length).toBeGreaterThan(20);
    expect(engine.requestBuffersCreated()).toBe(1);
    expect(transport.whole.every(Boolean)).toBe(true);
    expect(new Set(transport.bodies.map((b) => b.buffer)).size).toBe(transport.bodies.length);
    for (const body of transport.bodies) expect((body.buffer as ArrayBuffer).detached).toBe(true);
    for (const copy of transport.copies) expect(copy.length).toBeLessThanOrEqual(8 * 1024);
    const expected = rowsOf(resources);
    expect(transport.received.map(receivedRow).sort()).toEqual([...expected, ...expected].sort());
  });

  it('encodes no request ahead of a free send slot, however large the batch (first poll)', async () => {
    // arrange: a first-poll-sized batch relative to the bound (~60 requests) and a network that does not answer
    const resources = smallResources(60, 40, 12);
    const transport = new ScriptedTransport();
    transport.hold();
    const engine = new ExportEngine(transport, options({ concurrency: 3 }), recordingLogger());

    // act
    const pending = engine.export(batchOf(resources), AbortSignal.timeout(5000));
    await new Promise((resolve) => setImmediate(resolve));

    // assert: three requests encoded and sent, nothing else encoded while they are held
    expect(transport.inFlight).toBe(3);
    expect(transport.bodies).toHaveLength(3);
    expect(engine.stats().requests).toBe(3);
    transport.release(); // and stop holding
    const outcome = await pending;
    expect(outcome.failedKeys.size).toBe(0);
    expect(transport.bodies.length).toBeGreaterThan(30);
    expect(engine.requestBuffersCreated()).toBe(1);
    expect(transport.received.map(receivedRow).sort()).toEqual(rowsOf(resources));
  });

  it('never frees a body whose send failed or was retried: it may still be read by an abandoned attempt', async () => {
    // arrange: the first request fails (as a timeout would), the second is retried once, the rest succeed
    const resources = smallResources(80, 20, 2);
    const transport = new ScriptedTransport((_body, attempt) =>
      attempt === 1 ? { status: 'failed', code: 'EXPORT_ERR_TEST_TIMEOUT', error: new Error('timeout') } : attempt === 2 ? { status: 'retryable', code: 'EXPORT_ERR_TEST_UNAVAILABLE', error: new Error('unavailable') } : { status: 'ok' },
    );
    const retry = { enabled: true, initialIntervalMs: 1, maxIntervalMs: 1, maxElapsedMs: 5000, multiplier: 1, randomizationFactor: 0 };
    const engine = new ExportEngine(transport, options({ concurrency: 1, retry }), recordingLogger());
    const copies = transport.copies;

    // act
    const outcome = await engine.export(batchOf(resources), AbortSignal.timeout(5000));

    // assert: the failed and the retried bodies still hold what was sent; the answered ones were freed
    expect(transport.bodies[0]!.equals(copies[0]!)).toBe(true);
    expect(transport.bodies[1]!.equals(copies[1]!)).toBe(true);
    expect(transport.bodies[1]!.buffer).toBe(transport.bodies[2]!.buffer); // the retry resends the same bytes
    expect(transport.bodies.slice(3).every((b) => (b.buffer as ArrayBuffer).detached)).toBe(true);
    const failedRows = flattenRequest(decodeExportRequest(copies[0]!));
    expect(outcome.failedKeys).toEqual(new Set(failedRows.map((r) => `vm:${String(r.resource['xen.vm.uuid']).slice('uuid-'.length)}`)));
    expect([...transport.received.map(receivedRow), ...failedRows.map(receivedRow)].sort()).toEqual(rowsOf(resources));
  });

  it('a request refused as too large is split into views of the same bytes: every row once, none lost', async () => {
    // arrange: the server takes at most 3 KiB
    const resources = smallResources(40, 10, 3);
    const transport = new ScriptedTransport((body) => (body.length > 3 * 1024 ? { status: 'too_large', code: 'EXPORT_ERR_TEST_TOO_LARGE', error: new Error('too large') } : { status: 'ok' }));
    const engine = new ExportEngine(transport, options(), recordingLogger());

    // act
    const outcome = await engine.export(batchOf(resources), AbortSignal.timeout(5000));

    // assert
    expect(outcome.failedKeys.size).toBe(0);
    const rows = transport.received.map(receivedRow);
    expect(new Set(rows).size).toBe(rows.length);
    expect(rows.sort()).toEqual(rowsOf(resources));
  });

  it('a resource larger than the bound goes out in slices, each in the bound', async () => {
    const resources = smallResources(3, 400, 3);
    const transport = new ScriptedTransport();
    const engine = new ExportEngine(transport, options(), recordingLogger());
    const outcome = await engine.export(batchOf(resources), AbortSignal.timeout(5000));
    expect(outcome.failedKeys.size).toBe(0);
    for (const copy of transport.copies) expect(copy.length).toBeLessThanOrEqual(8 * 1024);
    expect(transport.received.map(receivedRow).sort()).toEqual(rowsOf(resources));
    expect(new Set(transport.received.map(rowKey)).size).toBe(transport.received.length);
  });
});

describe('ExportEngine encoding failures', () => {
  /** A series whose values throw when read (written), or whose attributes throw when listed (measured). */
  function poisoned(key: string, where: 'write' | 'measure'): ResourceMetricsData {
    const good = smallResources(1, 2, 2)[0]!;
    const metric = good.metrics[0]!;
    const values = where === 'write' ? { length: 2, get 0(): number { throw new Error('bad value'); }, 1: 1 } : [1, 2];
    const attributes = where === 'measure' ? new Proxy({}, { ownKeys: () => { throw new Error('bad attributes'); } }) : { device: 'x' };
    return { ...good, key, metrics: [{ ...metric, series: [{ attributes, timesMs: metric.series[0]!.timesMs, values }] }] };
  }

  it.each(['native', 'upstream'] as const)('%s: a resource that fails to encode is reported undelivered; the others ship, before and after it', async (serializer) => {
    // arrange: bad resources in the middle of requests
    const good = smallResources(60, 20, 2);
    const resources = [...good.slice(0, 20), poisoned('vm:bad-write', 'write'), ...good.slice(20, 40), poisoned('vm:bad-measure', 'measure'), ...good.slice(40)];
    const transport = new ScriptedTransport();
    const log = recordingLogger();
    const engine = new ExportEngine(transport, options({ serializer }), log);

    // act
    const outcome = await engine.export(batchOf(resources), AbortSignal.timeout(5000));

    // assert
    expect(outcome.failedKeys).toEqual(new Set(['vm:bad-write', 'vm:bad-measure']));
    expect(outcome.droppedPoints).toBe(4);
    expect(transport.received.map(receivedRow).sort()).toEqual(rowsOf(good));
    expect(log.entries.filter((e) => e.level === 'warn').map((e) => (e.obj as { code?: string }).code)).toEqual(['EXPORT_ERR_INTERNAL']);
  });
});
