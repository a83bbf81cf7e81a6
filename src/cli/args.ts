// Command-line parsing: `xen-otel-agent [run|validate|simulate] [options]`.

export type CliCommand =
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'schema' }
  | { readonly kind: 'run'; readonly config: string }
  | { readonly kind: 'validate'; readonly config: string; readonly print: boolean }
  | { readonly kind: 'simulate'; readonly argv: readonly string[] }
  | { readonly kind: 'usage-error'; readonly message: string };

export const DEFAULT_CONFIG = 'otel-agent.yaml';

export const USAGE = `Usage: xen-otel-agent [command] [options]

Commands:
  run        Run the agent (default)
  validate   Check a config file; prints every error with its path (exit 0 = valid, 1 = invalid)
  simulate   Run the embedded simulated XCP-ng pool (see \`xen-otel-agent simulate --help\`)
  schema     Print the JSON Schema of the config file (config/agent.schema.json)

Options:
  -c, --config <file>   Config file (default: ${DEFAULT_CONFIG})
      --print           validate: print the effective config (secrets redacted)
  -h, --help            Show this help
  -v, --version         Show the version
`;

export function parseArgs(argv: readonly string[]): CliCommand {
  let command: 'run' | 'validate' | undefined;
  let config = DEFAULT_CONFIG;
  let print = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (command === undefined && arg === 'simulate') return { kind: 'simulate', argv: argv.slice(i + 1) };
    if (arg === '-h' || arg === '--help' || arg === 'help') return { kind: 'help' };
    if (arg === '-v' || arg === '--version' || arg === 'version') return { kind: 'version' };
    if (arg === 'schema' && command === undefined) return { kind: 'schema' };
    if (arg === '-c' || arg === '--config') {
      const value = argv[++i];
      if (value === undefined || value.startsWith('-')) return { kind: 'usage-error', message: `${arg} needs a file name` };
      config = value;
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else if (arg === '--print') print = true;
    else if ((arg === 'run' || arg === 'validate') && command === undefined) command = arg;
    else return { kind: 'usage-error', message: `unknown argument '${arg}'` };
  }
  if (print && command !== 'validate') return { kind: 'usage-error', message: '--print is an option of validate' };
  return command === 'validate' ? { kind: 'validate', config, print } : { kind: 'run', config };
}
