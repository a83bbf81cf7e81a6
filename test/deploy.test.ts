// Every manifest under deploy/ parses, the agent config embedded in its ConfigMaps passes the agent's own
// validation, and each workload is wired consistently: the --config path, ${file:…} secrets, ${env:…}
// variables and the pool CA resolve to mounted keys, and the probes hit the configured health port.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseConfigText } from '../src/config/load.ts';
import { parseHostPort } from '../src/telemetry/health.ts';
import { builtinRegistry } from './core/helpers.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const deployDir = path.join(root, 'deploy');

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are checked field by field below */
type K8sObject = any;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(e.name) ? [full] : [];
  });
}

const files = yamlFiles(deployDir).map((f) => path.relative(root, f));
const objects: { file: string; obj: K8sObject }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(path.join(root, file), 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const obj: K8sObject = doc.toJS();
    return obj === null ? [] : [{ file, obj }];
  }),
);
const byKind = (kind: string) => objects.filter((o) => o.obj.kind === kind).map((o) => o.obj);
const configMaps = new Map<string, K8sObject>(byKind('ConfigMap').map((c) => [c.metadata.name, c]));
const secrets = new Map<string, K8sObject>(byKind('Secret').map((s) => [s.metadata.name, s]));
const workloads = objects.filter((o) => o.obj.kind === 'Deployment' || o.obj.kind === 'DaemonSet');

function memoryBytes(quantity: string): number {
  const m = /^(\d+)(Mi|Gi|M|G)$/.exec(quantity);
  if (!m) throw new Error(`unexpected memory quantity '${quantity}'`);
  const unit = { Mi: 2 ** 20, Gi: 2 ** 30, M: 1e6, G: 1e9 }[m[2] as 'Mi' | 'Gi' | 'M' | 'G'];
  return Number(m[1]) * unit;
}

/** The key a file path names in a mounted ConfigMap/Secret volume, or undefined when no mount covers it. */
function resolveMountedFile(pod: K8sObject, container: K8sObject, file: string): { kind: 'ConfigMap' | 'Secret'; name: string; key: string } | undefined {
  for (const mount of container.volumeMounts ?? []) {
    const dir = `${String(mount.mountPath).replace(/\/$/, '')}/`;
    if (!file.startsWith(dir)) continue;
    const key = file.slice(dir.length);
    const volume = pod.volumes.find((v: K8sObject) => v.name === mount.name);
    if (volume?.configMap) return { kind: 'ConfigMap', name: volume.configMap.name, key };
    if (volume?.secret) return { kind: 'Secret', name: volume.secret.secretName, key };
  }
  return undefined;
}

function hasKey(ref: { kind: 'ConfigMap' | 'Secret'; name: string; key: string }): boolean {
  const obj = ref.kind === 'ConfigMap' ? configMaps.get(ref.name) : secrets.get(ref.name);
  return obj !== undefined && (ref.key in (obj.data ?? {}) || ref.key in (obj.stringData ?? {}));
}

