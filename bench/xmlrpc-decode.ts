// What decoding one big XML-RPC answer costs (issue #6, the inventory peak): `VM.get_all_records` of a simulated
// 64-host / 6,400-VM pool (47 MB of xapi's XML, from the simulator's own encoder), decoded three ways, each in a
// fresh child process so that one way's heap and RSS high-water mark do not leak into the next:
//
//   old       the `xmlrpc` package's SAX deserializer + structuredClone, on the whole body (the decoder before)
//   whole     the incremental decoder (src/lib/xapi/xmlrpc-decoder.ts), the whole body in one write()
//   streamed  the incremental decoder fed 64 KiB chunks as they come off a socket (read from a file here, a fresh
//             buffer each), with the projection pool.ts passes for VM.get_all_records; the body is never whole
//
// Per way: wall and CPU ms of the decode (for old/whole the body is read before the clock starts), MB/s, peak RSS
// above the child's RSS before the body was read (getrusage maxRSS delta; old/whole include the 47 MB body they
// need), and heapUsed after GC with the decoded result kept, above the same baseline. Nothing is asserted.
//
//   npx node bench/xmlrpc-decode.ts [--hosts 64] [--vms-per-host 100] [--json]

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INVENTORY_CLASSES } from '../src/lib/xapi/records.ts';
import { referenceDecode } from '../src/lib/xapi/testing/reference-decoder.ts';
import { XmlRpcResponseDecoder, type XmlRpcValue } from '../src/lib/xapi/xmlrpc-decoder.ts';

export type DecodeMode = 'old' | 'whole' | 'streamed';

export interface DecodeBenchResult {
  mode: DecodeMode;
  bodyBytes: number;
  records: number;
  wallMs: number;
  cpuMs: number;
  mbPerSecond: number;
  /** maxRSS after the decode minus RSS before the body was read, MiB. */
  peakRssMiB: number;
  /** heapUsed after GC with the result kept, minus heapUsed before the body was read, MiB. */
  heapAfterGcMiB: number;
}

const MODES: readonly DecodeMode[] = ['old', 'whole', 'streamed'];
const CHUNK_BYTES = 64 * 1024;
const MiB = 1024 * 1024;

/** Generates the body once, then decodes it each way in its own child process. */
export async function runXmlRpcDecodeBench(options: { hosts?: number; vmsPerHost?: number } = {}): Promise<DecodeBenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'xmlrpc-decode-'));
  const file = join(dir, 'VM.get_all_records.xml');
  try {
    // The simulator is only loaded here, in the parent: the children load nothing but the decoders.
    const { simulatedPoolBodies } = await import('../src/lib/xapi/testing/simulated-bodies.ts');
    writeFileSync(file, simulatedPoolBodies({ hosts: options.hosts ?? 64, vmsPerHost: options.vmsPerHost ?? 100 }).allRecords('VM'));
    const results: DecodeBenchResult[] = [];
    for (const mode of MODES) {
      const child = fork(fileURLToPath(import.meta.url), ['--child', mode, file], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const [message] = (await once(child, 'message')) as [DecodeBenchResult];
      await once(child, 'exit');
      results.push(message);
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function decodeInChild(mode: DecodeMode, file: string): Promise<DecodeBenchResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run the child with --expose-gc');
  const vmFields = INVENTORY_CLASSES.find((cls) => cls.wire === 'VM')!.fields;
  gc();
  const rssBefore = process.memoryUsage.rss();
  const heapBefore = process.memoryUsage().heapUsed;
  let bodyBytes = 0;
  let wallMs = 0;
  let cpuMs = 0;
  const timed = async (decode: () => XmlRpcValue | Promise<XmlRpcValue>): Promise<XmlRpcValue> => {
    const cpu = process.cpuUsage();
    const start = performance.now();
    const value = await decode();
    wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    cpuMs = (used.user + used.system) / 1000;
    return value;
  };

  let result: XmlRpcValue;
  if (mode === 'streamed') {
    result = await timed(() => {
      const decoder = new XmlRpcResponseDecoder({ recordFields: vmFields });
      const fd = openSync(file, 'r');
      try {
        for (;;) {
          const chunk = Buffer.allocUnsafe(CHUNK_BYTES); // a socket hands out a fresh buffer per chunk
          const read = readSync(fd, chunk, 0, CHUNK_BYTES, null);
          if (read === 0) break;
          bodyBytes += read;
          decoder.write(read === CHUNK_BYTES ? chunk : chunk.subarray(0, read));
        }
      } finally {
        closeSync(fd);
      }
      return decoder.end();
    });
  } else {
    // In its own scope, so only the decoded value outlives the decode.
    result = await (async () => {
      const body = readFileSync(file);
      bodyBytes = body.length;
      return timed(() => {
        if (mode === 'old') return referenceDecode(body);
        const decoder = new XmlRpcResponseDecoder();
        decoder.write(body);
        return decoder.end();
      });
    })();
  }
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const heapAfter = process.memoryUsage().heapUsed;
  const records = Object.keys((result as { Value: Record<string, unknown> }).Value).length;
  return {
    mode,
    bodyBytes,
    records,
    wallMs: Math.round(wallMs),
    cpuMs: Math.round(cpuMs),
    mbPerSecond: Math.round(bodyBytes / 1e6 / (wallMs / 1000)),
    peakRssMiB: Math.round((peakRssBytes - rssBefore) / MiB),
    heapAfterGcMiB: Math.round((heapAfter - heapBefore) / MiB),
  };
}

function printTable(results: readonly DecodeBenchResult[]): void {
  const first = results[0];
  if (first !== undefined) console.log(`VM.get_all_records: ${(first.bodyBytes / 1e6).toFixed(1)} MB, ${first.records} records; one fresh process per way`);
  const header = ['way', 'wall ms', 'CPU ms', 'MB/s', 'peak RSS Δ MiB', 'heap after GC (result kept) MiB'];
  const rows = results.map((r) => [r.mode, String(r.wallMs), String(r.cpuMs), String(r.mbPerSecond), String(r.peakRssMiB), String(r.heapAfterGcMiB)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
}

function argValue(argv: readonly string[], name: string): number | undefined {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : Number(argv[at + 1]);
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  process.send!(await decodeInChild(argv[1] as DecodeMode, argv[2]!));
} else if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await runXmlRpcDecodeBench({ hosts: argValue(argv, '--hosts'), vmsPerHost: argValue(argv, '--vms-per-host') });
  if (argv.includes('--json')) console.log(JSON.stringify(results, null, 2));
  else printTable(results);
}
