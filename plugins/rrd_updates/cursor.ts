// The per-host read cursor of the rrd_updates receiver: which RRD rows have reached every exporter, in the
// host's own clock (unix seconds, the RRD's unit). Pure state, no I/O: the scraper asks it where to start, which
// rows of which resource are still owed, and tells it what the pipeline delivered.
//
// Why per resource as well as per host: one export can deliver some resources of a host and not others (a
// request that failed after its siblings went through). The host-level cursor then stays at the oldest owed row,
// so the next request re-reads those rows, and the resources that did arrive are remembered as "ahead" so the
// replay skips what they already delivered. Nothing is exported twice, nothing owed is skipped.

export interface CursorOptions {
  /** Requested step (s). */
  readonly resolution: number;
  /** How far (s) the cursor may trail the host's newest row before older rows are given up. */
  readonly maxBackfill: number;
  /** How far (s) before the host's clock the first poll starts. */
  readonly initialWindow: number;
}

export interface RequestPlan {
  /** `start` query parameter (unix s, host clock). */
  readonly start: number;
  /** Host seconds given up because the cursor lagged more than `maxBackfill` (0 normally). */
  readonly skippedSeconds: number;
}

export type ResponseCheck =
  /** Rows may be taken. */
  | { readonly kind: 'ok' }
  /** The host's newest row is older than the cursor (clock stepped back a little, or nothing new yet). */
  | { readonly kind: 'behind' }
  /** The host's clock is far behind the cursor (reset, reinstall): the cursor restarted from the host's time. */
  | { readonly kind: 'reset'; readonly previous: number };

export class HostCursor {
  private readonly _o: CursorOptions;
  private _delivered: number | undefined;
  /** Resources delivered beyond `_delivered` by a partly delivered scrape. */
  private readonly _ahead = new Map<string, number>();
  /** `meta.end` of the last response and the agent's monotonic clock then (only to measure elapsed time). */
  private _lastEnd: number | undefined;
  private _lastEndAtMs = 0;

  constructor(options: CursorOptions) {
    this._o = options;
  }

  /** Newest row time delivered for every resource of the host; undefined before the first poll. */
  get delivered(): number | undefined {
    return this._delivered;
  }

  get initialized(): boolean {
    return this._delivered !== undefined;
  }

  /** Resources delivered further than `delivered` (for tests and debugging). */
  get aheadCount(): number {
    return this._ahead.size;
  }

  /** First poll: start a small window before the host's own clock (`host.get_servertime`), never the agent's. */
  initialize(hostTimeMs: number): void {
    const nowS = Math.floor(hostTimeMs / 1000);
    this._delivered = nowS - this._o.initialWindow;
    this._ahead.clear();
  }

  /**
   * Where the next request starts. `agentNowMs` only measures time elapsed since the last response (to estimate
   * the host's current newest row); absolute times always come from the host.
   */
  plan(agentNowMs: number): RequestPlan {
    if (this._delivered === undefined) throw new Error('HostCursor.plan before initialize');
    let skippedSeconds = 0;
    if (this._lastEnd !== undefined) {
      const estimatedEnd = this._lastEnd + Math.max(0, agentNowMs - this._lastEndAtMs) / 1000;
      const floor = Math.floor((estimatedEnd - this._o.maxBackfill) / this._o.resolution) * this._o.resolution;
      if (this._delivered < floor) {
        skippedSeconds = floor - this._delivered;
        this._delivered = floor;
        this._prune();
      }
    }
    return { start: this._delivered + 1, skippedSeconds };
  }

  /** Records a response's `meta.end`; detects a host clock far behind the cursor. */
  observe(end: number, agentNowMs: number): ResponseCheck {
    this._lastEnd = end;
    this._lastEndAtMs = agentNowMs;
    const delivered = this._delivered;
    if (delivered === undefined || end > delivered) return { kind: 'ok' };
    if (delivered - end > this._o.maxBackfill) {
      this._delivered = end - this._o.initialWindow;
      this._ahead.clear();
      return { kind: 'reset', previous: delivered };
    }
    return { kind: 'behind' };
  }

  /** Rows of resource `key` at or before this time were delivered already (exclusive lower bound). */
  minTimeExclusive(key: string): number {
    const base = this._delivered ?? -Infinity;
    const ahead = this._ahead.get(key);
    return ahead !== undefined && ahead > base ? ahead : base;
  }

  /** True if some resource is ahead of the host cursor (a replay must filter per resource). */
  get hasAhead(): boolean {
    return this._ahead.size > 0;
  }

  /**
   * After the pipeline finished with a scrape that took rows up to `newest` for the resources `keys` (those that
   * had points in the batch): delivered resources move to `newest`, undelivered ones stay, and the host cursor
   * becomes the oldest row still owed. Resources absent from the batch had nothing to deliver in the window.
   */
  commit(newest: number | undefined, keys: Iterable<string>, delivered: (key: string) => boolean): void {
    if (newest === undefined || this._delivered === undefined) return;
    let owedFrom = Infinity;
    const done: string[] = [];
    for (const key of keys) {
      if (delivered(key)) done.push(key);
      else owedFrom = Math.min(owedFrom, this.minTimeExclusive(key));
    }
    const next = Math.min(owedFrom, newest);
    for (const key of done) {
      const previous = this._ahead.get(key);
      if (previous === undefined || previous < newest) this._ahead.set(key, newest);
    }
    if (next > this._delivered) this._delivered = next;
    this._prune();
  }

  private _prune(): void {
    const base = this._delivered ?? -Infinity;
    for (const [key, t] of this._ahead) if (t <= base) this._ahead.delete(key);
  }
}

/** The rows of a response to take: indices `[begin, end)` into rows sent newest first. */
export interface RowWindow {
  readonly begin: number;
  readonly end: number;
  /** Rows newer than the cursor (before the cap). */
  readonly available: number;
  /** Newest row time taken; undefined when none. */
  readonly newest: number | undefined;
}

/**
 * Picks the rows newer than `after`, oldest first up to `maxRows` (a lagging cursor catches up over several
 * cycles in order). Undefined when the rows are not strictly newest first (then the caller filters by time and
 * does not cap).
 */
export function rowWindow(timestamps: ArrayLike<number>, after: number, maxRows: number): RowWindow | undefined {
  for (let i = 1; i < timestamps.length; i++) if (!(timestamps[i]! < timestamps[i - 1]!)) return undefined;
  let available = 0;
  while (available < timestamps.length && timestamps[available]! > after) available++;
  const take = Math.min(available, maxRows);
  const begin = available - take;
  return { begin, end: available, available, newest: take > 0 ? timestamps[begin]! : undefined };
}
