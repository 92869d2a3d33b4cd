import { createHash } from 'node:crypto';
import { put, putCollection } from '@holdfast/test-support/backup-fixtures';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeDigests, EMPTY_COLLECTION_DIGEST } from './digest.js';
import type { Revision } from './schemas.js';

/** One item's contribution, written out independently of digest.ts. */
const itemDigest = (itemId: string, hash: string) =>
  createHash('sha256').update(`${itemId}\n${hash}`, 'utf8').digest().subarray(0, 16);

const xor = (...parts: Buffer[]) => {
  const out = Buffer.alloc(16);
  for (const part of parts) for (let i = 0; i < 16; i++) out[i] = (out[i] ?? 0) ^ (part[i] ?? 0);
  return out.toString('hex');
};

describe('computeDigests', () => {
  it('computes count and XOR digest of live items exactly as docs/backup-format.md specifies', () => {
    const blob = { sha256: 'b'.repeat(64), contentType: 'image/jpeg' };
    const records: Revision[] = [
      put(3, 'z', 'last', { hash: 'h3' }),
      put(1, 'a', 'first', { hash: 'h1' }),
      put(2, 'm', '{}', { hash: null, blob }),
      putCollection(4, 'empty'),
      { ...put(5, 'gone', 'x'), op: 'delete', content: null, hash: null },
    ];
    expect(computeDigests(records)).toEqual({
      alice: {
        empty: { count: 0, hash: EMPTY_COLLECTION_DIGEST },
        notes: { count: 3, hash: xor(itemDigest('a', 'h1'), itemDigest('m', ''), itemDigest('z', 'h3')) },
      },
    });
  });

  it('does not depend on the order records arrive in', () => {
    const records = Array.from({ length: 20 }, (_, i) =>
      put(i + 1, `item-${i}`, `content ${i}`, { userId: i % 3 === 0 ? 'bob' : 'alice', collectionId: `c${i % 4}` }),
    );
    const expected = computeDigests(records);
    fc.assert(
      fc.property(fc.shuffledSubarray(records, { minLength: records.length }), (shuffled) => {
        expect(computeDigests(shuffled)).toEqual(expected);
      }),
    );
  });

  it('rejects two head revisions for one entity', () => {
    expect(() => computeDigests([put(1, 'a', 'x'), put(2, 'a', 'y')])).toThrow(/appears twice/);
    expect(() => computeDigests([putCollection(1, 'c'), putCollection(2, 'c')])).toThrow(/appears twice/);
  });
});
