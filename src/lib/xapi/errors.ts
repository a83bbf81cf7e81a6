// Coded errors of the XAPI client. Same shape as the core's AgentError (code, message, cause, details), defined here
// because src/lib is a leaf library. Classify by `code` (and `details.xapiCode` for XAPI_ERR_FAILURE), never by
// message text. Messages and details never carry the password or a session id.

export const XapiErrorCode = {
  /** The session is unknown to the pool (expired, logged out, toolstack restarted). */
  SESSION_INVALID: 'XAPI_ERR_SESSION_INVALID',
  /** `SESSION_AUTHENTICATION_FAILED`: wrong user or password. */
  AUTH_FAILED: 'XAPI_ERR_AUTH_FAILED',
  /** Login or call on a pool member; `details.masterAddress` names the master. */
  HOST_IS_SLAVE: 'XAPI_ERR_HOST_IS_SLAVE',
  /** Non-2xx HTTP answer; `details.status`. */
  HTTP_STATUS: 'XAPI_ERR_HTTP_STATUS',
  /** `requestTimeoutMs` (or the event.from deadline) elapsed. */
  TIMEOUT: 'XAPI_ERR_TIMEOUT',
  /** The caller's AbortSignal fired, or the pool was closed. */
  ABORTED: 'XAPI_ERR_ABORTED',
  /** The body went past the byte cap; the transfer was cut. */
  RESPONSE_TOO_LARGE: 'XAPI_ERR_RESPONSE_TOO_LARGE',
  /** Connection refused / reset / no route / name not found, or no seed led to a master. */
  UNREACHABLE: 'XAPI_ERR_UNREACHABLE',
  /** TLS handshake or certificate verification failed (self-signed cert without `ca`, wrong name…). */
  TLS: 'XAPI_ERR_TLS',
  /** XAPI answered `Status: Failure`; `details.xapiError` is the (redacted) ErrorDescription array. */
  FAILURE: 'XAPI_ERR_FAILURE',
  /** The answer is not XAPI XML-RPC (e.g. the XO Lite HTML page, truncated XML). */
  PROTOCOL: 'XAPI_ERR_PROTOCOL',
  /** `getFromHost` / `hostServerTime` for a host ref that is not in the inventory. */
  HOST_UNKNOWN: 'XAPI_ERR_HOST_UNKNOWN',
} as const;

export type XapiErrorCodeValue = (typeof XapiErrorCode)[keyof typeof XapiErrorCode];

export class XapiError extends Error {
  readonly code: XapiErrorCodeValue;
  /** Structured context for logs (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: XapiErrorCodeValue, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'XapiError';
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }
}

export function isXapiError(err: unknown, code?: XapiErrorCodeValue): err is XapiError {
  return err instanceof XapiError && (code === undefined || err.code === code);
}

/** The XAPI error name (`EVENTS_LOST`, `HANDLE_INVALID`…) of an XAPI failure, if `err` is one. */
export function xapiFailureCode(err: unknown): string | undefined {
  if (!(err instanceof XapiError)) return undefined;
  const xapiCode = err.details['xapiCode'];
  return typeof xapiCode === 'string' ? xapiCode : undefined;
}

export const REDACTED = '[REDACTED]';

/** Turns an XAPI `ErrorDescription` into a coded error; every occurrence of `secrets` is redacted. */
export function errorFromXapiFailure(description: unknown, secrets: readonly string[], details: Record<string, unknown> = {}): XapiError {
  const parts = (Array.isArray(description) ? description : [description]).map((part) => redact(String(part ?? ''), secrets));
  const xapiCode = parts[0] ?? '';
  const all = { ...details, xapiCode, xapiError: parts };
  switch (xapiCode) {
    case 'SESSION_INVALID':
      return new XapiError(XapiErrorCode.SESSION_INVALID, 'XAPI session is not valid', { details: all });
    case 'SESSION_AUTHENTICATION_FAILED':
      return new XapiError(XapiErrorCode.AUTH_FAILED, 'XAPI authentication failed', { details: all });
    case 'HOST_IS_SLAVE':
      return new XapiError(XapiErrorCode.HOST_IS_SLAVE, 'host is not the pool master', { details: { ...all, masterAddress: parts[1] ?? '' } });
    default:
      return new XapiError(XapiErrorCode.FAILURE, `XAPI call failed: ${xapiCode}`, { details: all });
  }
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join(REDACTED);
  }
  return out;
}
