import { describe, expect, it } from 'vitest';
import { REDACTED, isSecretKey, pickAllowed, redactMap, stripCredentials } from './index.ts';

describe('isSecretKey', () => {
  it.each([
    'password', 'chappassword', 'incoming_chappassword', 'chappassword_secret', 'cifspassword', 'cifspassword_secret',
    'password_secret', 'chapuser', 'incoming_chapuser', 'username', 'user', 'PassWord', 'api_key', 'apikey', 'token',
    'auth', 'credentials', 'session_id', 'private_key', 'repository_proxy_password', 'passwd', 'pass',
  ])('treats %s as secret', (key) => {
    expect(isSecretKey(key)).toBe(true);
  });

  it.each([
    'target', 'targetIQN', 'port', 'SCSIid', 'ScsiId', 'server', 'serverpath', 'nfsversion', 'location', 'type', 'vers',
    'device', 'provider', 'multihomed', 'allocation', 'options',
  ])('lets %s through', (key) => {
    expect(isSecretKey(key)).toBe(false);
  });
});

describe('stripCredentials', () => {
  it.each([
    ['//user:pw@fs/share', '//fs/share'],
    ['https://user:pw@host/x', 'https://host/x'],
    ['\\\\user@fs\\share', '\\\\fs\\share'],
    ['//fs/share', '//fs/share'],
    ['nas:/export', 'nas:/export'],
    ['a@b', 'a@b'],
  ])('%s → %s', (raw, expected) => {
    expect(stripCredentials(raw)).toBe(expected);
  });
});

describe('pickAllowed', () => {
  it('keeps only allow-listed, non-secret keys, with URL credentials stripped', () => {
    const source = { server: '//u:p@fs/share', password: 'p', chapuser: 'u', other: 'x' };
    // `password` on the allow-list by mistake is still dropped: the deny-list is the second guard.
    expect(pickAllowed(source, ['server', 'password', 'chapuser', 'missing'])).toEqual({ server: '//fs/share' });
  });

  it('ignores inherited properties and non-string values', () => {
    const source = Object.assign(Object.create({ inherited: 'x' }) as Record<string, string>, { n: 1 as unknown as string });
    expect(pickAllowed(source, ['inherited', 'n', 'toString'])).toEqual({});
    expect(pickAllowed(undefined, ['x'])).toEqual({});
  });
});

describe('redactMap', () => {
  it('keeps key names and hides secret values', () => {
    expect(redactMap({ target: '10.0.0.1', chappassword: 'p', location: '//u:p@fs/x', n: 3 })).toEqual({
      target: '10.0.0.1',
      chappassword: REDACTED,
      location: '//fs/x',
      n: 3,
    });
  });
});
