// YAML → ${env:}/${file:} expansion → plugins loaded → every section and component validated → cross
// references checked → frozen. All problems are collected (each with its path) before anything starts.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { errorCode, type ReceiverFactory } from '../plugin-api/index.ts';
import type { ExporterFactory } from '../exporters/types.ts';
import type { ComponentRegistry } from '../host/registry.ts';
import { loadPlugin, type PluginSpec } from '../host/plugin-loader.ts';
import type { ProcessorFactory } from '../pipeline/processors/types.ts';
import { expandPlaceholders } from './expand.ts';
import { ConfigError, formatPath, toConfigIssues, type ConfigIssue, type ConfigPath } from './issues.ts';
import {
  COMPONENT_ID,
  NAME,
  SCRAPE_SETTING_KEYS,
  pluginRefSchema,
  poolSchema,
  scrapeSettingsSchema,
  serviceSchema,
  TOP_LEVEL_KEYS,
  type PluginRef,
  type PoolConfig,
  type TelemetryConfig,
} from './schema.ts';

export interface ScrapeSettings {
  readonly collectionIntervalMs: number;
  readonly timeoutMs: number;
  readonly initialDelayMs: number;
}

export interface ReceiverInstanceConfig {
  readonly id: string;
  readonly type: string;
  readonly factory: ReceiverFactory;
  readonly scrape: ScrapeSettings;
  readonly config: unknown;
  /** Pools this receiver reads (from `factory.poolsOf`). */
  readonly pools: readonly string[];
}

export interface ExporterInstanceConfig {
  readonly id: string;
  readonly type: string;
  readonly factory: ExporterFactory;
  readonly config: unknown;
}

export interface ProcessorInstanceConfig {
  readonly id: string;
  readonly type: string;
  readonly factory: ProcessorFactory;
  readonly config: unknown;
}

export interface PipelineConfig {
  readonly id: string;
  readonly receivers: readonly string[];
  readonly processors: readonly string[];
  readonly exporters: readonly string[];
}

export interface AgentConfig {
  readonly pools: Readonly<Record<string, PoolConfig>>;
  readonly plugins: readonly PluginRef[];
  readonly receivers: Readonly<Record<string, ReceiverInstanceConfig>>;
  readonly processors: Readonly<Record<string, ProcessorInstanceConfig>>;
  readonly exporters: Readonly<Record<string, ExporterInstanceConfig>>;
  readonly pipelines: readonly PipelineConfig[];
  readonly telemetry: TelemetryConfig;
  /** Pools referenced by a receiver of some pipeline: only these are opened. */
  readonly usedPools: readonly string[];
  /** Not errors, but worth a log line (unused components). */
  readonly warnings: readonly string[];
}

export interface LoadOptions {
  readonly registry: ComponentRegistry;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads `${file:…}` placeholders; default: fs.readFileSync (tests inject files). */
  readonly readFile?: (file: string) => string;
  /** Loads a `plugins:` entry; default: dynamic import. */
  readonly loadPlugin?: (spec: PluginSpec, baseDir: string) => Promise<{ source: string; receivers: ReceiverFactory[] }>;
}

export async function loadConfigFile(file: string, options: LoadOptions): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: [], message: `cannot read config file '${file}' (${(err as NodeJS.ErrnoException).code ?? 'error'})` }], {
      cause: err,
    });
  }
  return parseConfigText(text, { ...options, baseDir: path.dirname(path.resolve(file)), fileName: file });
}

