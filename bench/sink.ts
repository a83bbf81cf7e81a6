// The OTLP/gRPC sink of `npm run bench`, run as a *separate process* (forked by bench/harness.ts) so that its gRPC
// receive, gunzip and socket work never shows in the agent's CPU or memory figures.
//
// A raw-buffer MetricsService/Export handler (no protobuf decode: the fastest possible collector) behind a TCP
// pass-through that counts the bytes the agent actually put on the wire (HTTP/2 frames of gzip-compressed
// requests); grpc-js hands the handler the request after decompression, which gives the uncompressed size.
// Protocol with the parent (IPC): it sends `{ port }` once listening, and answers `{ stats: true }` with Stats.

import * as grpc from '@grpc/grpc-js';
import { createConnection, createServer, type Socket } from 'node:net';

export interface SinkStats {
  /** Export calls answered. */
  calls: number;
  /** Request bytes after decompression (the protobuf ExportMetricsServiceRequest). */
  bytes: number;
  /** Bytes received from the agent on the TCP connection (compressed bodies + HTTP/2 framing). */
  wireBytes: number;
  /** CPU seconds of the sink process (user + system). */
  cpuSeconds: number;
}

export async function runSink(): Promise<void> {
  const stats: SinkStats = { calls: 0, bytes: 0, wireBytes: 0, cpuSeconds: 0 };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  const passthrough = (b: Buffer): Buffer => b;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: passthrough,
        requestDeserialize: passthrough,
        responseSerialize: passthrough,
        responseDeserialize: passthrough,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        stats.calls++;
        stats.bytes += call.request.length;
        cb(null, Buffer.alloc(0)); // empty ExportMetricsServiceResponse = full success
      },
    },
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const proxy = createServer((client: Socket) => {
    const upstream = createConnection({ host: '127.0.0.1', port: grpcPort });
    client.on('data', (chunk: Buffer) => {
      stats.wireBytes += chunk.length;
    });
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  if (address === null || typeof address === 'string') throw new Error('sink proxy has no port');
  process.on('message', (m: { stats?: boolean }) => {
    if (!m.stats) return;
    const cpu = process.cpuUsage();
    stats.cpuSeconds = (cpu.user + cpu.system) / 1e6;
    process.send!(stats);
  });
  process.on('disconnect', () => {
    proxy.close();
    server.forceShutdown();
    process.exit(0);
  });
  process.send!({ port: address.port });
}
