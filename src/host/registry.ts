// Component factories by type: receivers (built-in and third-party plugins), processors and exporters.
// An explicit, instance-scoped registry (no global default): main.ts fills it, tests build their own.

import { AgentError, PLUGIN_API_VERSION, type ReceiverFactory } from '../plugin-api/index.ts';
import type { ExporterFactory } from '../exporters/types.ts';
import type { ProcessorFactory } from '../pipeline/processors/types.ts';
import { satisfies } from './semver.ts';

export const PLUGIN_ERR_INVALID_FACTORY = 'PLUGIN_ERR_INVALID_FACTORY';
export const PLUGIN_ERR_DUPLICATE_TYPE = 'PLUGIN_ERR_DUPLICATE_TYPE';
export const PLUGIN_ERR_API_VERSION = 'PLUGIN_ERR_API_VERSION';

const COMPONENT_TYPE = /^[a-z][a-z0-9_]*$/;

export interface RegisteredReceiver {
  readonly factory: ReceiverFactory;
  /** `builtin` or where a plugin came from (`./my-plugin.js`, `package:foo`). */
  readonly source: string;
}

export class ComponentRegistry {
  private readonly _receivers = new Map<string, RegisteredReceiver>();
  private readonly _exporters = new Map<string, ExporterFactory>();
  private readonly _processors = new Map<string, ProcessorFactory>();

  constructor(init: { receivers?: readonly ReceiverFactory[]; exporters?: readonly ExporterFactory[]; processors?: readonly ProcessorFactory[] } = {}) {
    for (const f of init.receivers ?? []) this.registerReceiver(f, 'builtin');
    for (const f of init.exporters ?? []) this.registerExporter(f);
    for (const f of init.processors ?? []) this.registerProcessor(f);
  }

  /** Checks shape, type name, API version and uniqueness; throws an AgentError (PLUGIN_ERR_*) naming `source`. */
  registerReceiver(factory: ReceiverFactory, source: string): void {
    const candidate = factory as Partial<ReceiverFactory> | null | undefined;
    const type = typeof candidate?.type === 'string' ? candidate.type : '(no type)';
    const invalid = (why: string) =>
      new AgentError(PLUGIN_ERR_INVALID_FACTORY, `receiver factory '${type}' from ${source} is invalid: ${why}`, { details: { source } });
    if (!candidate || typeof candidate !== 'object') throw invalid('not an object');
    if (typeof candidate.type !== 'string' || !COMPONENT_TYPE.test(candidate.type)) throw invalid('type must be lower_snake_case');
    if (typeof candidate.createScraper !== 'function') throw invalid('createScraper is not a function');
    if (!hasValidator(candidate.configSchema)) throw invalid('configSchema is not a zod (or Standard Schema) schema');
    if (typeof candidate.apiVersion !== 'string') throw invalid('apiVersion is missing');
    const ok = satisfies(PLUGIN_API_VERSION, candidate.apiVersion);
    if (ok === undefined) throw invalid(`apiVersion '${candidate.apiVersion}' is not a version range`);
    if (!ok) {
      throw new AgentError(
        PLUGIN_ERR_API_VERSION,
        `receiver '${type}' from ${source} requires plugin API ${candidate.apiVersion}, this agent provides ${PLUGIN_API_VERSION}`,
        { details: { source, apiVersion: candidate.apiVersion } },
      );
    }
    const existing = this._receivers.get(type);
    if (existing) {
      throw new AgentError(PLUGIN_ERR_DUPLICATE_TYPE, `receiver type '${type}' from ${source} is already registered by ${existing.source}`, {
        details: { source, type },
      });
    }
    this._receivers.set(type, { factory, source });
  }

  registerExporter(factory: ExporterFactory): void {
    if (this._exporters.has(factory.type)) throw new AgentError(PLUGIN_ERR_DUPLICATE_TYPE, `exporter type '${factory.type}' is already registered`);
    this._exporters.set(factory.type, factory);
  }

  registerProcessor(factory: ProcessorFactory): void {
    if (this._processors.has(factory.type)) throw new AgentError(PLUGIN_ERR_DUPLICATE_TYPE, `processor type '${factory.type}' is already registered`);
    this._processors.set(factory.type, factory);
  }

  receiver(type: string): ReceiverFactory | undefined {
    return this._receivers.get(type)?.factory;
  }

  exporter(type: string): ExporterFactory | undefined {
    return this._exporters.get(type);
  }

  processor(type: string): ProcessorFactory | undefined {
    return this._processors.get(type);
  }

  receiverTypes(): string[] {
    return [...this._receivers.keys()].sort();
  }

  builtinReceivers(): ReceiverFactory[] {
    return [...this._receivers.values()].filter((r) => r.source === 'builtin').map((r) => r.factory);
  }

  exporterTypes(): string[] {
    return [...this._exporters.keys()].sort();
  }

  exporterFactories(): ExporterFactory[] {
    return [...this._exporters.values()];
  }

  processorTypes(): string[] {
    return [...this._processors.keys()].sort();
  }

  processorFactories(): ProcessorFactory[] {
    return [...this._processors.values()];
  }
}

function hasValidator(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return false;
  const s = schema as { safeParse?: unknown; '~standard'?: { validate?: unknown } };
  return typeof s.safeParse === 'function' || typeof s['~standard']?.validate === 'function';
}
