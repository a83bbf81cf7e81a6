// Config problems carry the path of the offending value, so every message reads
// `receivers.rrd_updates/prod.pools[0]: unknown pool 'prdo'`.

import { AgentError } from '../plugin-api/index.ts';

export type ConfigPath = readonly (string | number)[];

export interface ConfigIssue {
  readonly path: ConfigPath;
  readonly message: string;
}

export const CONFIG_ERR_INVALID = 'CONFIG_ERR_INVALID';

/** Every problem found in a config file, not just the first one. */
export class ConfigError extends AgentError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    super(CONFIG_ERR_INVALID, `invalid configuration:\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`, {
      ...options,
      details: { issueCount: issues.length },
    });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

const PLAIN_KEY = /^[A-Za-z0-9_/-]+$/;

export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (PLAIN_KEY.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(root)' : out;
}

export function formatIssue(issue: ConfigIssue): string {
  return `${formatPath(issue.path)}: ${issue.message}`;
}

/** Minimal shape of a zod 4 issue (also what a Standard Schema validator returns: message + path). */
interface SchemaIssue {
  readonly code?: string;
  readonly path?: readonly PropertyKey[] | readonly { key: PropertyKey }[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly expected?: string;
  readonly values?: readonly unknown[];
  readonly errors?: readonly (readonly SchemaIssue[])[];
}

/** Turns validator issues into our own wording, under `prefix`. `input` is the value that was validated. */
export function toConfigIssues(prefix: ConfigPath, issues: readonly SchemaIssue[], input: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const rel = (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? p.key : p)).map(toPathPart);
    const path = [...prefix, ...rel];
    if (issue.code === 'unrecognized_keys' && issue.keys) {
      for (const key of issue.keys) out.push({ path: [...path, key], message: 'unknown key' });
      continue;
    }
    out.push({ path, message: describe(issue, valueAt(input, rel)) });
  }
  return out;
}

function toPathPart(p: PropertyKey): string | number {
  return typeof p === 'number' ? p : String(p);
}

function describe(issue: SchemaIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined ? 'required' : `expected ${issue.expected ?? 'another type'}, got ${typeName(value)}`;
    case 'invalid_value':
      if (issue.values) return `invalid value ${JSON.stringify(value)} (expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
      return issue.message;
    case 'invalid_union':
      return `invalid value ${JSON.stringify(value)}`;
    default:
      return issue.message;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[part];
  }
  return cur;
}
