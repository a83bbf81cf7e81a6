// Reusable receive buffers for host HTTP bodies (`/rrd_updates`), so a steady cycle allocates no body memory.
//
// Why: buffering a body as Node's socket chunks and then `Buffer.concat` holds every chunk until the body ends, so
// the chunks outlive V8's young generation and are freed only by the next full GC, and the joined body is a fresh
// allocation per host per cycle. At 64 hosts that was ~31 MiB of ArrayBuffers per cycle waiting for a full GC: the
// largest part of the cycle's RSS peak. Copying each chunk as it arrives into a buffer kept across cycles lets the
// chunk die young, and the body costs nothing after the first cycle.

/** One growable buffer; a body is written into it chunk by chunk and read back as a view. */
export class ResponseBuffer {
  private _bytes: Buffer;
  private _length = 0;
  /** Largest body of the last `TRIM_WINDOW` bodies, to give back the room a one-off large body took. */
  private _recentMax = 0;
  private _bodies = 0;

  constructor(initialCapacity = 64 * 1024) {
    this._bytes = Buffer.allocUnsafeSlow(initialCapacity);
  }

  get capacity(): number {
    return this._bytes.length;
  }

  get length(): number {
    return this._length;
  }

  /** Starts a new body (views of the previous one become invalid); `expected` presizes it (Content-Length). */
  begin(expected?: number): void {
    this._length = 0;
    if (expected !== undefined && Number.isFinite(expected) && expected > this._bytes.length) this._grow(expected);
  }

  append(chunk: Uint8Array): void {
    const end = this._length + chunk.length;
    if (end > this._bytes.length) this._grow(end);
    this._bytes.set(chunk, this._length);
    this._length = end;
  }

  /** The body written since `begin`: a view, valid until the next `begin`. */
  view(): Buffer {
    return this._bytes.subarray(0, this._length);
  }

  /**
   * Ends the use of the current body. A buffer that a first poll or an outage catch-up grew to several times the
   * recent bodies is replaced by one sized for them, so one large answer does not stay resident for good.
   */
  release(): void {
    this._recentMax = Math.max(this._recentMax, this._length);
    this._bodies += 1;
    if (this._bodies < TRIM_WINDOW) return;
    const wanted = Math.max(MIN_CAPACITY, roundUp(this._recentMax * 1.25));
    if (this._bytes.length > 2 * wanted) this._bytes = Buffer.allocUnsafeSlow(wanted);
    this._bodies = 0;
    this._recentMax = 0;
    this._length = 0;
  }

  private _grow(needed: number): void {
    const next = Buffer.allocUnsafeSlow(roundUp(Math.max(needed, this._bytes.length * 2)));
    next.set(this._bytes.subarray(0, this._length));
    this._bytes = next;
  }
}

const MIN_CAPACITY = 64 * 1024;
/** Bodies over which a buffer's peak is judged before it may shrink. */
const TRIM_WINDOW = 8;

function roundUp(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

/**
 * Buffers for concurrent requests: one per request in flight, kept between cycles. At most `keep` idle buffers are
 * kept; more in flight (a raised concurrency) are created and dropped.
 */
export class ResponseBufferPool {
  private readonly _idle: ResponseBuffer[] = [];
  private readonly _keep: number;
  private _created = 0;

  constructor(keep: number) {
    this._keep = keep;
  }

  /** Buffers created so far (tests, benchmarks). */
  get created(): number {
    return this._created;
  }

  acquire(): ResponseBuffer {
    const idle = this._idle.pop();
    if (idle) return idle;
    this._created += 1;
    return new ResponseBuffer();
  }

  release(buffer: ResponseBuffer): void {
    buffer.release();
    if (this._idle.length < this._keep) this._idle.push(buffer);
  }

  /** Total capacity of the idle buffers (bytes). */
  idleBytes(): number {
    let total = 0;
    for (const b of this._idle) total += b.capacity;
    return total;
  }
}
