// Port of xapi's `Http.Accept` parser and `Accept.preferred` as used by xcp-rrdd `client_prefers_json`
// (notes/xapi.md §1.3). Entries are split on `,` and are NOT trimmed: `text/xml, */*` has a second entry `" */*"`
// whose type `" *"` matches nothing.

interface MediaRange {
  /** undefined = `*` */
  ty: string | undefined;
  /** undefined = `*` */
  subty: string | undefined;
  /** 0..1000 */
  q: number;
}

export class AcceptParseError extends Error {
  readonly fragment: string;
  constructor(fragment: string) {
    super(`Parse_failure(${JSON.stringify(fragment)})`);
    this.name = 'AcceptParseError';
    this.fragment = fragment;
  }
}

/** OCaml `float_of_string` accepts decimal and hex floats with `_` separators, `nan`, `inf`, `infinity`. */
function ocamlFloatOfString(s: string): number {
  const t = s.replace(/_/g, '');
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return Number(t);
  if (/^[-+]?(nan|inf|infinity)$/i.test(t)) {
    if (/nan/i.test(t)) return Number.NaN;
    return t.startsWith('-') ? -Infinity : Infinity;
  }
  throw new AcceptParseError(`float_of_string ${s}`);
}

function parseSingle(entry: string): MediaRange {
  const parts = entry.split(';');
  const tySubty = parts[0] ?? '';
  const pieces = tySubty.split('/');
  if (pieces.length !== 2) throw new AcceptParseError(tySubty);
  const [rawTy, rawSub] = pieces as [string, string];
  const ty = rawTy === '*' ? undefined : rawTy;
  // `*/x` is read as `*/*`: the subtype is only looked at when the type is concrete.
  const subty = ty === undefined || rawSub === '*' ? undefined : rawSub;
  let q = 1000;
  let seenQ = false;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) throw new AcceptParseError(p);
    if (!seenQ && p.slice(0, eq) === 'q') {
      seenQ = true;
      q = Math.trunc(1000 * ocamlFloatOfString(p.slice(eq + 1)));
    }
  }
  return { ty, subty, q };
}

/** `Accept.of_string`: cuts on `,` dropping empty pieces. Throws AcceptParseError. */
export function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .filter((s) => s.length > 0)
    .map(parseSingle);
}

function matches(mime: string, r: MediaRange): boolean {
  if (r.ty === undefined) return true;
  if (r.subty === undefined) return mime.split('/')[0] === r.ty;
  return `${r.ty}/${r.subty}` === mime;
}

function specificity(r: MediaRange): number {
  return r.ty === undefined ? 0 : r.subty === undefined ? 1 : 2;
}

/** `Accept.preferred ~from`: members of `from` (in `from` order) matched by the best q-group that matches any. */
export function preferred(from: readonly string[], ranges: readonly MediaRange[]): string[] {
  // Stable sort: q descending, then the more specific range first (OCaml List.sort is a stable merge sort).
  const sorted = ranges
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.q - a.r.q || specificity(b.r) - specificity(a.r) || a.i - b.i)
    .map((x) => x.r);
  let rest = sorted;
  while (rest.length > 0) {
    const q = rest[0]!.q;
    const best = rest.filter((r) => r.q === q);
    rest = rest.filter((r) => r.q !== q);
    const hit = from.filter((m) => best.some((r) => matches(m, r)));
    if (hit.length > 0) return hit;
  }
  return [];
}

export type FormatDecision = { kind: 'json' } | { kind: 'xml' } | { kind: 'error'; exception: string };

/**
 * xcp-rrdd's choice between JSON and XML. `jsonKey`: the query has a `json` key (value ignored).
 * Before 23.17.0 only `jsonKey` decides; after, a usable Accept header wins.
 */
export function chooseFormat(
  acceptHeader: string | undefined,
  jsonKey: boolean,
  profile: { acceptNegotiation: boolean; unparseableAcceptIs500: boolean },
): FormatDecision {
  const fallback: FormatDecision = jsonKey ? { kind: 'json' } : { kind: 'xml' };
  if (!profile.acceptNegotiation || acceptHeader === undefined) return fallback;
  let ranges: MediaRange[];
  try {
    // The HTTP server trims the whole header value, never the entries.
    ranges = parseAccept(acceptHeader.trim());
  } catch (err) {
    if (profile.unparseableAcceptIs500 && err instanceof AcceptParseError) return { kind: 'error', exception: `Http.Accept.${err.message}` };
    return fallback;
  }
  const negotiated = preferred(['application/json', 'text/xml'], ranges);
  if (negotiated.length === 0) return fallback;
  return negotiated[0] === 'application/json' ? { kind: 'json' } : { kind: 'xml' };
}
