// Checks that a record from the inventory is usable before a receiver maps it. XAPI data is trusted for shape
// by the client, but a half-applied event, a foreign tool writing odd values or a simulator bug must cost one
// item (a ScrapeItemError), never the scrape. The messages name fields, never values: values may be secrets.

import type { HostRecord, Inventory, PbdRecord, SrRecord } from '../xapi/types.ts';

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Why this SR record cannot identify a resource, or undefined when it can. */
export function srRecordProblem(sr: SrRecord): string | undefined {
  if (!nonEmptyString(sr.uuid)) return 'SR record has no uuid';
  if (typeof sr.name_label !== 'string') return 'SR record has no name_label';
  if (!nonEmptyString(sr.type)) return 'SR record has no type';
  if (typeof sr.content_type !== 'string') return 'SR record has no content_type';
  if (typeof sr.shared !== 'boolean') return 'SR record field shared is not a boolean';
  return undefined;
}

export function hostRecordProblem(host: HostRecord): string | undefined {
  if (!nonEmptyString(host.uuid)) return 'host record has no uuid';
  if (typeof host.name_label !== 'string') return 'host record has no name_label';
  return undefined;
}

export interface ResolvedPbd {
  readonly pbd: PbdRecord;
  readonly host: HostRecord;
  readonly sr: SrRecord;
}

/** Joins a PBD to its host and SR, or says which side is missing or unusable. */
export function resolvePbd(
  inventory: Inventory,
  pbd: PbdRecord,
): { ok: true; value: ResolvedPbd } | { ok: false; problem: string } {
  if (!nonEmptyString(pbd.uuid)) return { ok: false, problem: 'PBD record has no uuid' };
  const host = inventory.hosts.get(pbd.host);
  if (!host) return { ok: false, problem: 'PBD refers to a host that is not in the inventory' };
  const hostProblem = hostRecordProblem(host);
  if (hostProblem) return { ok: false, problem: hostProblem };
  const sr = inventory.srs.get(pbd.SR);
  if (!sr) return { ok: false, problem: 'PBD refers to an SR that is not in the inventory' };
  const srProblem = srRecordProblem(sr);
  if (srProblem) return { ok: false, problem: srProblem };
  return { ok: true, value: { pbd, host, sr } };
}

/** Stable order for deterministic output and golden files. */
export function sortedByUuid<T extends { uuid: string }>(records: Iterable<T>): T[] {
  return [...records].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
}
