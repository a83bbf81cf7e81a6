// One rrd_updates cycle end to end: the receiver's scraper (real XapiPool over HTTPS) → OTLP/gRPC exporter → an
// in-process gRPC sink that acknowledges without decoding. The simulated pools run in a child process
// (`node src/main.ts simulate … --no-dynamics`), so the agent's CPU and memory figures are its own (plus the
// sink's gRPC receive/gunzip, which is small). Run: `node bench/cycle.ts [hosts…]` via npx/npm (Node 24).
// Default sizes: 1, 8 and 64 hosts with 100 VMs each. Time scale 5: one cycle per real second = one 5 s row.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { factory } from '../plugins/rrd_updates/index.ts';
import type { RrdUpdatesScraper } from '../plugins/rrd_updates/scraper.ts';
import { otlpGrpcConfigSchema, otlpGrpcExporterFactory } from '../src/exporters/otlp-grpc/index.ts';
import { createXapiPool } from '../src/lib/xapi/index.ts';
import { countPoints, type Logger } from '../src/plugin-api/index.ts';
import type { SimulatorReadyInfo } from '../src/simulator/api.ts';

const VMS_PER_HOST = 100;
const TIME_SCALE = 5;
const STEADY_CYCLES = 5;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

async function startSink(): Promise<{ port: number; bytes: () => number; stop: () => void }> {
  let bytes = 0;
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 << 20 });
  const passthrough = (b: Buffer) => b;
  server.addService(
    {
      Export: {
        path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: passthrough,
        requestDeserialize: passthrough,
        responseSerialize: () => Buffer.alloc(0), // empty ExportMetricsServiceResponse
        responseDeserialize: passthrough,
      },
    },
    {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        bytes += call.request.length;
        cb(null, Buffer.alloc(0));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, bytes: () => bytes, stop: () => server.forceShutdown() };
}

async function startSimulatorProcess(hosts: number): Promise<{ info: SimulatorReadyInfo; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['src/main.ts', 'simulate', '--hosts', String(hosts), '--vms-per-host', String(VMS_PER_HOST), '--no-dynamics', '--admin-port=-1', '--time-scale', String(TIME_SCALE), '--seed', '7'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const msg = JSON.parse(line) as SimulatorReadyInfo;
    if (msg.event === 'ready') return { info: msg, child };
  }
  throw new Error('simulator exited before it was ready');
}

interface Figures {
  hosts: number;
  wallMs: number[];
  cpuMs: number[];
  points: number[];
  bytes: number[];
  xmlRpc: number[];
  http: number[];
  otlpBytes: number[];
  peakRss: number;
  peakHeap: number;
}

async function run(hosts: number): Promise<Figures> {
  const { info, child } = await startSimulatorProcess(hosts);
  const sink = await startSink();
  const user = info.users.find((u) => u.role === 'read-only')!;
  const pool = createXapiPool({
    name: 'bench',
    endpoints: [info.master_url],
    username: user.username,
    password: { reveal: () => user.password },
    tls: { insecureSkipVerify: false, ca: readFileSync(info.ca_file!) },
    requestTimeoutMs: 30_000,
    maxConcurrentHosts: 8,
    maxResponseBytes: 64 << 20,
    originator: 'xen-otel-agent-bench',
    logger: silent,
  });
  const exporter = otlpGrpcExporterFactory.create({ id: 'otlp', logger: silent }, otlpGrpcConfigSchema.parse({ endpoint: `127.0.0.1:${sink.port}`, tls: { insecure: true } }));
  const figures: Figures = { hosts, wallMs: [], cpuMs: [], points: [], bytes: [], xmlRpc: [], http: [], otlpBytes: [], peakRss: 0, peakHeap: 0 };
  try {
    await pool.start(AbortSignal.timeout(60_000));
    await exporter.start(AbortSignal.timeout(10_000));
    const scraper = factory.createScraper(
      { id: 'rrd_updates', logger: silent, clock: Date, pools: { get: () => pool, names: () => ['bench'] } },
      factory.configSchema.parse({ pools: ['bench'] }),
    ) as RrdUpdatesScraper;
    for (let cycle = 0; cycle <= STEADY_CYCLES; cycle++) {
      const started = Date.now();
      const s0 = pool.stats();
      const o0 = sink.bytes();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await scraper.scrape(AbortSignal.timeout(60_000));
      const outcome = await exporter.export({ scope: { name: 'bench' }, resources: result.batch.resources }, AbortSignal.timeout(60_000));
      result.onDelivery?.({ allDelivered: outcome.failedKeys.size === 0, delivered: (k) => !outcome.failedKeys.has(k) });
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const s1 = pool.stats();
      const mem = process.memoryUsage();
      figures.peakRss = Math.max(figures.peakRss, mem.rss);
      figures.peakHeap = Math.max(figures.peakHeap, mem.heapUsed);
      if (result.errors.length > 0) process.stderr.write(`cycle ${cycle}: ${result.errors.length} item errors (${result.errors[0]!.code})\n`);
      if (cycle > 0) {
        // cycle 0 is the first poll (host.get_servertime per host, a minute of rows, cold caches): not steady
        figures.wallMs.push(wall);
        figures.cpuMs.push((cpu.user + cpu.system) / 1000);
        figures.points.push(countPoints(result.batch));
        figures.bytes.push(s1.httpBytes - s0.httpBytes);
        figures.xmlRpc.push(s1.xmlRpcCalls - s0.xmlRpcCalls);
        figures.http.push(s1.httpRequests - s0.httpRequests);
        figures.otlpBytes.push(sink.bytes() - o0);
      }
      // One cycle per real second (= one 5 s row at time scale 5).
      const wait = 1000 - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  } finally {
    await exporter.shutdown();
    await pool.close();
    sink.stop();
    child.kill('SIGTERM');
  }
  return figures;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

process.stdout.write(`rrd_updates cycle (scrape + OTLP/gRPC export), ${VMS_PER_HOST} VMs per host, median of ${STEADY_CYCLES} steady cycles\n`);
process.stdout.write('hosts | wall ms | cpu ms | points | fetched | otlp bytes | xml-rpc/cycle | http/cycle | peak rss | peak heap\n');
for (const hosts of sizes.length > 0 ? sizes : [1, 8, 64]) {
  const f = await run(hosts);
  process.stdout.write(
    `${String(hosts).padStart(5)} | ${median(f.wallMs).toFixed(0).padStart(7)} | ${median(f.cpuMs).toFixed(0).padStart(6)} | ${String(median(f.points)).padStart(6)} | ${mib(median(f.bytes)).padStart(7)} | ${String(median(f.otlpBytes)).padStart(10)} | ${String(median(f.xmlRpc)).padStart(13)} | ${String(median(f.http)).padStart(10)} | ${mib(f.peakRss).padStart(8)} | ${mib(f.peakHeap).padStart(9)}\n`,
  );
}
