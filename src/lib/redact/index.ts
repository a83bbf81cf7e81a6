// Secret-key redaction for maps that come from XAPI (`PBD.device_config`, `other_config`, …).
//
// Leaf library: imports nothing from the project, so plugins, the core and the logger can all use it.
// Two independent guards, because a single list is one typo away from a leak:
//   1. callers export only keys on an allow-list they own (`pickAllowed`), and
//   2. every key is checked against this deny-list as well, so a secret-looking key never passes even if an
//      allow-list names it by mistake.
// Why these words (xapi notes §5.3): SM keeps passwords in `*password` keys (legacy, plaintext) or in
// `*password_secret` (uuid of a `secret` object); CHAP user names (`chapuser`, `incoming_chapuser`) and SMB/CIFS
// `username` are credentials too. `key`, `token`, `credential`, `auth`, `session` cover vendor and XCP-ng extras.

export const REDACTED = '[REDACTED]';

const SECRET_KEY = /pass(word)?|secret|chap|key|token|user(name)?|credential|auth|session|cookie|private/i;

/** True for keys whose value must never be logged, exported or put in an error. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Removes URL-style user info (`//user:pw@server/share` → `//server/share`,
 * `https://user:pw@host/x` → `https://host/x`): an ISO `location` or a vendor URL can carry credentials in the
 * value even when the key itself is harmless.
 */
export function stripCredentials(value: string): string {
  return value.replace(/(\/\/|\\\\)[^/\\@\s]*@/g, '$1');
}

/**
 * The subset of `source` an exporter may publish: keys on `allowed` that are not secret-looking, with URL
 * credentials stripped from values. Unknown and secret keys are dropped silently (their names are not secrets,
 * but their presence is not interesting either).
 */
export function pickAllowed(
  source: Readonly<Record<string, string>> | undefined,
  allowed: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  if (!source) return out;
  for (const key of allowed) {
    if (isSecretKey(key)) continue;
    if (!Object.hasOwn(source, key)) continue;
    const value = source[key];
    if (typeof value !== 'string') continue;
    out[key] = stripCredentials(value);
  }
  return out;
}

/** A copy safe for logs and diagnostics: secret keys keep their name, their value becomes `[REDACTED]`. */
export function redactMap(source: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!source) return out;
  for (const [key, value] of Object.entries(source)) {
    if (isSecretKey(key)) out[key] = REDACTED;
    else out[key] = typeof value === 'string' ? stripCredentials(value) : value;
  }
  return out;
}
