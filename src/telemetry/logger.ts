// The agent's root logger: pino, JSON by default, pretty text on a terminal or with `format: text`.
// Redaction paths are fixed here and never taken from config (pino: "never allow user input to define
// redacted paths").

import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../plugin-api/index.ts';
import type { TelemetryConfig } from '../config/schema.ts';

export const REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  '*.*.password',
  'session_id',
  '*.session_id',
  'sessionId',
  '*.sessionId',
  'session',
  '*.session',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.authorization',
  'device_config',
  '*.device_config',
  '*.*.device_config',
  'secret',
  '*.secret',
  'token',
  '*.token',
];

export interface LoggerOptions {
  readonly level: TelemetryConfig['logs']['level'];
  readonly format: 'json' | 'text' | undefined;
  /** Defaults to stderr, so stdout stays for the debug exporter and `validate --print`. */
  readonly destination?: DestinationStream & { isTTY?: boolean };
}

export function createLogger(options: LoggerOptions): PinoLogger {
  const destination = options.destination ?? (process.stderr as unknown as DestinationStream & { isTTY?: boolean });
  const text = options.format === 'text' || (options.format === undefined && destination.isTTY === true);
  const base = {
    level: options.level,
    base: { pid: process.pid },
    redact: { paths: [...REDACT_PATHS], censor: '[REDACTED]' },
    serializers: { err: pino.stdSerializers.err },
  };
  if (!text) return pino(base, destination);
  // pino-pretty as a synchronous stream, not a worker-thread transport: no extra thread and nothing lost on exit.
  return pino(base, pretty({ destination, colorize: destination.isTTY === true, sync: true, ignore: 'pid,hostname' }));
}

/** Our Logger interface over pino (structurally the same; this keeps the type boundary in one place). */
export function asAgentLogger(logger: PinoLogger): Logger {
  return logger as unknown as Logger;
}

/** A logger that discards everything (tests, validate). */
export function createSilentLogger(): Logger {
  return asAgentLogger(pino({ level: 'silent' }));
}
