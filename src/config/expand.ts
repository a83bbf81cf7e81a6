// `${env:VAR}` and `${file:/path}` expansion in every string value of the parsed YAML tree.
// Expanding after parsing (not on the raw text) means a secret containing `:` or `#` cannot change the YAML
// structure. `$${…}` is a literal `${…}`. Values stay strings: a password `123456` must not become a number.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ConfigIssue, ConfigPath } from './issues.ts';

export interface ExpandOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative `${file:…}` paths resolve against this folder (the config file's). */
  readonly baseDir: string;
  readonly readFile?: (file: string) => string;
}

const PLACEHOLDER = /\$(\$?)\{([a-z]+):([^}]*)\}/g;

export function expandPlaceholders(tree: unknown, options: ExpandOptions): { value: unknown; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const readFile = options.readFile ?? ((file: string) => readFileSync(file, 'utf8'));

  const expandString = (text: string, at: ConfigPath): string =>
    text.replace(PLACEHOLDER, (whole, escape: string, scheme: string, arg: string) => {
      if (escape === '$') return whole.slice(1);
      switch (scheme) {
        case 'env': {
          if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(arg)) {
            issues.push({ path: at, message: `invalid environment variable name '${arg}'` });
            return '';
          }
          const value = options.env[arg];
          if (value === undefined) issues.push({ path: at, message: `environment variable '${arg}' is not set` });
          return value ?? '';
        }
        case 'file': {
          const file = path.resolve(options.baseDir, arg);
          try {
            // Secret files (Kubernetes, Docker) usually end with a newline that is not part of the secret.
            return readFile(file).replace(/\r?\n$/, '');
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code ?? 'error';
            issues.push({ path: at, message: `cannot read file '${arg}' (${code})` });
            return '';
          }
        }
        default:
          issues.push({ path: at, message: `unknown placeholder scheme '${scheme}' (expected env or file)` });
          return '';
      }
    });

  const walk = (node: unknown, at: ConfigPath): unknown => {
    if (typeof node === 'string') return node.includes('${') ? expandString(node, at) : node;
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...at, i]));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...at, key]);
      return out;
    }
    return node;
  };

  return { value: walk(tree, []), issues };
}
