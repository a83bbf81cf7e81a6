// The exporters built into the agent, by type (the collector's components.go, exporter half).

import { createDebugExporterFactory, type DebugOutput } from './debug/index.ts';
import { otlpGrpcExporterFactory } from './otlp-grpc/index.ts';
import { otlpHttpExporterFactory } from './otlp-http/index.ts';
import type { ExporterFactory } from './types.ts';

export interface BuiltinExporterOptions {
  /** Where the debug exporter writes (stdout by default; tests inject a buffer). */
  readonly debugOutput?: DebugOutput;
}

export function builtinExporters(options: BuiltinExporterOptions = {}): ExporterFactory[] {
  return [createDebugExporterFactory(options.debugOutput), otlpGrpcExporterFactory, otlpHttpExporterFactory] as ExporterFactory[];
}
