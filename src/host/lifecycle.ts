// Lifecycle helpers: every step has a deadline, and a component whose start fails for a reason other than
// its configuration is logged and retried in the background with backoff (the collector's vcenter: "don't
// fail to start if we cannot establish connection, just log an error").

import { AgentError, errorCode, type Logger } from '../plugin-api/index.ts';

export const AGENT_ERR_STEP_TIMEOUT = 'AGENT_ERR_STEP_TIMEOUT';

/** Runs `fn` with a signal that aborts after `ms`; rejects with AGENT_ERR_STEP_TIMEOUT if it has not settled by then. */
export async function withDeadline<T>(what: string, ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new AgentError(AGENT_ERR_STEP_TIMEOUT, `${what} did not finish within ${ms} ms`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function isConfigError(err: unknown): boolean {
  return errorCode(err).startsWith('CONFIG_ERR_');
}

export interface RetryingStartOptions {
  readonly name: string;
  readonly start: (signal: AbortSignal) => Promise<void>;
  readonly logger: Logger;
  readonly timeoutMs: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

/** A component start that retries until it succeeds or `stop()` is called. */
export class RetryingStart {
  private readonly _o: RetryingStartOptions;
  private _ready = false;
  private _stopped = false;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _attempts = 0;

  constructor(options: RetryingStartOptions) {
    this._o = options;
  }

  get ready(): boolean {
    return this._ready;
  }

  /** First attempt. Rejects only for config errors; any other failure schedules retries and resolves. */
  async start(): Promise<void> {
    const err = await this._attempt();
    if (err === undefined) return;
    if (isConfigError(err)) throw err;
    this._o.logger.warn({ err, code: errorCode(err), component: this._o.name }, 'component start failed; retrying in the background');
    this._schedule();
  }

  stop(): void {
    this._stopped = true;
    clearTimeout(this._timer);
  }

  private async _attempt(): Promise<unknown> {
    this._attempts += 1;
    try {
      await withDeadline(`start of ${this._o.name}`, this._o.timeoutMs, this._o.start);
      this._ready = true;
      return undefined;
    } catch (err) {
      return err ?? new Error('start failed');
    }
  }

  private _schedule(): void {
    if (this._stopped) return;
    const initial = this._o.initialBackoffMs ?? 1000;
    const max = this._o.maxBackoffMs ?? 60_000;
    const base = Math.min(max, initial * 2 ** Math.min(this._attempts - 1, 16));
    const delay = base / 2 + Math.random() * (base / 2);
    this._timer = setTimeout(() => {
      void this._attempt().then((err) => {
        if (err === undefined) {
          this._o.logger.info({ component: this._o.name, attempts: this._attempts }, 'component started after retries');
        } else {
          this._o.logger.debug({ err, component: this._o.name, attempts: this._attempts }, 'component start still failing');
          this._schedule();
        }
      });
    }, delay);
    this._timer.unref();
  }
}
