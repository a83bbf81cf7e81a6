// Setup shared by the e2e tests that run receivers against the embedded simulated pool: a simulator with a still
// model (dynamics off), no admin port and no login delay, and a real XapiPool logged in as its read-only user
// (over HTTPS trusting the simulator's CA, or plain HTTP with `tls: false`). The receivers see it as the one pool `sim`.
import { readFileSync } from 'node:fs';
import { createXapiPool } from '../../src/lib/xapi/index.ts';
import type { XapiPool } from '../../src/lib/xapi/types.ts';
import type { Logger } from '../../src/plugin-api/index.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { recordingLogger } from '../core/helpers.ts';

export interface SimulatedPool {
  readonly sim: RunningSimulator;
  /** Started; not yet waited for (`pool.ready(signal)`). */
  readonly pool: XapiPool;
}

export async function startSimulatedPool(
  simulator: Partial<SimulatorOptions>,
  client: { originator: string; maxConcurrentHosts: number; requestTimeoutMs: number },
): Promise<SimulatedPool> {
  const sim = await startSimulator({ dynamics: { enabled: false, meanIntervalSeconds: 60 }, adminPort: null, authFailureDelayMs: 0, ...simulator });
  const user = sim.info.users.find((u) => u.role === 'read-only')!;
  const pool = createXapiPool({
    name: 'sim',
    endpoints: [sim.info.master_url],
    username: user.username,
    password: { reveal: () => user.password },
    tls: sim.info.ca_file === null ? { insecureSkipVerify: false } : { insecureSkipVerify: false, ca: readFileSync(sim.info.ca_file) },
    requestTimeoutMs: client.requestTimeoutMs,
    maxConcurrentHosts: client.maxConcurrentHosts,
    maxResponseBytes: 16 << 20,
    originator: client.originator,
    logger: recordingLogger(),
  });
  try {
    await pool.start(AbortSignal.timeout(10_000));
  } catch (err) {
    await pool.close();
    await sim.stop();
    throw err;
  }
  return { sim, pool };
}

/** A receiver's settings with `pool` as its only pool, `sim`. */
export function receiverSettings(id: string, pool: XapiPool, logger: Logger = recordingLogger()) {
  return { id, logger, clock: Date, pools: { get: () => pool, names: () => ['sim'] } };
}
