// Golden-file normaliser for the storage receivers' tests (the project-wide one, test/golden/normalize.ts, cannot
// be imported from plugins/ under the current lint rules). Sorts resources, metrics and series, replaces
// timestamps by ordinals (pkg/golden style) and renders stable 2-space JSON ending in a newline.
// Structural types: this leaf library may not import the plugin API.

interface GoldenSeries {
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly timesMs: ArrayLike<number>;
  readonly values: ArrayLike<number>;
  readonly startTimeMs?: number;
}

interface GoldenBatch {
  readonly resources: readonly {
    readonly key: string;
    readonly resource: Readonly<Record<string, unknown>>;
    readonly metrics: readonly {
      readonly definition: { name: string; unit: string; kind: string; valueType: string; monotonic?: boolean };
      readonly series: readonly GoldenSeries[];
    }[];
  }[];
}

interface GoldenError {
  readonly code: string;
  readonly item?: string;
  readonly message: string;
}

function sortKeys(value: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toGolden(batch: GoldenBatch, errors: readonly GoldenError[] = []): string {
  const times = new Set<number>();
  for (const r of batch.resources) {
    for (const m of r.metrics) {
      for (const s of m.series) {
        for (let i = 0; i < s.timesMs.length; i++) times.add(s.timesMs[i]!);
        if (s.startTimeMs !== undefined) times.add(s.startTimeMs);
      }
    }
  }
  const ordinal = new Map([...times].sort((a, b) => a - b).map((t, i) => [t, i + 1]));
  const resources = batch.resources
    .map((r) => ({
      key: r.key,
      resource: sortKeys(r.resource),
      metrics: r.metrics
        .map((m) => ({
          name: m.definition.name,
          unit: m.definition.unit,
          kind: m.definition.kind,
          valueType: m.definition.valueType,
          ...(m.definition.monotonic === undefined ? {} : { monotonic: m.definition.monotonic }),
          series: m.series
            .map((s) => ({
              attributes: sortKeys(s.attributes),
              ...(s.startTimeMs === undefined ? {} : { start: ordinal.get(s.startTimeMs) }),
              points: Array.from({ length: s.values.length }, (_, i) => [ordinal.get(s.timesMs[i]!), s.values[i]]),
            }))
            .sort((a, b) => compare(JSON.stringify(a.attributes), JSON.stringify(b.attributes))),
        }))
        .sort((a, b) => compare(a.name, b.name)),
    }))
    .sort((a, b) => compare(a.key, b.key));
  const errorRows = errors
    .map((e) => ({ code: e.code, item: e.item ?? '', message: e.message }))
    .sort((a, b) => compare(`${a.item}\u0000${a.code}`, `${b.item}\u0000${b.code}`));
  const json = JSON.stringify(errorRows.length > 0 ? { resources, errors: errorRows } : { resources }, null, 2);
  // One point per line (`[ordinal, value]`) keeps golden diffs readable.
  return `${json.replace(/\[\s+(\d+),\s+([^\s[\]{},]+)\s+\]/g, '[$1, $2]')}\n`;
}
