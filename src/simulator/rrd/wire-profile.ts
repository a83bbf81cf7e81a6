// xapi package version → wire behaviour of xcp-rrdd's HTTP handlers (notes/xapi.md §7).
import { AgentError } from '../../plugin-api/errors.ts';
import type { XapiWireProfile } from './contract.ts';

export const WIRE_PRESETS: Readonly<Record<string, string>> = Object.freeze({
  current: '26.17.0',
  'xcp-ng-8.3': '26.4.0',
  'ch-8.2': '1.249.0',
});

type Version = readonly [number, number, number];

function parseVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new AgentError('RRD_ERR_BAD_XAPI_VERSION', `unsupported xapi version '${text}'`, { details: { version: text } });
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function atLeast(v: Version, major: number, minor: number, patch = 0): boolean {
  if (v[0] !== major) return v[0] > major;
  if (v[1] !== minor) return v[1] > minor;
  return v[2] >= patch;
}

/** Wire profile of a preset (`current`, `xcp-ng-8.3`, `ch-8.2`) or of a version such as `24.10.0` or `1.249.38`. */
export function wireProfileFor(version: string): XapiWireProfile {
  const resolved = WIRE_PRESETS[version] ?? version;
  // `1.249.x` (CH/XCP-ng 8.2) sorts below every 2x.y.z release, as numeric comparison gives.
  const v = parseVersion(resolved);
  return Object.freeze({
    version: resolved,
    acceptNegotiation: atLeast(v, 23, 17),
    unparseableAcceptIs500: atLeast(v, 23, 17) && !atLeast(v, 25, 7),
    jsonDialect: atLeast(v, 24, 11) ? 'strings' : atLeast(v, 24, 5) ? 'nested' : 'legacy',
    numberFormat: atLeast(v, 25, 3) ? '%.15g' : atLeast(v, 24, 5) ? '%.5g' : '%.4f',
    multiUuidFilters: atLeast(v, 26, 7),
  });
}
