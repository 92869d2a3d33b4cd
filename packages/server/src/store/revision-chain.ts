import { createHash } from 'node:crypto';
import type { RevisionsTable } from './schema.js';

/**
 * The revision log is a hash chain: each revision's `chain` is SHA-256 over
 * the previous revision's chain value and every column of the revision
 * itself (docs/data-model.md, "The revision chain"). Two logs that agree on
 * the chain value at a sequence number hold the same revisions up to it, so
 * a cursor, a sync token or a backup journal carrying the value can tell a
 * log that was rolled back and written again from the one it came from, even
 * when the rollback also took back every marker kept beside the database.
 */

/** The chain value "before the first revision": 32 zero bytes, hex. */
export const GENESIS_CHAIN = '0'.repeat(64);

/** How many hex characters of the chain value cursors and sync tokens carry (8 bytes). */
export const CHAIN_PREFIX_LENGTH = 16;

export type ChainedFields = Omit<RevisionsTable, 'chain'>;

/** The fields hashed, in this order; numbers as decimal text, absent values as null. Every column but the chain. */
export const CHAINED_FIELDS = [
  'seq',
  'user_id',
  'entity',
  'op',
  'collection_id',
  'item_id',
  'device_id',
  'origin',
  'content_type',
  'content',
  'blob_sha256',
  'blob_content_type',
  'meta',
  'content_hash',
  'size',
  'base_seq',
  'client_change_id',
  'created_at',
] as const satisfies readonly (keyof ChainedFields)[];

const NULL = Buffer.from([0]);

/** The chain value of `revision`, following the chain value `previous` (hex). */
export function nextChain(previous: string, revision: ChainedFields): string {
  const hash = createHash('sha256');
  hash.update(Buffer.from(previous, 'hex'));
  // update() copies what it is given, so one header serves every field (an import chains 100,000 in a row).
  const header = Buffer.alloc(5);
  header[0] = 1;
  for (const field of CHAINED_FIELDS) {
    const value = revision[field];
    if (value === null || value === undefined) {
      hash.update(NULL);
      continue;
    }
    const text = typeof value === 'string' ? value : String(Number(value));
    header.writeUInt32BE(Buffer.byteLength(text, 'utf8'), 1);
    hash.update(header);
    hash.update(text, 'utf8');
  }
  return hash.digest('hex');
}

/** The prefix of a chain value that cursors and tokens carry. */
export function chainPrefix(chain: string): string {
  return chain.slice(0, CHAIN_PREFIX_LENGTH);
}
