import { describe, expect, it } from 'vitest';
import { objectFailure } from './envelope.js';
import { decodeSnapshotRecords, isRevision } from './record-check.js';
import { revisionSchema } from './schemas.js';

const item = {
  seq: 7,
  userId: 'u1',
  entity: 'item',
  collectionId: 'c1',
  itemId: 'note-1',
  op: 'put',
  deviceId: 'd1',
  origin: 'sync',
  contentType: 'application/json',
  content: '{"title":"x"}',
  blob: { sha256: 'a'.repeat(64), contentType: 'image/jpeg' },
  meta: null,
  hash: 'h',
  size: 13,
  baseSeq: 3,
  clientChangeId: 'cc',
  at: '2026-01-02T03:04:05.678Z',
  chain: 'b'.repeat(64),
};
const collection = { ...item, entity: 'collection', itemId: null, blob: null, chain: undefined };
delete (collection as Record<string, unknown>).chain;

/** Every field replaced by values of other shapes and edge values, one at a time, plus missing and extra fields. */
function variants(base: Record<string, unknown>): unknown[] {
  const values: unknown[] = [
    undefined,
    null,
    0,
    -0,
    1,
    -1,
    1.5,
    2 ** 53,
    Number.NaN,
    '',
    'x',
    'é',
    ' bad id',
    '.x',
    'x'.repeat(128),
    'x'.repeat(129),
    'x'.repeat(255),
    'x'.repeat(256),
    'x'.repeat(257),
    'a'.repeat(64),
    'A'.repeat(64),
    'a'.repeat(63),
    'item',
    'collection',
    'put',
    'delete',
    '2026-02-29T00:00:00Z',
    '2028-02-29T00:00:00Z',
    '2026-01-02T03:04:05+01:00',
    '2026-01-02T03:04:05',
    '2026-01-02 03:04:05Z',
    true,
    [],
    {},
    { sha256: 'a'.repeat(64) },
    { sha256: 'a'.repeat(64), contentType: '' },
    { sha256: 'a'.repeat(64), contentType: 'x', extra: 1 },
    { sha256: 'A'.repeat(64), contentType: 'x' },
  ];
  const out: unknown[] = [base, null, [], 'x', { ...base, extra: 1 }, { ...base, __proto__: null }];
  out.push(JSON.parse(`{"__proto__": 1, ${JSON.stringify(base).slice(1)}`));
  for (const key of Object.keys({ ...item, ...base })) {
    for (const value of values) {
      const next: Record<string, unknown> = { ...base };
      if (value === undefined) delete next[key];
      else next[key] = value;
      out.push(next);
    }
  }
  return out;
}

describe('the plain record checks', () => {
  it('accept exactly what revisionSchema accepts', () => {
    const cases = [
      ...variants(item),
      ...variants(collection),
      ...variants({ ...item, op: 'delete', content: null, blob: null }),
    ];
    let accepted = 0;
    for (const value of cases) {
      const expected = revisionSchema.safeParse(value).success;
      expect(isRevision(value), JSON.stringify(value)?.slice(0, 300)).toBe(expected);
      if (expected) accepted += 1;
    }
    // Both sides of the comparison are exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(cases.length - accepted).toBeGreaterThan(500);
  });

  it('decode a data object, and name what breaks the schema otherwise', () => {
    const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');
    expect(decodeSnapshotRecords('data/x', bytes({ records: [item] }))).toEqual([item]);
    const failures = [
      bytes({ records: [{ ...item, op: 'delete', content: null, blob: null }] }),
      bytes({ records: [{ ...item, size: -1 }] }),
      bytes({ records: [item], extra: true }),
      bytes([item]),
      Buffer.from('{"records": [', 'utf8'),
      Buffer.from([0x7b, 0xff, 0x7d]),
    ];
    for (const payload of failures) {
      let error: unknown;
      try {
        decodeSnapshotRecords('data/x', payload);
      } catch (caught) {
        error = caught;
      }
      expect(objectFailure(error)).toBe('invalid');
    }
  });
});