describe('deploy/ manifests', () => {
  it('include the Kubernetes Deployment, its DaemonSet variant, the config, the CA and the Secret', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'deploy/kubernetes/configmap.yaml',
        'deploy/kubernetes/secret.yaml',
        'deploy/kubernetes/deployment.yaml',
        'deploy/kubernetes/daemonset/daemonset.yaml',
      ]),
    );
    expect(workloads.map((w) => w.obj.kind).sort()).toEqual(['DaemonSet', 'Deployment']);
  });

  it.each(objects.map((o) => [`${o.file} ${o.obj.kind}/${o.obj.metadata?.name}`, o.obj]))('%s is a namespace-agnostic object', (_, obj) => {
    expect(obj.apiVersion).toEqual(expect.any(String));
    expect(obj.kind).toEqual(expect.any(String));
    expect(obj.metadata.name).toMatch(/^[a-z0-9-]+$/);
    expect(obj.metadata.namespace).toBeUndefined();
  });

  it.each(workloads.map((w) => [`${w.file} ${w.obj.kind}`, w.obj]))('%s: embedded config validates and everything it names is mounted', async (_, workload) => {
    // arrange
    const pod = workload.spec.template.spec;
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0];
    const configPath: string = container.command[container.command.indexOf('--config') + 1];
    const configRef = resolveMountedFile(pod, container, configPath);
    expect(configRef, `--config ${configPath} is not under a mounted volume`).toBeDefined();
    expect(configRef!.kind).toBe('ConfigMap');
    const text: string = configMaps.get(configRef!.name)?.data?.[configRef!.key];
    expect(text, `${configRef!.name} has no key ${configRef!.key}`).toEqual(expect.any(String));
    const env = Object.fromEntries((container.env ?? []).map((e: K8sObject) => [e.name, e.value ?? 'from-downward-api']));
    const filesRead: string[] = [];
    // act: the agent's own loader and validation (what `xen-otel-agent validate` runs)
    const config = await parseConfigText(text, {
      registry: builtinRegistry(),
      baseDir: path.posix.dirname(configPath),
      fileName: configPath,
      env,
      readFile: (file) => {
        filesRead.push(file);
        return 'secret-from-file\n';
      },
    });
    // assert: valid, with a health endpoint on every address (probes come from the node, not loopback)
    expect(config.warnings).toEqual([]);
    const health = parseHostPort(config.telemetry.health?.endpoint ?? '');
    expect(health).toBeDefined();
    expect(['0.0.0.0', '::']).toContain(health!.host);
    // ${file:…} placeholders and CA files resolve to keys of mounted Secrets / ConfigMaps
    expect(filesRead.length).toBeGreaterThan(0);
    for (const file of filesRead) {
      const ref = resolveMountedFile(pod, container, file);
      expect(ref, `${file} is not mounted`).toBeDefined();
      expect(ref!.kind, `${file}: secrets belong in a Secret`).toBe('Secret');
      expect(hasKey(ref!), `${ref!.name} has no key ${ref!.key}`).toBe(true);
    }
    for (const [name, pool] of Object.entries(config.pools)) {
      expect(pool.tls.insecure_skip_verify, `pool ${name}`).toBe(false);
      if (pool.tls.ca_file === undefined) continue;
      const ref = resolveMountedFile(pod, container, pool.tls.ca_file);
      expect(ref && hasKey(ref), `pool ${name} ca_file ${pool.tls.ca_file} is not a mounted key`).toBe(true);
    }
    // probes hit the health port
    const healthPort = container.ports.find((p: K8sObject) => p.containerPort === health!.port);
    expect(healthPort, `no containerPort ${health!.port}`).toBeDefined();
    for (const [probe, probePath] of [
      ['livenessProbe', '/healthz'],
      ['readinessProbe', '/readyz'],
    ] as const) {
      const get = container[probe]?.httpGet;
      expect(get?.path, probe).toBe(probePath);
      expect([healthPort.name, healthPort.containerPort], probe).toContain(get?.port);
    }
  });

  it.each(workloads.map((w) => [`${w.file} ${w.obj.kind}`, w.obj]))('%s: non-root, read-only, no escalation, sized for 64 hosts', (_, workload) => {
    const pod = workload.spec.template.spec;
    const container = pod.containers[0];
    const podSec = pod.securityContext ?? {};
    const sec = container.securityContext ?? {};
    expect(podSec.runAsNonRoot ?? sec.runAsNonRoot).toBe(true);
    // The image's user is a name; runAsNonRoot needs a numeric id to verify.
    expect(podSec.runAsUser ?? sec.runAsUser).toBeGreaterThan(0);
    expect(sec.allowPrivilegeEscalation).toBe(false);
    expect(sec.readOnlyRootFilesystem).toBe(true);
    expect(sec.privileged ?? false).toBe(false);
    expect(sec.capabilities?.drop).toContain('ALL');
    expect(pod.automountServiceAccountToken).toBe(false);
    // about 300 MB RSS measured for 64 hosts / 6,400 VMs: the request covers it, the limit leaves headroom
    const request = memoryBytes(container.resources.requests.memory);
    const limit = memoryBytes(container.resources.limits.memory);
    expect(request).toBeGreaterThanOrEqual(300e6);
    expect(limit).toBeGreaterThan(request);
    expect(container.resources.requests.cpu).toBeDefined();
    // V8's heap cap sits below the container limit
    const nodeOptions = container.env.find((e: K8sObject) => e.name === 'NODE_OPTIONS')?.value ?? '';
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);
    expect(heapMiB * 2 ** 20).toBeLessThan(limit);
    // the Secret file is not world-readable
    for (const volume of pod.volumes.filter((v: K8sObject) => v.secret)) expect(volume.secret.defaultMode & 0o007).toBe(0);
  });

  it('the Deployment runs exactly one agent and never overlaps two during a rollout', () => {
    const deployment = byKind('Deployment')[0];
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy.type).toBe('Recreate');
  });
});
