// The agent's memory settings (V8 flags and glibc environment, docs/deployment.md "Memory settings") live in five
// launch points. The bench runs the agent with the `bench` script, so its RSS is the product's only if every
// launch point carries the same settings as `npm start`. This test keeps them in step.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

interface RuntimeSettings {
  readonly env: Record<string, string>;
  readonly v8Flags: string[];
}

/** `A=1 B=2 node --max-x=1 --max-y=2 script …` → env {A, B} and the V8 flags before the script. */
function fromCommandLine(command: string): RuntimeSettings {
  const words = command.trim().split(/\s+/);
  const env: Record<string, string> = {};
  let at = 0;
  for (; at < words.length && /^[A-Z_][A-Z0-9_]*=/.test(words[at]!); at++) {
    const [name, ...value] = words[at]!.split('=');
    env[name!] = value.join('=');
  }
  expect(words[at], `'${command}' runs node`).toBe('node');
  const v8Flags: string[] = [];
  for (at++; at < words.length && words[at]!.startsWith('--'); at++) v8Flags.push(words[at]!);
  return { env, v8Flags };
}

const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const product = fromCommandLine(pkg.scripts['start']!);

interface ManifestContainer {
  command: string[];
  env?: { name: string; value?: string }[];
}

function containersOf(path: string): ManifestContainer[] {
  const docs = read(path)
    .split(/^---$/m)
    .map((doc) => parseYaml(doc) as { kind?: string; spec?: { template?: { spec?: { containers?: ManifestContainer[] } } } } | null);
  return docs.flatMap((doc) => (doc?.kind === 'DaemonSet' || doc?.kind === 'Deployment' ? (doc.spec?.template?.spec?.containers ?? []) : []));
}

describe('memory settings are the same at every launch point', () => {
  it('npm start sets a young-generation cap, an early memory reducer and the glibc mmap threshold', () => {
    expect(product.v8Flags.some((flag) => flag.startsWith('--max-semi-space-size='))).toBe(true);
    expect(product.v8Flags.some((flag) => flag.startsWith('--gc-memory-reducer-start-delay-ms='))).toBe(true);
    expect(product.env['MALLOC_MMAP_THRESHOLD_']).toMatch(/^\d+$/);
  });

  it('npm run bench runs the agent with the same settings (its RSS is the product figure)', () => {
    expect(fromCommandLine(pkg.scripts['bench']!)).toEqual(product);
  });

  it('the bin launcher (env -S shebang)', () => {
    const shebang = read('bin/xen-otel-agent.js').split('\n')[0]!;
    expect(shebang.startsWith('#!/usr/bin/env -S ')).toBe(true);
    expect(fromCommandLine(shebang.slice('#!/usr/bin/env -S '.length))).toEqual(product);
  });

  it('the Dockerfile (ENV and CMD)', () => {
    const dockerfile = read('Dockerfile');
    for (const [name, value] of Object.entries(product.env)) expect(dockerfile).toMatch(new RegExp(`^ENV ${name}=${value}$`, 'm'));
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
    expect(cmd).not.toBeNull();
    const argv = JSON.parse(cmd![1]!) as string[];
    expect(fromCommandLine(argv.join(' ')).v8Flags).toEqual(product.v8Flags);
  });

  it.each(['deploy/kubernetes/daemonset/daemonset.yaml', 'deploy/kubernetes/deployment.yaml'])('the Kubernetes manifest %s (command, NODE_OPTIONS and env)', (path) => {
    const containers = containersOf(path);
    expect(containers.length).toBeGreaterThan(0);
    for (const container of containers) {
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
      // Node accepts only some V8 flags in NODE_OPTIONS (not --gc-memory-reducer-start-delay-ms): the command carries them.
      const flags = [...fromCommandLine(container.command.join(' ')).v8Flags, ...(env['NODE_OPTIONS'] ?? '').split(/\s+/)];
      for (const flag of product.v8Flags) expect(flags, `${path}: ${flag}`).toContain(flag);
      for (const [name, value] of Object.entries(product.env)) expect(env[name], `${path}: env ${name}`).toBe(value);
    }
  });
});
