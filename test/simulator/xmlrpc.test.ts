import { describe, expect, it } from 'vitest';
import { PoolDb, formatToken, parseToken } from '../../src/simulator/model.ts';
import {
  RpcDateTime, RpcDouble, RpcInt32, encodeValue, failureResponse, formatG16, formatXapiDate, parseMethodCall, successResponse,
} from '../../src/simulator/xmlrpc.ts';

describe('xapi XML-RPC encoding', () => {
  it.each([
    [1, '1'], [0.1, '0.1'], [1 / 3, '0.3333333333333333'], [1e20, '1e+20'], [1.5e-7, '1.5e-07'], [123456789012, '123456789012'],
    [-2.5, '-2.5'], [0, '0'], [Infinity, 'inf'], [-Infinity, '-inf'], [NaN, 'nan'], [60.1, '60.1'], [1e16, '1e+16'], [0.0001, '0.0001'],
  ])('formats %s as %%.16g = %s', (x, s) => {
    expect(formatG16(x)).toBe(s);
  });

  it('writes dates as YYYYMMDDTHH:MM:SSZ', () => {
    expect(formatXapiDate(Date.UTC(2024, 0, 2, 3, 4, 5))).toBe('20240102T03:04:05Z');
    expect(formatXapiDate(0)).toBe('19700101T00:00:00Z');
  });

  it('encodes a success envelope byte for byte', () => {
    expect(successResponse('OpaqueRef:abc')).toBe(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Success</value></member><member><name>Value</name><value>OpaqueRef:abc</value></member></struct></value></param></params></methodResponse>',
    );
    expect(successResponse('')).toContain('<member><name>Value</name><value></value></member>');
  });

  it('encodes a failure envelope byte for byte', () => {
    expect(failureResponse('HOST_IS_SLAVE', ['192.168.1.10'])).toBe(
      '<?xml version="1.0"?><methodResponse><params><param><value><struct><member><name>Status</name><value>Failure</value></member><member><name>ErrorDescription</name><value><array><data><value>HOST_IS_SLAVE</value><value>192.168.1.10</value></data></array></value></member></struct></value></param></params></methodResponse>',
    );
  });

  it('encodes every value type as xapi does', () => {
    expect(encodeValue(true)).toBe('<value><boolean>1</boolean></value>');
    expect(encodeValue(new RpcDouble(60.1))).toBe('<value><double>60.1</double></value>');
    expect(encodeValue(new RpcInt32(7))).toBe('<value><i4>7</i4></value>');
    expect(encodeValue(new RpcDateTime(Date.UTC(2025, 11, 31, 23, 59, 59)))).toBe('<value><dateTime.iso8601>20251231T23:59:59Z</dateTime.iso8601></value>');
    expect(encodeValue(['a<b', 'x&"y'])).toBe('<value><array><data><value>a&lt;b</value><value>x&amp;&quot;y</value></data></array></value>');
    // map keys are written unescaped (ocaml-rpc add_member)
    expect(encodeValue(new Map([['k<', 'v']]))).toBe('<value><struct><member><name>k<</name><value>v</value></member></struct></value>');
  });

  it('decodes typed, untyped and pretty-printed requests', () => {
    const pretty = `<?xml version='1.0'?>\n<methodCall>\n    <methodName>event.from</methodName>\n    <params>\n        <param><value><string>OpaqueRef:s</string></value></param>\n        <param><value><array><data>\n<value><string>vm</string></value><value>host</value></data></array></value></param>\n        <param><value></value></param>\n        <param><value><double>60.1</double></value></param>\n        <param><value><i8>42</i8></value></param>\n        <param><value><boolean>1</boolean></value></param>\n        <param><value><struct><member><name>a</name><value><int>1</int></value></member></struct></value></param>\n    </params>\n</methodCall>\n`;
    expect(parseMethodCall(pretty)).toEqual({ method: 'event.from', params: ['OpaqueRef:s', ['vm', 'host'], '', 60.1, 42, true, { a: 1 }] });
  });

  it('rejects malformed XML', () => {
    expect(() => parseMethodCall('<methodCall><methodName>x</methodName><params>')).toThrow(/malformed/);
  });
});

describe('PoolDb events', () => {
  it('coalesces per object and reports EVENTS_LOST past the bounded log', () => {
    const db = new PoolDb(5);
    const a = db.add('network', 'OpaqueRef:a', { uuid: 'ua', name_label: 'a' });
    const t0 = db.generation;
    db.set(a.ref, 'name_label', 'a1');
    db.set(a.ref, 'name_label', 'a2');
    db.add('network', 'OpaqueRef:b', { uuid: 'ub' });
    const ev = db.changesSince(t0, new Set(['network'])) ?? [];
    expect(ev.map((e) => [e.ref, e.op])).toEqual([['OpaqueRef:a', 'mod'], ['OpaqueRef:b', 'add']]);
    expect(ev[0]?.snapshot).toContain('<value>a2</value>');
    db.remove('OpaqueRef:a');
    expect(db.changesSince(t0, 'all')?.find((e) => e.ref === 'OpaqueRef:a')?.op).toBe('del');
    for (let i = 0; i < 10; i++) db.set('OpaqueRef:b', 'name_label', `b${i}`);
    expect(db.changesSince(t0, 'all')).toBeUndefined();
    expect(db.changesSince(db.generation - 1, 'all')?.length).toBe(1);
  });

  // What test/simulator/process.test.ts "scale" used to infer from time-to-first-byte (a wall-clock check that
  // belongs in bench/): a repeated get_all_records is served from the cache, and a change re-encodes correctly.
  it('caches the get_all_records response until its class changes; the re-encoded one equals a fresh encoding', () => {
    const build = (labels: string[]): PoolDb => {
      const db = new PoolDb();
      labels.forEach((label, i) => db.add('network', `OpaqueRef:n${i}`, { uuid: `u${i}`, name_label: label }));
      db.add('pool', 'OpaqueRef:p', { uuid: 'up', name_label: 'pool' });
      return db;
    };
    const db = build(['a', 'b', 'c']);
    const first = db.allRecordsResponse('network');
    expect(db.allRecordsResponse('network')).toBe(first);
    db.set('OpaqueRef:p', 'name_label', 'pool2'); // another class: the network response stays cached
    expect(db.allRecordsResponse('network')).toBe(first);
    db.set('OpaqueRef:n1', 'name_label', 'b2');
    const changed = db.allRecordsResponse('network');
    expect(changed).not.toBe(first);
    expect(changed.bytes.toString('utf8')).toBe(build(['a', 'b2', 'c']).allRecordsResponse('network').bytes.toString('utf8'));
    expect(db.allRecordsResponse('network')).toBe(changed);
  });

  it('formats tokens as %020d,%020d and parses them back', () => {
    expect(formatToken(82)).toBe('00000000000000000082,00000000000000000000');
    expect(parseToken('00000000000000000082,00000000000000000000')).toBe(82);
    expect(parseToken('')).toBe(0);
    expect(parseToken('garbage')).toBeUndefined();
  });
});