export async function parseConfigText(text: string, options: LoadOptions & { baseDir: string; fileName?: string }): Promise<AgentConfig> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      // Later YAML errors are mostly consequences of the first ones.
      doc.errors.slice(0, 3).map((e) => {
        const where = e.linePos?.[0] ? `${options.fileName ?? 'config'}:${e.linePos[0].line}:${e.linePos[0].col}` : (options.fileName ?? 'config');
        return { path: [], message: `YAML ${where}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` };
      }),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const expanded = expandPlaceholders(raw, {
    env: options.env ?? process.env,
    baseDir: options.baseDir,
    ...(options.readFile ? { readFile: options.readFile } : {}),
  });
  if (!isPlainObject(expanded.value)) throw new ConfigError([{ path: [], message: 'expected a mapping at the top level' }]);
  const issues: ConfigIssue[] = [];
  const result = await validateTree(expanded.value, options, issues);
  // A value whose placeholder failed is reported once, for the placeholder, not again as empty or missing.
  const failed = expanded.issues.map((i) => formatPath(i.path));
  const rest = issues.filter((i) => !failed.some((f) => formatPath(i.path) === f || formatPath(i.path).startsWith(`${f}.`)));
  const all = [...expanded.issues, ...rest];
  if (all.length > 0 || !result) throw new ConfigError(all);
  return result;
}

