import { describe, expect, it } from 'vitest';
import { chooseFormat } from './accept.ts';
import { wireProfileFor } from './wire-profile.ts';

const current = wireProfileFor('current'); // 26.17.0: negotiation, unparseable → fallback
const v24 = wireProfileFor('24.10.0'); // negotiation, unparseable → 500
const old = wireProfileFor('ch-8.2'); // no negotiation

describe('Accept negotiation (notes §1.3)', () => {
  it.each([
    ['*/*', false, 'json'],
    ['text/xml,*/*', false, 'json'],
    ['application/json', false, 'json'],
    ['text/xml', true, 'xml'],
    ['text/html', false, 'xml'],
    ['text/html', true, 'json'],
    ['application/xml', false, 'xml'],
    ['text/xml, */*', false, 'xml'], // untrimmed entry " */*" has type " *": matches nothing
    ['application/json, text/xml', false, 'json'],
    ['text/xml, application/json', false, 'xml'],
    ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', false, 'json'],
    ['text/xml;q=0.9,application/json;q=0.5', false, 'xml'],
    ['text/xml,*/*;q=0.1', false, 'xml'],
    ['text/*', true, 'xml'],
    ['application/*', false, 'json'],
    ['text/xml; q=0.1,application/json;q=0.5', false, 'xml'], // " q" is not the q parameter
    ['  application/json  ', false, 'json'], // the whole value is trimmed
    ['', true, 'json'],
    ['', false, 'xml'],
  ] as const)('%j (json key %s) → %s', (accept, jsonKey, want) => {
    expect(chooseFormat(accept, jsonKey, current)).toEqual({ kind: want });
  });

  it('no Accept header: the json key decides, whatever its value', () => {
    expect(chooseFormat(undefined, true, current)).toEqual({ kind: 'json' });
    expect(chooseFormat(undefined, false, current)).toEqual({ kind: 'xml' });
  });

  it.each(['text', 'text/xml;level', 'a/b/c', 'text/xml, ,application/json'])('unparseable %j → 500 in 23.17–25.6, fallback from 25.7', (accept) => {
    const r = chooseFormat(accept, true, v24);
    expect(r.kind).toBe('error');
    expect(chooseFormat(accept, true, current)).toEqual({ kind: 'json' });
    expect(chooseFormat(accept, false, current)).toEqual({ kind: 'xml' });
  });

  it('before 23.17.0 only the json key counts', () => {
    expect(chooseFormat('application/json', false, old)).toEqual({ kind: 'xml' });
    expect(chooseFormat('text/xml', true, old)).toEqual({ kind: 'json' });
    expect(chooseFormat('garbage', true, old)).toEqual({ kind: 'json' });
  });
});

describe('wire profiles (notes §7)', () => {
  it.each([
    ['current', true, false, 'strings', '%.15g', true],
    ['xcp-ng-8.3', true, false, 'strings', '%.15g', false],
    ['ch-8.2', false, false, 'legacy', '%.4f', false],
    ['1.249.38', false, false, 'legacy', '%.4f', false],
    ['23.16.0', false, false, 'legacy', '%.4f', false],
    ['23.17.0', true, true, 'legacy', '%.4f', false],
    ['24.5.0', true, true, 'nested', '%.5g', false],
    ['24.10.3', true, true, 'nested', '%.5g', false],
    ['24.11.0', true, true, 'strings', '%.5g', false],
    ['25.2.9', true, true, 'strings', '%.5g', false],
    ['25.3.0', true, true, 'strings', '%.15g', false],
    ['25.6.1', true, true, 'strings', '%.15g', false],
    ['25.7.0', true, false, 'strings', '%.15g', false],
    ['26.6.99', true, false, 'strings', '%.15g', false],
    ['26.7.0', true, false, 'strings', '%.15g', true],
  ] as const)('%s', (version, accept, accept500, dialect, fmt, multi) => {
    const p = wireProfileFor(version);
    expect([p.acceptNegotiation, p.unparseableAcceptIs500, p.jsonDialect, p.numberFormat, p.multiUuidFilters]).toEqual([accept, accept500, dialect, fmt, multi]);
  });

  it('rejects nonsense with a coded error', () => {
    expect(() => wireProfileFor('latest')).toThrow(expect.objectContaining({ code: 'RRD_ERR_BAD_XAPI_VERSION' }));
  });
});
