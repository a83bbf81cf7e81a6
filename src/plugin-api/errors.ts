// Coded errors. Code is stable and machine-readable; the message is for people; `cause` keeps the chain.
// Classify errors by `code`, never by message text (STYLE.md §1 "Avoid").

export class AgentError extends Error {
  readonly code: string;
  /** Structured context for logs (never secrets). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }
}

/** A failure that affected one item (a host, an SR, a PBD) while the rest of the scrape succeeded. */
export class ScrapeItemError extends AgentError {
  /** What failed, e.g. `host:6f1c…` or `pbd:OpaqueRef:…`. */
  readonly item: string;

  constructor(code: string, item: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, options);
    this.name = 'ScrapeItemError';
    this.item = item;
  }
}

export function errorCode(err: unknown): string {
  return err instanceof AgentError ? err.code : 'AGENT_ERR_UNEXPECTED';
}