async function validateTree(
  tree: Record<string, unknown>,
  options: LoadOptions & { baseDir: string },
  issues: ConfigIssue[],
): Promise<AgentConfig | undefined> {
  const { registry } = options;
  const warnings: string[] = [];
  for (const key of Object.keys(tree)) {
    if (!(TOP_LEVEL_KEYS as readonly string[]).includes(key)) issues.push({ path: [key], message: 'unknown key' });
  }

  // Plugins first: they add receiver types the rest of the file may use.
  const plugins: PluginRef[] = [];
  const rawPlugins = tree['plugins'] ?? [];
  if (!Array.isArray(rawPlugins)) issues.push({ path: ['plugins'], message: `expected a list, got ${typeof rawPlugins}` });
  else {
    for (const [i, entry] of rawPlugins.entries()) {
      const parsed = pluginRefSchema.safeParse(entry);
      if (!parsed.success) {
        issues.push({ path: ['plugins', i], message: `expected { path: <file> } or { package: <name> }` });
        continue;
      }
      plugins.push(parsed.data);
      try {
        const loaded = await (options.loadPlugin ?? loadPlugin)(parsed.data, options.baseDir);
        for (const factory of loaded.receivers) registry.registerReceiver(factory, loaded.source);
      } catch (err) {
        issues.push({ path: ['plugins', i], message: err instanceof Error ? `${err.message} [${errorCode(err)}]` : String(err) });
      }
    }
  }

  // pools
  const pools: Record<string, PoolConfig> = {};
  const rawPools = sectionObject(tree, 'pools', issues);
  for (const [name, value] of Object.entries(rawPools ?? {})) {
    if (!NAME.test(name)) {
      issues.push({ path: ['pools', name], message: 'pool names use letters, digits, _ and -' });
      continue;
    }
    const parsed = poolSchema.safeParse(value ?? {});
    if (parsed.success) pools[name] = parsed.data;
    else issues.push(...toConfigIssues(['pools', name], parsed.error.issues, value));
  }
  const poolNames = new Set(Object.keys(rawPools ?? {}));

  // receivers
  const receivers: Record<string, ReceiverInstanceConfig> = {};
  for (const [id, value] of Object.entries(sectionObject(tree, 'receivers', issues) ?? {})) {
    const at: ConfigPath = ['receivers', id];
    const type = componentType(id, at, 'receiver', registry.receiverTypes(), (t) => registry.receiver(t), issues);
    if (!type) continue;
    const factory = registry.receiver(type)!;
    const body = value ?? {};
    if (!isPlainObject(body)) {
      issues.push({ path: at, message: `expected a mapping, got ${typeof body}` });
      continue;
    }
    const common: Record<string, unknown> = {};
    const own: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) ((SCRAPE_SETTING_KEYS as readonly string[]).includes(k) ? common : own)[k] = v;
    const scrape = scrapeSettingsSchema.safeParse(common);
    if (!scrape.success) issues.push(...toConfigIssues(at, scrape.error.issues, common));
    const parsed = runSchema(factory.configSchema, own);
    if (!parsed.ok) {
      issues.push(...toConfigIssues(at, parsed.issues, own));
      continue;
    }
    let poolRefs: string[] = [];
    try {
      poolRefs = factory.poolsOf?.(parsed.value) ?? [];
    } catch (err) {
      issues.push({ path: at, message: `poolsOf failed: ${err instanceof Error ? err.message : String(err)}` });
    }
    for (const pool of poolRefs) {
      if (!poolNames.has(pool)) issues.push({ path: [...at, ...pathOfValue(own, pool)], message: `unknown pool '${pool}'${suggest(pool, poolNames)}` });
    }
    if (!scrape.success) continue;
    const s = scrape.data;
    receivers[id] = {
      id,
      type,
      factory,
      config: parsed.value,
      pools: poolRefs,
      scrape: { collectionIntervalMs: s.collection_interval, timeoutMs: s.timeout ?? s.collection_interval, initialDelayMs: s.initial_delay },
    };
  }

  // processors and exporters
  const processors: Record<string, ProcessorInstanceConfig> = {};
  for (const [id, value] of Object.entries(sectionObject(tree, 'processors', issues) ?? {})) {
    const at: ConfigPath = ['processors', id];
    const type = componentType(id, at, 'processor', registry.processorTypes(), (t) => registry.processor(t), issues);
    if (!type) continue;
    const factory = registry.processor(type)!;
    const parsed = runSchema(factory.configSchema, value ?? {});
    if (parsed.ok) processors[id] = { id, type, factory, config: parsed.value };
    else issues.push(...toConfigIssues(at, parsed.issues, value));
  }
  const exporters: Record<string, ExporterInstanceConfig> = {};
  for (const [id, value] of Object.entries(sectionObject(tree, 'exporters', issues) ?? {})) {
    const at: ConfigPath = ['exporters', id];
    const type = componentType(id, at, 'exporter', registry.exporterTypes(), (t) => registry.exporter(t), issues);
    if (!type) continue;
    const factory = registry.exporter(type)!;
    const parsed = runSchema(factory.configSchema, value ?? {});
    if (parsed.ok) exporters[id] = { id, type, factory, config: parsed.value };
    else issues.push(...toConfigIssues(at, parsed.issues, value));
  }

  // service
  if (tree['service'] === undefined) {
    issues.push({ path: ['service'], message: 'required' });
    return undefined;
  }
  const service = serviceSchema.safeParse(tree['service']);
  if (!service.success) {
    issues.push(...toConfigIssues(['service'], service.error.issues, tree['service']));
    return undefined;
  }
  const declared = {
    receivers: new Set(Object.keys(isPlainObject(tree['receivers']) ? tree['receivers'] : {})),
    processors: new Set(Object.keys(isPlainObject(tree['processors']) ? tree['processors'] : {})),
    exporters: new Set(Object.keys(isPlainObject(tree['exporters']) ? tree['exporters'] : {})),
  };
  const pipelines: PipelineConfig[] = [];
  const used = { receivers: new Set<string>(), processors: new Set<string>(), exporters: new Set<string>() };
  const pipelineEntries = Object.entries(service.data.pipelines);
  if (pipelineEntries.length === 0) issues.push({ path: ['service', 'pipelines'], message: 'at least one pipeline is required' });
  for (const [pid, p] of pipelineEntries) {
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      const seen = new Set<string>();
      for (const [i, ref] of p[kind].entries()) {
        const at: ConfigPath = ['service', 'pipelines', pid, kind, i];
        if (seen.has(ref)) issues.push({ path: at, message: `'${ref}' is listed twice` });
        seen.add(ref);
        used[kind].add(ref);
        if (!declared[kind].has(ref)) issues.push({ path: at, message: `unknown ${kind.slice(0, -1)} '${ref}'${suggest(ref, declared[kind])}` });
      }
    }
    pipelines.push({ id: pid, receivers: p.receivers, processors: p.processors, exporters: p.exporters });
  }
  for (const kind of ['receivers', 'processors', 'exporters'] as const) {
    for (const id of declared[kind]) if (!used[kind].has(id)) warnings.push(`${kind.slice(0, -1)} '${id}' is not used by any pipeline`);
  }
  const usedPools = [...new Set([...used.receivers].flatMap((id) => receivers[id]?.pools ?? []))].filter((p) => p in pools).sort();
  for (const name of Object.keys(pools)) if (!usedPools.includes(name)) warnings.push(`pool '${name}' is not used by any receiver of a pipeline; it is not opened`);

  if (issues.length > 0) return undefined;
  return deepFreeze({
    pools,
    plugins,
    receivers,
    processors,
    exporters,
    pipelines,
    telemetry: service.data.telemetry,
    usedPools,
    warnings,
  });
}

