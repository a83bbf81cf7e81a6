import { describe, expect, it } from 'vitest';
import { mpathEntries, parsePathCount } from '../../src/lib/storage/index.ts';

describe('parsePathCount', () => {
  it.each([
    ['[2, 4]', { active: 2, max: 4 }],
    ['[2,4]', { active: 2, max: 4 }],
    ['[0, 2]', { active: 0, max: 2 }],
    ['[16, 16]', { active: 16, max: 16 }],
  ])('parses %j', (raw, expected) => {
    expect(parsePathCount(raw)).toEqual(expected);
  });

  it.each([[''], ['[]'], ['[2]'], ['2/4'], ['[2,  4]'], [' [2, 4]'], ['[-1, 2]'], ['[2, 4] '], ['[a, b]'], ['[1.5, 2]'], ['[99999999999999999999, 1]']])(
    'rejects %j',
    (raw) => {
      expect(parsePathCount(raw)).toBeUndefined();
    },
  );

  it('rejects a missing value', () => {
    expect(parsePathCount(undefined)).toBeUndefined();
  });
});

describe('mpathEntries', () => {
  it('lists mpath-<SCSIid> keys sorted by SCSI id, ignoring mpath-boot and other keys', () => {
    expect(
      mpathEntries({ 'mpath-b': '[1, 1]', multipathed: 'true', 'mpath-boot': '[1, 1]', 'mpath-a': '', 'mpath-': '[1, 1]', iscsi_sessions: '2' }),
    ).toEqual([
      { scsiId: 'a', key: 'mpath-a', raw: '' },
      { scsiId: 'b', key: 'mpath-b', raw: '[1, 1]' },
    ]);
  });
});
