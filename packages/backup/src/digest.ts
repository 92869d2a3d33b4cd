import { hash } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { Digests, Revision } from './schemas.js';

/**
 * Digests say what each user's collections hold, so a restore can be checked
 * against the snapshot without trusting the restore code. They use the same
 * definition as the server's collection summaries (`count` and `digest` in
 * protocol/src/summary.ts), so a snapshot can also be compared with a live
 * server:
 *
 * For each (userId, collectionId), the live items are the head revisions with
 * `entity = 'item'` and `op = 'put'`. `count` is their number. `hash` is the
 * XOR, over the live items, of the first 16 bytes of
 * SHA-256(UTF-8(itemId + "\n" + (hash ?? ""))), as 32 lower-case hex digits
 * (all zeros when there are none). A live collection head with no live items
 * gives `{count: 0, hash: "000…0"}`. Heads with `op = 'delete'` contribute
 * nothing.
 */
export interface DigestBuilder {
  /** Adds the head revision of one entity; each entity may be added once. */
  add(record: DigestRecord): void;
  /** The digests of everything added, users and collections in sorted order. */
  digests(): Digests;
}

/** The fields of a revision that digests depend on. */
export type DigestRecord = Pick<Revision, 'userId' | 'collectionId' | 'itemId' | 'entity' | 'op' | 'hash'>;

/** 32 hex zeros: the digest of a collection without live items. */
export const EMPTY_COLLECTION_DIGEST = '0'.repeat(32);

interface Accumulator {
  count: number;
  digest: Buffer;
}

/** A builder that computes {@link Digests} incrementally (see {@link DigestBuilder}). */
export function digestBuilder(): DigestBuilder {
  const groups = new Map<string, Map<string, Accumulator>>();
  const seen = new Set<string>();
  return {
    add(record) {
      const entity = `${record.userId}\n${record.collectionId}\n${record.itemId ?? ''}\n${record.entity}`;
      if (seen.has(entity)) throw duplicate(record);
      seen.add(entity);
      if (record.op !== 'put') return;
      const user = groups.get(record.userId) ?? new Map<string, Accumulator>();
      groups.set(record.userId, user);
      const group = user.get(record.collectionId) ?? { count: 0, digest: Buffer.alloc(16) };
      user.set(record.collectionId, group);
      if (record.entity === 'collection' || record.itemId === null) return;
      // One-shot hash: no Hash object per item, which a restore of 100,000 items feels.
      const item = hash('sha256', `${record.itemId}\n${record.hash ?? ''}`, 'buffer');
      for (let i = 0; i < 16; i++) group.digest[i] = (group.digest[i] ?? 0) ^ (item[i] ?? 0);
      group.count += 1;
    },
    digests() {
      const result: Digests = {};
      for (const userId of [...groups.keys()].sort()) {
        const user = groups.get(userId) as Map<string, Accumulator>;
        const entry: Digests[string] = {};
        for (const collectionId of [...user.keys()].sort()) {
          const group = user.get(collectionId) as Accumulator;
          entry[collectionId] = { count: group.count, hash: group.digest.toString('hex') };
        }
        result[userId] = entry;
      }
      return result;
    },
  };
}

/** The digests of a set of head revisions (see {@link DigestBuilder}). */
export function computeDigests(records: Iterable<Revision>): Digests {
  const builder = digestBuilder();
  for (const record of records) builder.add(record);
  return builder.digests();
}

function duplicate(record: DigestRecord): AppError {
  const what = record.itemId === null ? 'collection' : `item ${record.itemId} of collection`;
  return new AppError('invalid_request', `${what} ${record.collectionId} of user ${record.userId} appears twice`);
}
