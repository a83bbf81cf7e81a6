// Export bench: a synthetic pool batch (64 hosts + 6,400 VMs, ~300k points at 1 row per series; and a 12-row
// variant) through the real `otlp` exporter to an OTLP/gRPC receiver running in a *child process*, so the CPU
// figures below are the agent side only. Also times serialisation alone for both encoders.
//
//   node bench/export.ts [--rows 1,12] [--serializer native,upstream] [--runs 3]
//
// The child is the sink of `npm run bench` (bench/sink.ts, forked through bench/run.ts --sink): a raw-buffer gRPC
// sink (no decode: counts bytes and calls), the fastest possible collector.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { otlpGrpcExporterFactory, type OtlpMetricsExporter } from '../src/exporters/otlp-grpc/index.ts';
import { encodeResourceBounded, encodeScopeField } from '../src/exporters/otlp-common/proto-encoder.ts';
import { encodeResourceBoundedUpstream } from '../src/exporters/otlp-common/sdk-encoder.ts';
import { batchPoints, syntheticBatch } from '../src/exporters/otlp-common/synthetic.ts';
import { recordingLogger } from '../src/exporters/otlp-common/test-support.ts';
import type { ExportBatch } from '../src/exporters/types.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function serialiseOnly(batch: ExportBatch, serializer: 'native' | 'upstream'): { cpu: number; bytes: number; gzip: number; fragments: number } {
  const scopeField = encodeScopeField(batch.scope);
  const max = 3 * 1024 * 1024;
  const t = process.cpuUsage();
  let bytes = 0;
  let fragments = 0;
  const all: Buffer[] = [];
  for (const rm of batch.resources) {
    const parts = serializer === 'native' ? encodeResourceBounded(rm, scopeField, max) : encodeResourceBoundedUpstream(rm, batch.scope, max);
    for (const p of parts) {
      bytes += p.bytes.length;
      fragments++;
      all.push(p.bytes);
    }
  }
  const cpu = cpuSeconds(t);
  const gzip = gzipSync(Buffer.concat(all)).length;
  return { cpu, bytes, gzip, fragments };
}

async function request(child: ChildProcess): Promise<{ calls: number; bytes: number }> {
  child.send({ stats: true });
  const [msg] = (await once(child, 'message')) as [{ calls: number; bytes: number }];
  return msg;
}

async function main(): Promise<void> {
  const rowsList = arg('rows', '1,12').split(',').map(Number);
  const serializers = arg('serializer', 'native,upstream').split(',') as ('native' | 'upstream')[];
  const runs = Number(arg('runs', '3'));
  const child = fork(fileURLToPath(new URL('./run.ts', import.meta.url)), ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ port }] = (await once(child, 'message')) as [{ port: number }];
  console.log(`node ${process.version}, sink pid ${child.pid} on 127.0.0.1:${port}`);

  try {
    for (const rows of rowsList) {
      const batch = syntheticBatch({ hosts: 64, vmsPerHost: 100, rows });
      const points = batchPoints(batch);
      console.log(`\n== ${batch.resources.length} resources, ${points} points (${rows} row(s) per series) ==`);
      for (const serializer of serializers) {
        for (let run = 1; run <= runs; run++) {
          const s = serialiseOnly(batch, serializer);
          console.log(
            `serialise ${serializer.padEnd(8)} run ${run}: cpu ${s.cpu.toFixed(3)} s, ${(s.bytes / 2 ** 20).toFixed(1)} MiB raw ` +
              `(${(s.bytes / points).toFixed(1)} B/pt), gzip ${(s.gzip / 2 ** 20).toFixed(1)} MiB, ${s.fragments} fragments`,
          );
        }
        for (const compression of ['gzip', 'none'] as const) {
          for (let run = 1; run <= runs; run++) {
            const exporter = otlpGrpcExporterFactory.create(
              { id: 'otlp/bench', logger: recordingLogger() },
              otlpGrpcExporterFactory.configSchema.parse({ endpoint: `http://127.0.0.1:${port}`, compression, serializer, timeout: '60s' }),
            ) as OtlpMetricsExporter;
            await exporter.start(AbortSignal.timeout(1000));
            const before = await request(child);
            const t = process.cpuUsage();
            const wall = performance.now();
            const outcome = await exporter.export(batch, AbortSignal.timeout(120_000));
            const wallS = (performance.now() - wall) / 1000;
            const cpu = cpuSeconds(t);
            const after = await request(child);
            const st = exporter.stats();
            await exporter.shutdown();
            console.log(
              `export ${serializer.padEnd(8)} ${compression.padEnd(4)} run ${run}: cpu ${cpu.toFixed(3)} s, wall ${wallS.toFixed(3)} s, ` +
                `${st.requests} requests, ${(st.requestBytes / 2 ** 20).toFixed(1)} MiB uncompressed, ` +
                `${Math.round(points / wallS).toLocaleString('en')} points/s, failed ${outcome.failedKeys.size}, ` +
                `sink saw ${after.calls - before.calls} calls / ${((after.bytes - before.bytes) / 2 ** 20).toFixed(1)} MiB`,
            );
          }
        }
      }
    }
  } finally {
    child.kill();
  }
}

await main();
