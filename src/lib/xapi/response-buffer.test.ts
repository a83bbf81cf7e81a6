import { describe, expect, it } from 'vitest';
import { ResponseBuffer, ResponseBufferPool } from './response-buffer.ts';

/** `body` cut into chunks of the given sizes (the last one takes the rest). */
function chunks(body: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    out.push(body.subarray(at, at + size));
    at += size;
  }
  out.push(body.subarray(at));
  return out;
}

const bytes = (n: number, seed = 1): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255));

describe('ResponseBuffer', () => {
  it('joins chunks into the body, growing as needed, and reuses its memory for the next body', () => {
    const b = new ResponseBuffer(16);
    const first = bytes(100_000);
    b.begin();
    for (const c of chunks(first, [1, 7, 16_384, 3])) b.append(c);
    expect(b.view().equals(first)).toBe(true);
    const memory = b.view().buffer;

    const second = bytes(90_000, 7);
    b.begin();
    for (const c of chunks(second, [50_000])) b.append(c);
    expect(b.view().equals(second)).toBe(true);
    expect(b.view().buffer).toBe(memory); // no allocation for a body that fits
    b.begin();
    expect(b.view().length).toBe(0);
  });

  it('presizes from the declared length, so a body arriving in chunks is never copied on growth', () => {
    const b = new ResponseBuffer(16);
    b.begin(250_000);
    const memory = b.view().buffer;
    expect(b.capacity).toBeGreaterThanOrEqual(250_000);
    const body = bytes(250_000);
    for (const c of chunks(body, [16_384, 16_384, 16_384])) b.append(c);
    expect(b.view().buffer).toBe(memory);
    expect(b.view().equals(body)).toBe(true);
    b.begin(Number.NaN); // no Content-Length
    expect(b.view().length).toBe(0);
  });

  it('gives back the room of a one-off large body once the recent bodies are small again', () => {
    const b = new ResponseBuffer();
    b.begin();
    b.append(bytes(4_000_000)); // a first poll or an outage catch-up
    b.release();
    expect(b.capacity).toBeGreaterThanOrEqual(4_000_000);
    for (let i = 0; i < 8; i++) {
      b.begin();
      b.append(bytes(200_000));
      b.release();
    }
    // The window that held the large body keeps it; the next window of small bodies shrinks the buffer.
    expect(b.capacity).toBeGreaterThanOrEqual(4_000_000);
    for (let i = 0; i < 8; i++) {
      b.begin();
      b.append(bytes(200_000));
      b.release();
    }
    expect(b.capacity).toBeLessThan(600_000);
    expect(b.capacity).toBeGreaterThanOrEqual(200_000);
  });
});

describe('ResponseBufferPool', () => {
  it('hands back released buffers and keeps at most `keep` idle', () => {
    const pool = new ResponseBufferPool(2);
    const [a, b, c] = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(pool.created).toBe(3);
    pool.release(a);
    pool.release(b);
    pool.release(c); // over `keep`: dropped
    const again = [pool.acquire(), pool.acquire()];
    expect(new Set(again)).toEqual(new Set([a, b]));
    expect(pool.created).toBe(3);
    pool.acquire();
    expect(pool.created).toBe(4);
  });
});
