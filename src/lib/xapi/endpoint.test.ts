import { describe, expect, it } from 'vitest';
import { endpointForAddress, parseEndpoint } from './endpoint.ts';
import { encodeQuery } from './pool.ts';

describe('endpoints', () => {
  it.each([
    ['https://10.0.0.1', 'https:', '10.0.0.1', undefined, 'https://10.0.0.1'],
    ['https://[fd00::1]:443', 'https:', 'fd00::1', undefined, 'https://[fd00::1]'],
    ['https://[fd00::1]:8443/', 'https:', 'fd00::1', 8443, 'https://[fd00::1]:8443'],
    ['http://xcp1.example.com:8080', 'http:', 'xcp1.example.com', 8080, 'http://xcp1.example.com:8080'],
  ])('parses %s', (url, protocol, host, port, origin) => {
    expect(parseEndpoint(url)).toEqual({ protocol, host, port, origin });
  });

  it('rejects URLs with credentials or another scheme', () => {
    expect(() => parseEndpoint('https://root:pw@10.0.0.1')).toThrow(/credentials/);
    expect(() => parseEndpoint('ftp://10.0.0.1')).toThrow(/http/);
  });

  it('builds a HOST_IS_SLAVE target with the seed scheme and port, bracketing IPv6', () => {
    const seed = parseEndpoint('https://[fd00::2]:8443');
    expect(endpointForAddress(seed, 'fd00::1').origin).toBe('https://[fd00::1]:8443');
    expect(endpointForAddress(seed, '[fd00::1]').host).toBe('fd00::1');
    expect(endpointForAddress(seed, '192.168.1.10').origin).toBe('https://192.168.1.10:8443');
    expect(endpointForAddress(parseEndpoint('http://10.0.0.2'), 'master.example.com').origin).toBe('http://master.example.com');
  });
});

describe('encodeQuery', () => {
  it('percent-encodes with %20 (xapi does not read + as a space) and repeats array keys', () => {
    expect(encodeQuery({ start: '-60', cf: 'AVERAGE', vm_uuid: ['a', 'b'], note: 'a b+c' })).toBe('?start=-60&cf=AVERAGE&vm_uuid=a&vm_uuid=b&note=a%20b%2Bc');
    expect(encodeQuery({})).toBe('');
  });
});
