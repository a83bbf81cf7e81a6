// The effective config (defaults applied, placeholders expanded) as users would write it, for
// `validate --print`. Secrets print as [REDACTED]: `Secret` serialises that way, and any key that looks like a
// credential in a component's own config is masked as well (a plugin may keep a token as a plain string).

import { stringify } from 'yaml';
import { REDACTED_TEXT } from '../plugin-api/index.ts';
import { formatDuration } from '../lib/duration/index.ts';
import type { AgentConfig } from './load.ts';

const SECRET_KEY = /pass(word)?|secret|token|authorization|api[_-]?key|credential|private[_-]?key/i;

export function effectiveConfig(config: AgentConfig): unknown {
  const pools: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(config.pools)) {
    pools[name] = {
      ...p,
      request_timeout: formatDuration(p.request_timeout),
      ...(p.simulator
        ? {
            simulator: {
              ...p.simulator,
              ...(p.simulator.history !== undefined ? { history: formatDuration(p.simulator.history) } : {}),
              dynamics: { ...p.simulator.dynamics, mean_interval: formatDuration(p.simulator.dynamics.mean_interval) },
            },
          }
        : {}),
    };
  }
  const receivers: Record<string, unknown> = {};
  for (const [id, r] of Object.entries(config.receivers)) {
    receivers[id] = {
      collection_interval: formatDuration(r.scrape.collectionIntervalMs),
      timeout: formatDuration(r.scrape.timeoutMs),
      initial_delay: formatDuration(r.scrape.initialDelayMs),
      ...(r.config as object),
    };
  }
  const mapConfigs = (m: Readonly<Record<string, { config: unknown }>>) => Object.fromEntries(Object.entries(m).map(([id, c]) => [id, c.config]));
  const tree = {
    pools,
    ...(config.plugins.length > 0 ? { plugins: config.plugins } : {}),
    receivers,
    processors: mapConfigs(config.processors),
    exporters: mapConfigs(config.exporters),
    service: {
      pipelines: Object.fromEntries(config.pipelines.map((p) => [p.id, { receivers: p.receivers, processors: p.processors, exporters: p.exporters }])),
      telemetry: {
        logs: config.telemetry.logs,
        metrics: { ...config.telemetry.metrics, interval: formatDuration(config.telemetry.metrics.interval) },
        ...(config.telemetry.health ? { health: config.telemetry.health } : {}),
      },
    },
  };
  return maskSecrets(JSON.parse(JSON.stringify(tree)));
}

export function effectiveConfigYaml(config: AgentConfig): string {
  return stringify(effectiveConfig(config), { lineWidth: 0 });
}

function maskSecrets(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(maskSecrets);
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? REDACTED_TEXT : maskSecrets(v);
    return out;
  }
  return node;
}
