export { createDebugExporter, createDebugExporterFactory, debugConfigSchema, type DebugConfig, type DebugOutput } from './exporter.ts';
