// Agent-level config schemas (everything except the component subtrees, which belong to their factories).
// Strict objects everywhere: an unknown key is an error, not silently ignored.

import { z } from 'zod';
import { Secret } from '../plugin-api/index.ts';
import { parseHostPort } from '../telemetry/health.ts';
import { durationSchema, sizeSchema } from './duration.ts';

export const NAME = /^[A-Za-z0-9_-]+$/;
export const COMPONENT_ID = /^([a-z][a-z0-9_]*)(?:\/([^/\s]+))?$/;
export const PIPELINE_ID = /^metrics(?:\/[^/\s]+)?$/;

export const secretSchema = z
  .string()
  .min(1, 'must not be empty')
  .meta({ description: 'Secret; use ${env:VAR} or ${file:/path}. Echoed as [REDACTED].' })
  .transform((s) => new Secret(s));

export const tlsSchema = z
  .strictObject({
    ca_file: z.string().min(1).optional().meta({ description: 'PEM bundle trusted in addition to the system CAs' }),
    insecure_skip_verify: z.boolean().default(false).meta({ description: 'Disables certificate verification. Never in production.' }),
    server_name: z.string().min(1).optional().meta({ description: 'Expected certificate name when connecting by address' }),
  })
  .prefault({});

export const simulatorSchema = z.strictObject({
  hosts: z.number().int().min(1).max(64).default(3),
  vms_per_host: z.number().int().min(0).max(1000).default(5),
  seed: z.number().int().default(1),
  xapi_version: z.string().min(1).default('current').meta({ description: 'e.g. 26.17.0, or a preset: current, xcp-ng-8.3, ch-8.2' }),
  time_scale: z.number().positive().default(1).meta({ description: 'Simulated seconds per real second' }),
  tls: z.boolean().default(true),
  history: durationSchema().optional().meta({ description: 'RRD history generated before the pool serves' }),
  min_max_rras: z.boolean().optional(),
  topology_file: z.string().min(1).optional(),
  dynamics: z
    .strictObject({
      enabled: z.boolean().default(true),
      mean_interval: durationSchema({ min: 1000 }).prefault('60s').meta({ description: 'Mean simulated time between model changes' }),
    })
    .prefault({}),
});

export const poolSchema = z
  .strictObject({
    endpoints: z.array(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })).min(1).optional().meta({
      description: 'Seed URLs tried in order to find the pool master',
    }),
    username: z.string().min(1).optional(),
    password: secretSchema.optional(),
    simulator: simulatorSchema.optional().meta({ description: 'Start the embedded simulated XCP-ng pool in-process instead' }),
    tls: tlsSchema,
    max_concurrent_hosts: z.number().int().min(1).max(256).default(8),
    request_timeout: durationSchema({ min: 1 }).prefault('10s'),
    max_response_size: sizeSchema().prefault('64MiB'),
  })
  .superRefine((pool, ctx) => {
    if (pool.simulator) {
      for (const key of ['endpoints', 'username', 'password'] as const) {
        if (pool[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `not allowed with 'simulator' (the simulator supplies it)` });
      }
      return;
    }
    if (!pool.endpoints) ctx.addIssue({ code: 'custom', path: [], message: `either 'endpoints' or 'simulator' is required` });
    else {
      if (!pool.username) ctx.addIssue({ code: 'custom', path: ['username'], message: 'required' });
      if (!pool.password) ctx.addIssue({ code: 'custom', path: ['password'], message: 'required' });
    }
  });

export type PoolConfig = z.output<typeof poolSchema>;
export type SimulatorPoolConfig = z.output<typeof simulatorSchema>;

export const pluginRefSchema = z.union([
  z.strictObject({ path: z.string().min(1).meta({ description: 'ES module file, relative to this config file' }) }),
  z.strictObject({ package: z.string().min(1).meta({ description: 'npm package name resolvable from the agent' }) }),
]);
export type PluginRef = z.output<typeof pluginRefSchema>;

/** Settings every receiver gets from the host's scrape controller, next to its own keys. */
export const scrapeSettingsSchema = z.strictObject({
  collection_interval: durationSchema({ min: 100 }).prefault('10s'),
  timeout: durationSchema().optional().meta({ description: 'Deadline of one scrape; default: collection_interval' }),
  initial_delay: durationSchema().prefault('0s'),
});
export const SCRAPE_SETTING_KEYS = ['collection_interval', 'timeout', 'initial_delay'] as const;

export const pipelineSchema = z.strictObject({
  receivers: z.array(z.string()).min(1, 'at least one receiver is required'),
  processors: z.array(z.string()).default([]),
  exporters: z.array(z.string()).min(1, 'at least one exporter is required'),
});

export const telemetrySchema = z
  .strictObject({
    logs: z
      .strictObject({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        format: z.enum(['json', 'text']).optional().meta({ description: 'Default: text on a terminal, json otherwise' }),
      })
      .prefault({}),
    metrics: z
      .strictObject({
        enabled: z.boolean().default(true),
        interval: durationSchema({ min: 100 }).prefault('30s'),
      })
      .prefault({}),
    health: z
      .strictObject({
        endpoint: z
          .string()
          .refine((s) => parseHostPort(s) !== undefined, { error: "expected 'host:port' (e.g. 127.0.0.1:13133, 0.0.0.0:13133, [::1]:13133)" })
          .meta({ description: 'host:port serving GET /healthz (liveness) and GET /readyz (readiness)' }),
      })
      .optional()
      .meta({ description: 'Health endpoint for probes; off unless configured' }),
  })
  .prefault({});

export const serviceSchema = z.strictObject({
  pipelines: z.record(z.string().regex(PIPELINE_ID, "pipeline ids are 'metrics' or 'metrics/<name>'"), pipelineSchema),
  telemetry: telemetrySchema,
});

export type TelemetryConfig = z.output<typeof telemetrySchema>;

export const TOP_LEVEL_KEYS = ['pools', 'plugins', 'receivers', 'processors', 'exporters', 'service'] as const;