function componentType(
  id: string,
  at: ConfigPath,
  kind: string,
  known: string[],
  lookup: (type: string) => unknown,
  issues: ConfigIssue[],
): string | undefined {
  const m = COMPONENT_ID.exec(id);
  if (!m) {
    issues.push({ path: at, message: `invalid ${kind} id (expected 'type' or 'type/name')` });
    return undefined;
  }
  const type = m[1]!;
  if (!lookup(type)) {
    issues.push({ path: at, message: `unknown ${kind} type '${type}' (known: ${known.join(', ') || 'none'})` });
    return undefined;
  }
  return type;
}

function sectionObject(tree: Record<string, unknown>, key: string, issues: ConfigIssue[]): Record<string, unknown> | undefined {
  const value = tree[key];
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) {
    issues.push({ path: [key], message: `expected a mapping, got ${Array.isArray(value) ? 'array' : typeof value}` });
    return undefined;
  }
  return value;
}

type SchemaResult = { ok: true; value: unknown } | { ok: false; issues: { message: string; path?: readonly PropertyKey[]; code?: string }[] };

/** zod's safeParse, or a Standard Schema validator (third-party plugins may bring another validator or zod copy). */
export function runSchema(schema: z.ZodType | unknown, input: unknown): SchemaResult {
  const s = schema as {
    safeParse?: (v: unknown) => { success: boolean; data?: unknown; error?: { issues: { message: string; path: PropertyKey[] }[] } };
    '~standard'?: { validate(v: unknown): unknown };
  };
  if (typeof s.safeParse === 'function') {
    const r = s.safeParse(input);
    return r.success ? { ok: true, value: r.data } : { ok: false, issues: r.error?.issues ?? [{ message: 'invalid' }] };
  }
  const r = s['~standard']!.validate(input) as { value?: unknown; issues?: { message: string; path?: PropertyKey[] }[] };
  if (r instanceof Promise) return { ok: false, issues: [{ message: 'asynchronous config schemas are not supported' }] };
  return r.issues ? { ok: false, issues: r.issues } : { ok: true, value: r.value };
}

/** Where a pool name appears in a receiver's own config (`pools[0]`, `pool`), for the error path. */
function pathOfValue(node: unknown, needle: string, at: (string | number)[] = []): (string | number)[] {
  if (node === needle) return at;
  if (Array.isArray(node)) {
    for (const [i, v] of node.entries()) {
      const found = pathOfValue(v, needle, [...at, i]);
      if (found.length > 0 || v === needle) return found;
    }
  } else if (isPlainObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      const found = pathOfValue(v, needle, [...at, k]);
      if (found.length > 0 || v === needle) return found;
    }
  }
  return [];
}

function suggest(name: string, known: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || isPlainObject(value)) {
    // Factories belong to their modules; freezing them is not ours to do.
    for (const [k, v] of Object.entries(value as object)) if (k !== 'factory') deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
