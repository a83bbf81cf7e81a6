// Which body format to ask a host's `/rrd_updates` for when the config says `format: auto`.
//
// xapi before 24.5.0 writes JSON with an ad-hoc printer (notes/xapi.md §1.6 (a)) that indexes the last row as
// `data.(length - 1)`: a response with zero rows (a cycle in which the host has no row newer than the cursor) is
// an exception, i.e. HTTP 500, where XML answers an empty `<data/>`. So legacy hosts are read as XML, others as
// JSON. The version comes from `host.software_version` (notes §4.3, §7):
//   - `xapi_build` is the xapi package version (`24.10.0`, `26.4.0`), reported since xapi 22.9.0;
//   - older hosts (CH / XCP-ng 8.2, xapi 1.249.x) have no `xapi_build`: their `xapi` key is the API version
//     (`1.20`) and `product_version` the product (`8.2.0`), neither a package version, and all of them are legacy.
// Anything unreadable counts as legacy: XML works on every version, JSON only on the newer ones.

import type { HostRecord } from '../../src/lib/xapi/types.ts';

export type WireFormat = 'json' | 'xml';
export type FormatSetting = WireFormat | 'auto';

/** First xapi package version whose JSON writer handles zero rows (yojson, notes §7 "JSON shape"). */
export const FIRST_SAFE_JSON_XAPI = [24, 5, 0] as const;

/** `x.y.z` (more parts ignored) → numbers; undefined when it is not a version. */
export function parseXapiVersion(text: string | undefined): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(text?.trim() ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** True when the host's xapi writes the legacy JSON (< 24.5.0), or its version cannot be told. */
export function speaksLegacyJson(softwareVersion: Readonly<Record<string, string>> | undefined): boolean {
  const build = parseXapiVersion(softwareVersion?.['xapi_build']);
  if (!build) return true; // before xapi 22.9.0 (no xapi_build), or unreadable
  for (let i = 0; i < 3; i++) {
    if (build[i]! !== FIRST_SAFE_JSON_XAPI[i]) return build[i]! < FIRST_SAFE_JSON_XAPI[i]!;
  }
  return false;
}

/** The format to request from `host`: an explicit setting wins; `auto` picks XML for legacy hosts. */
export function wireFormatFor(setting: FormatSetting, host: Pick<HostRecord, 'software_version'>): WireFormat {
  if (setting !== 'auto') return setting;
  return speaksLegacyJson(host.software_version) ? 'xml' : 'json';
}
