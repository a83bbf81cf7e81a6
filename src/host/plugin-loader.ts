// Loads third-party receiver plugins (`plugins: [{ path }, { package }]`). A plugin module exports
// `receivers: ReceiverFactory[]` (or a default export with `receivers`, or a single `factory`); every factory
// goes through the same registry checks as the built-in ones (type, apiVersion, duplicates).

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AgentError, type ReceiverFactory } from '../plugin-api/index.ts';

export const PLUGIN_ERR_LOAD = 'PLUGIN_ERR_LOAD';

export type PluginSpec = { readonly path: string } | { readonly package: string };

export interface LoadedPlugin {
  readonly source: string;
  readonly receivers: ReceiverFactory[];
}

export async function loadPlugin(spec: PluginSpec, baseDir: string): Promise<LoadedPlugin> {
  let url: string;
  let source: string;
  if ('path' in spec) {
    source = spec.path;
    url = pathToFileURL(path.resolve(baseDir, spec.path)).href;
  } else {
    source = `package:${spec.package}`;
    try {
      // Resolve from the config folder first (site plugins installed next to the config), then from the agent.
      url = pathToFileURL(resolvePackage(spec.package, baseDir)).href;
    } catch (err) {
      throw new AgentError(PLUGIN_ERR_LOAD, `cannot resolve package '${spec.package}'`, { cause: err, details: { source } });
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new AgentError(PLUGIN_ERR_LOAD, `cannot load '${source}': ${reason}`, { cause: err, details: { source } });
  }
  const receivers = receiversOf(mod);
  if (!receivers) {
    throw new AgentError(PLUGIN_ERR_LOAD, `'${source}' exports no receivers (expected \`export const receivers = [factory]\`)`, {
      details: { source },
    });
  }
  return { source, receivers };
}

function resolvePackage(name: string, baseDir: string): string {
  try {
    return createRequire(path.join(baseDir, 'noop.js')).resolve(name);
  } catch {
    return createRequire(import.meta.url).resolve(name);
  }
}

function receiversOf(mod: Record<string, unknown>): ReceiverFactory[] | undefined {
  const candidates = [mod['receivers'], (mod['default'] as Record<string, unknown> | undefined)?.['receivers']];
  for (const c of candidates) if (Array.isArray(c) && c.length > 0) return c as ReceiverFactory[];
  const single = mod['factory'] ?? mod['default'];
  if (single && typeof single === 'object' && 'createScraper' in single) return [single as ReceiverFactory];
  return undefined;
}
