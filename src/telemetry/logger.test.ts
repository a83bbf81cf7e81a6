import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('writes JSON and redacts fixed secret paths', () => {
    const { lines, stream } = sink();
    const log = createLogger({ level: 'info', format: undefined, destination: stream as never });
    log.info({ pool: { password: 'pw1' }, session_id: 'OpaqueRef:s', headers: { authorization: 'Basic x' }, pbd: { device_config: { chappassword: 'c' } } }, 'hello');
    log.debug({}, 'not at info');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ msg: 'hello', pool: { password: '[REDACTED]' }, session_id: '[REDACTED]', headers: { authorization: '[REDACTED]' }, pbd: { device_config: '[REDACTED]' } });
    expect(lines[0]).not.toMatch(/pw1|OpaqueRef:s|Basic x|chappassword/);
  });

  it('writes text when asked', () => {
    const { lines, stream } = sink();
    createLogger({ level: 'info', format: 'text', destination: stream as never }).info({ password: 'pw2' }, 'plain');
    const text = lines.join('');
    expect(text).toContain('plain');
    expect(text).not.toContain('pw2');
    expect(() => JSON.parse(text)).toThrow();
  });
});
