import { hash } from 'node:crypto';
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

/**
 * The chain value of `revision`, following the chain value `previous` (hex): SHA-256 over the previous value's
 * 32 bytes, then for each field in order a 0 byte when it is absent, else a 1 byte, its UTF-8 length (4 bytes,
 * big-endian) and its UTF-8 text. The bytes are laid out in one buffer and hashed at once: a dozen small
 * updates cost more than the hashing itself.
 */
export function nextChain(previous: string, revision: ChainedFields): string {
  const texts: (string | null)[] = [];
  let length = Buffer.byteLength(previous, 'hex');
  for (const field of CHAINED_FIELDS) {
    const value = revision[field];
    const text =
      value === null || value === undefined ? null : typeof value === 'string' ? value : String(Number(value));
    texts.push(text);
    length += text === null ? 1 : 5 + Buffer.byteLength(text, 'utf8');
  }
  const bytes = Buffer.allocUnsafe(length);
  let at = bytes.write(previous, 0, 'hex');
  for (const text of texts) {
    if (text === null) {
      bytes[at++] = 0;
      continue;
    }
    bytes[at] = 1;
    at += 5;
    const written = bytes.write(text, at, 'utf8');
    bytes.writeUInt32BE(written, at - 4);
    at += written;
  }
  return hash('sha256', bytes.subarray(0, at), 'hex');
}

/** The prefix of a chain value that cursors and tokens carry. */
export function chainPrefix(chain: string): string {
  return chain.slice(0, CHAIN_PREFIX_LENGTH);
}
