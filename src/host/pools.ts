// One XAPI pool object per configured pool that some pipeline's receiver uses, however many receivers share
// it; exposed to receivers as `ReceiverSettings.pools`. A `simulator:` pool starts the embedded simulated
// XCP-ng pool in-process and points a pool object at its master with its CA and a read-only user.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AgentError, Secret, type Logger, type PoolProvider } from '../plugin-api/index.ts';
import type { XapiPool, XapiPoolOptions } from '../lib/xapi/types.ts';
import type { RunningSimulator, SimulatorOptions } from '../simulator/api.ts';
import type { PoolConfig } from '../config/schema.ts';

export const CONFIG_ERR_UNKNOWN_POOL = 'CONFIG_ERR_UNKNOWN_POOL';
export const CONFIG_ERR_CA_FILE = 'CONFIG_ERR_CA_FILE';

export interface PoolDeps {
  createXapiPool(options: XapiPoolOptions): XapiPool;
  startSimulator?(options: Partial<SimulatorOptions>): Promise<RunningSimulator>;
}

export interface PoolManagerOptions {
  readonly configs: Readonly<Record<string, PoolConfig>>;
  /** Only these are opened. */
  readonly used: readonly string[];
  readonly deps: PoolDeps;
  readonly logger: Logger;
  /** `originator` of the XAPI sessions. */
  readonly originator: string;
}

const SIMULATOR_USER = 'xen-otel-agent';

export class PoolManager implements PoolProvider {
  private readonly _o: PoolManagerOptions;
  private readonly _pools = new Map<string, XapiPool>();
  private readonly _simulators: RunningSimulator[] = [];

  constructor(options: PoolManagerOptions) {
    this._o = options;
  }

  /** Starts simulators and creates the pool objects (no XAPI login yet: that is `XapiPool.start`). */
  async open(): Promise<void> {
    for (const name of this._o.used) {
      const config = this._o.configs[name];
      if (!config || this._pools.has(name)) continue;
      const log = this._o.logger.child({ pool: name });
      this._pools.set(name, this._o.deps.createXapiPool({ ...(await this._poolOptions(name, config, log)), logger: this._o.logger }));
    }
  }

  get(name: string): XapiPool {
    const pool = this._pools.get(name);
    if (!pool) throw new AgentError(CONFIG_ERR_UNKNOWN_POOL, `pool '${name}' is not configured or not used by a pipeline`, { details: { pool: name } });
    return pool;
  }

  names(): string[] {
    return [...this._pools.keys()];
  }

  simulators(): readonly RunningSimulator[] {
    return this._simulators;
  }

  /** Logs out of every pool, then stops the simulators. Never rejects. */
  async close(): Promise<void> {
    await Promise.all(
      [...this._pools].map(async ([name, pool]) => {
        try {
          await pool.close();
        } catch (err) {
          this._o.logger.warn({ err, pool: name }, 'pool close failed');
        }
      }),
    );
    await Promise.all(
      this._simulators.splice(0).map(async (sim) => {
        try {
          await sim.stop();
        } catch (err) {
          this._o.logger.warn({ err }, 'simulator stop failed');
        }
      }),
    );
  }

  private async _poolOptions(name: string, config: PoolConfig, log: Logger): Promise<XapiPoolOptions> {
    const common = {
      name,
      requestTimeoutMs: config.request_timeout,
      maxConcurrentHosts: config.max_concurrent_hosts,
      maxResponseBytes: config.max_response_size,
      originator: this._o.originator,
      logger: log,
    };
    if (config.simulator) {
      const start = this._o.deps.startSimulator;
      if (!start) throw new AgentError('AGENT_ERR_SIMULATOR_UNAVAILABLE', `pool '${name}' uses the simulator, which is not available in this build`);
      const sim = config.simulator;
      const password = randomBytes(18).toString('base64url');
      const running = await start({
        hosts: sim.hosts,
        vmsPerHost: sim.vms_per_host,
        seed: sim.seed,
        xapiVersion: sim.xapi_version,
        tls: sim.tls,
        timeScale: sim.time_scale,
        port: 0,
        adminPort: null,
        dynamics: { enabled: sim.dynamics.enabled, meanIntervalSeconds: sim.dynamics.mean_interval / 1000 },
        users: [{ username: SIMULATOR_USER, password, role: 'read-only' }],
        ...(sim.history !== undefined ? { historySeconds: sim.history / 1000 } : {}),
        ...(sim.min_max_rras !== undefined ? { minMaxRras: sim.min_max_rras } : {}),
        ...(sim.topology_file !== undefined ? { topologyFile: sim.topology_file } : {}),
      });
      this._simulators.push(running);
      log.info({ masterUrl: running.info.master_url, hosts: running.info.hosts.length, xapiVersion: running.info.xapi_version }, 'simulated pool started');
      return {
        ...common,
        endpoints: [running.info.master_url],
        username: SIMULATOR_USER,
        password: new Secret(password),
        tls: { insecureSkipVerify: false, ...(running.info.ca_file ? { ca: await readFile(running.info.ca_file) } : {}) },
      };
    }
    if (config.tls.insecure_skip_verify) {
      log.warn({ pool: name }, 'TLS CERTIFICATE VERIFICATION IS DISABLED for this pool (insecure_skip_verify: true); use tls.ca_file instead');
    }
    let ca: Buffer | undefined;
    if (config.tls.ca_file) {
      try {
        ca = await readFile(config.tls.ca_file);
      } catch (err) {
        throw new AgentError(CONFIG_ERR_CA_FILE, `pools.${name}.tls.ca_file: cannot read '${config.tls.ca_file}'`, { cause: err });
      }
    }
    return {
      ...common,
      endpoints: [...(config.endpoints ?? [])],
      username: config.username ?? '',
      password: config.password ?? new Secret(''),
      tls: {
        insecureSkipVerify: config.tls.insecure_skip_verify,
        ...(ca ? { ca } : {}),
        ...(config.tls.server_name ? { serverName: config.tls.server_name } : {}),
      },
    };
  }
}
