// `xen-otel-agent simulate …` (dispatched from src/main.ts) and `node src/simulator/cli.ts …`: starts a simulated
// pool, prints exactly one JSON ready line (SimulatorReadyInfo) on stdout, runs until SIGINT/SIGTERM, exits 0.
import { parseArgs } from 'node:util';
import { AgentError } from '../plugin-api/errors.ts';
import type { SimulatorOptions } from './api.ts';
import { startSimulator } from './index.ts';

const USAGE = `usage: xen-otel-agent simulate [options]
  --hosts N               hosts in the pool (default 3)
  --vms-per-host N        running VMs per host (default 4)
  --seed N                topology and dynamics seed (default 1)
  --xapi-version V        x.y.z or current | xcp-ng-8.3 | ch-8.2 (default current)
  --no-tls                plain HTTP instead of HTTPS
  --time-scale X          simulated seconds per real second (default 1)
  --port N                port shared by every host address (default: a free one)
  --topology FILE         YAML topology (overrides --hosts / --vms-per-host)
  --no-dynamics           no random VM/PBD/SR changes
  --dynamics-interval S   mean simulated seconds between random changes (default 30)
  --admin-port N          admin HTTP port on 127.0.0.1 (default: a free one; -1 = none)
  --state-dir DIR         where ca.pem is written (default: a temporary directory)
  --min-max               pool other_config create_min_max_in_new_VM_RRDs=true
  --auth-failure-delay MS delay before SESSION_AUTHENTICATION_FAILED (default 5000)
`;

function num(name: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new AgentError('SIM_ERR_BAD_OPTION', `--${name} expects ${integer ? 'an integer' : 'a number'} (actual: '${v}')`);
  }
  return n;
}

export function parseSimulateArgs(argv: string[]): Partial<SimulatorOptions> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      hosts: { type: 'string' }, 'vms-per-host': { type: 'string' }, seed: { type: 'string' }, 'xapi-version': { type: 'string' },
      'no-tls': { type: 'boolean' }, 'time-scale': { type: 'string' }, port: { type: 'string' }, topology: { type: 'string' },
      'no-dynamics': { type: 'boolean' }, 'dynamics-interval': { type: 'string' }, 'admin-port': { type: 'string' },
      'state-dir': { type: 'string' }, 'min-max': { type: 'boolean' }, 'auth-failure-delay': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) throw new AgentError('SIM_ERR_HELP', USAGE);
  const o: Partial<SimulatorOptions> = {};
  const hosts = num('hosts', values.hosts, true);
  if (hosts !== undefined) o.hosts = hosts;
  const vms = num('vms-per-host', values['vms-per-host'], true);
  if (vms !== undefined) o.vmsPerHost = vms;
  const seed = num('seed', values.seed, true);
  if (seed !== undefined) o.seed = seed;
  if (values['xapi-version'] !== undefined) o.xapiVersion = values['xapi-version'];
  if (values['no-tls'] === true) o.tls = false;
  const ts = num('time-scale', values['time-scale'], false);
  if (ts !== undefined) o.timeScale = ts;
  const port = num('port', values.port, true);
  if (port !== undefined) o.port = port;
  if (values.topology !== undefined) o.topologyFile = values.topology;
  const interval = num('dynamics-interval', values['dynamics-interval'], false);
  if (values['no-dynamics'] === true || interval !== undefined) {
    o.dynamics = { enabled: values['no-dynamics'] !== true, meanIntervalSeconds: interval ?? 30 };
  }
  const admin = num('admin-port', values['admin-port'], true);
  if (admin !== undefined) o.adminPort = admin < 0 ? null : admin;
  if (values['state-dir'] !== undefined) o.stateDir = values['state-dir'];
  if (values['min-max'] === true) o.minMaxRras = true;
  const delay = num('auth-failure-delay', values['auth-failure-delay'], true);
  if (delay !== undefined) o.authFailureDelayMs = delay;
  return o;
}

export async function runSimulateCommand(argv: string[]): Promise<number> {
  let options: Partial<SimulatorOptions>;
  try {
    options = parseSimulateArgs(argv);
  } catch (err) {
    if (err instanceof AgentError && err.code === 'SIM_ERR_HELP') {
      process.stdout.write(USAGE);
      return 0;
    }
    process.stderr.write(`simulate: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  let sim;
  try {
    sim = await startSimulator(options);
  } catch (err) {
    const code = err instanceof AgentError ? ` [${err.code}]` : '';
    process.stderr.write(`simulate: cannot start${code}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(sim.info)}\n`);
  const running = sim;
  await new Promise<void>((resolve) => {
    const onSignal = (): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await running.stop();
  return 0;
}

if (import.meta.main) {
  process.exitCode = await runSimulateCommand(process.argv.slice(2));
}
