import type { Insertable } from 'kysely';
import { type AccountInsertRows, insertAccountRows } from './account-state.js';
import type { Db } from './database.js';
import { GENESIS_CHAIN, nextChain } from './revision-chain.js';
import type { RevisionRow } from './revision-log.js';
import type { CollectionsTable, ItemsTable, UsersTable } from './schema.js';

/** Everything a restore writes into an empty database, in one transaction. */
export interface RestoredRows {
  /** The account tables, or null when the backup carries none. */
  accounts: AccountInsertRows | null;
  /** Accounts made up for users the log names but no account state holds. */
  placeholderUsers: Insertable<UsersTable>[];
  revisions: RevisionRow[];
  collections: Insertable<CollectionsTable>[];
  items: Insertable<ItemsTable>[];
  /** The log head after the restore. */
  headSeq: number;
  /** Blobs already in the blob store, with the users who may read each. */
  blobs: { sha256: string; size: number; owners: Iterable<string> }[];
}

/**
 * Writes a restored log, its materialised heads, the account tables and the
 * blob index in one transaction, in multi-row inserts sized under SQLite's limit on bound
 * parameters. The log is written as it was (sequence numbers included), so
 * this bypasses the log lock that live writers take: only for a database
 * nothing else writes to.
 */
export async function writeRestoredRows(db: Db, rows: RestoredRows): Promise<void> {
  const revisions = chainRestored(rows.revisions);
  await db.kysely.transaction().execute(async (trx) => {
    if (rows.accounts) await insertAccountRows(trx, rows.accounts);
    for (const user of rows.placeholderUsers) await trx.insertInto('users').values(user).execute();
    for (let i = 0; i < revisions.length; i += 200)
      await trx
        .insertInto('revisions')
        .values(revisions.slice(i, i + 200))
        .execute();
    for (let i = 0; i < rows.collections.length; i += 200)
      await trx
        .insertInto('collections')
        .values(rows.collections.slice(i, i + 200))
        .execute();
    for (let i = 0; i < rows.items.length; i += 300)
      await trx
        .insertInto('items')
        .values(rows.items.slice(i, i + 300))
        .execute();
    // In the same transaction: one commit (one fsync) for every blob instead of one or more per blob.
    const now = Date.now();
    const blobRows = rows.blobs.map((b) => ({ sha256: b.sha256, size: b.size, created_at: now }));
    for (let i = 0; i < blobRows.length; i += 300)
      await trx
        .insertInto('blobs')
        .values(blobRows.slice(i, i + 300))
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
    const access = rows.blobs.flatMap((b) =>
      [...b.owners].map((userId) => ({ user_id: userId, sha256: b.sha256, created_at: now })),
    );
    for (let i = 0; i < access.length; i += 300)
      await trx
        .insertInto('user_blobs')
        .values(access.slice(i, i + 300))
        .onConflict((oc) => oc.columns(['user_id', 'sha256']).doNothing())
        .execute();
    // The head may be past the last revision kept (a snapshot holds only heads): it continues from that one.
    const lastChain = revisions.at(-1)?.chain ?? GENESIS_CHAIN;
    await trx
      .updateTable('log_head')
      .set({ last_seq: rows.headSeq, last_chain: lastChain })
      .where('id', '=', 1)
      .execute();
  });
}

/**
 * The restored log keeps the chain values the backup recorded, so it goes on
 * continuing the chain its targets witnessed; revisions from journals written
 * before the chain get theirs computed from the one before.
 */
function chainRestored(revisions: RevisionRow[]): RevisionRow[] {
  let chain = GENESIS_CHAIN;
  return revisions.map((row) => {
    chain = row.chain !== '' ? row.chain : nextChain(chain, row);
    return { ...row, chain };
  });
}
