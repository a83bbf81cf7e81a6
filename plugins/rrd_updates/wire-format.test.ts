import { describe, expect, it } from 'vitest';
import { parseXapiVersion, speaksLegacyJson, wireFormatFor } from './wire-format.ts';

const CH82 = { product_version: '8.2.0', xapi: '1.20', build_number: 'release/stockholm/master/7' };

describe('rrd_updates wire format', () => {
  it.each([
    ['CH / XCP-ng 8.2 (no xapi_build; xapi is the API version)', CH82, 'xml'],
    ['xapi 22.9.0 (first with xapi_build)', { xapi: '2.15', xapi_build: '22.9.0' }, 'xml'],
    ['xapi 23.17.0 (Accept negotiation, still legacy JSON)', { xapi_build: '23.17.0' }, 'xml'],
    ['xapi 24.4.99', { xapi_build: '24.4.99' }, 'xml'],
    ['xapi 24.5.0 (yojson)', { xapi_build: '24.5.0' }, 'json'],
    ['xapi 24.10.0 (data nested in meta)', { xapi_build: '24.10.0' }, 'json'],
    ['XCP-ng 8.3 (xapi 26.4.0)', { product_version: '8.3.0', xapi: '24.4', xapi_build: '26.4.0' }, 'json'],
    ['a build with a suffix', { xapi_build: '25.3.0-1.2.xcpng8.3' }, 'json'],
    ['an unreadable xapi_build', { xapi_build: 'master' }, 'xml'],
    ['an empty software_version', {}, 'xml'],
  ] as const)('auto: %s → %s', (_name, softwareVersion, expected) => {
    expect(wireFormatFor('auto', { software_version: softwareVersion })).toBe(expected);
  });

  it('an explicit format wins over the version', () => {
    expect(wireFormatFor('json', { software_version: CH82 })).toBe('json');
    expect(wireFormatFor('xml', { software_version: { xapi_build: '26.17.0' } })).toBe('xml');
  });

  it('reads x.y.z versions only', () => {
    expect(parseXapiVersion('26.4.0')).toEqual([26, 4, 0]);
    expect(parseXapiVersion('1.20')).toBeUndefined();
    expect(parseXapiVersion(undefined)).toBeUndefined();
    expect(speaksLegacyJson(undefined)).toBe(true);
  });
});
