// The small part of semver the plugin host needs: does PLUGIN_API_VERSION satisfy a plugin's `apiVersion`
// range? Supports `1.2.3`, `=1.2.3`, `^1.2.3`, `~1.2.3`, `>=1.2.3`, `1.x`, `*`, and `||` between them.

type Triple = readonly [number, number, number];

function parseVersion(text: string): Triple | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function satisfiesOne(version: Triple, range: string): boolean | undefined {
  const r = range.trim();
  if (r === '*' || r === '') return true;
  const wildcard = /^(\d+)(?:\.(\d+|x|\*))?(?:\.(x|\*))?$/.exec(r);
  if (wildcard && (r.includes('x') || r.includes('*') || !r.includes('.'))) {
    if (version[0] !== Number(wildcard[1])) return false;
    return wildcard[2] === undefined || wildcard[2] === 'x' || wildcard[2] === '*' || version[1] === Number(wildcard[2]);
  }
  const m = /^(\^|~|>=|=)?\s*(.+)$/.exec(r);
  const base = m ? parseVersion(m[2]!) : undefined;
  if (!m || !base) return undefined;
  const cmp = compare(version, base);
  switch (m[1]) {
    case '^':
      if (cmp < 0) return false;
      if (base[0] > 0) return version[0] === base[0];
      if (base[1] > 0) return version[0] === 0 && version[1] === base[1];
      return version[0] === 0 && version[1] === 0 && version[2] === base[2];
    case '~':
      return cmp >= 0 && version[0] === base[0] && version[1] === base[1];
    case '>=':
      return cmp >= 0;
    default:
      return cmp === 0;
  }
}

/** undefined when the range cannot be parsed. */
export function satisfies(version: string, range: string): boolean | undefined {
  const v = parseVersion(version);
  if (!v) return undefined;
  let any = false;
  for (const part of range.split('||')) {
    const result = satisfiesOne(v, part);
    if (result === undefined) return undefined;
    any ||= result;
  }
  return any;
}
