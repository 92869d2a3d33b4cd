import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, RevisionsTable } from './schema.js';

export type RevisionRow = Selectable<RevisionsTable>;
export type NewRevision = Omit<RevisionsTable, 'seq'>;
type Executor = Kysely<Database> | Transaction<Database>;

/**
 * Takes the log's write lock for the rest of the transaction and returns the
 * current head. Every writer goes through here first, so sequence numbers are
 * handed out in commit order with no gaps, even with several servers on one
 * PostgreSQL: a reader that has seen seq N has seen everything below N.
 */
export async function lockLogHead(trx: Transaction<Database>, engine: 'sqlite' | 'postgres'): Promise<number> {
  // SQLite: the UPDATE takes the database write lock; PostgreSQL: the row lock.
  const row =
    engine === 'postgres'
      ? await trx.selectFrom('log_head').select('last_seq').where('id', '=', 1).forUpdate().executeTakeFirstOrThrow()
      : await trx
          .updateTable('log_head')
          .set((eb) => ({ last_seq: eb.ref('last_seq') }))
          .where('id', '=', 1)
          .returning('last_seq')
          .executeTakeFirstOrThrow();
  return row.last_seq;
}

/**
 * Appends revisions after `head` (the value from `lockLogHead`, or the last
 * seq appended since) in the same transaction; returns their sequence
 * numbers in order. The caller records the new head with `advanceLogHead`
 * before committing.
 */
export async function appendRevisions(
  trx: Transaction<Database>,
  head: number,
  revisions: NewRevision[],
): Promise<number[]> {
  if (revisions.length === 0) return [];
  const seqs = revisions.map((_, i) => head + i + 1);
  const rows = revisions.map((r, i) => ({ ...r, seq: seqs[i] as number }));
  // Bounded by SQLite's limit on bound parameters per statement.
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto('revisions')
      .values(rows.slice(i, i + 500))
      .execute();
  }
  return seqs;
}

/** Records the last seq appended in this transaction, which still holds the log lock. */
export async function advanceLogHead(trx: Transaction<Database>, last: number): Promise<void> {
  await trx.updateTable('log_head').set({ last_seq: last }).where('id', '=', 1).execute();
}

/** The last sequence number handed out (committed). */
export async function readHead(db: Executor): Promise<number> {
  const row = await db.selectFrom('log_head').select('last_seq').where('id', '=', 1).executeTakeFirstOrThrow();
  return row.last_seq;
}

/** A user's revisions after `afterSeq`, up to `uptoSeq`, in sequence order. */
export async function readUserRevisions(
  db: Executor,
  userId: string,
  afterSeq: number,
  uptoSeq: number,
  limit: number,
): Promise<RevisionRow[]> {
  return db
    .selectFrom('revisions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('seq', '>', afterSeq)
    .where('seq', '<=', uptoSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** Every revision of one item, oldest first. */
export async function readItemRevisions(
  db: Executor,
  userId: string,
  itemId: string,
  options: { afterSeq?: number; limit: number },
): Promise<RevisionRow[]> {
  return db
    .selectFrom('revisions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('entity', '=', 'item')
    .where('item_id', '=', itemId)
    .where('seq', '>', options.afterSeq ?? 0)
    .orderBy('seq')
    .limit(options.limit)
    .execute();
}

/** One revision by sequence number, only if it belongs to the user. */
export async function readRevision(db: Executor, userId: string, seq: number): Promise<RevisionRow | undefined> {
  return db.selectFrom('revisions').selectAll().where('user_id', '=', userId).where('seq', '=', seq).executeTakeFirst();
}

/** Every user's revisions after `afterSeq`, up to `uptoSeq`, in sequence order: what a backup ships. */
export async function readRevisionRange(
  db: Executor,
  afterSeq: number,
  uptoSeq: number,
  limit: number,
): Promise<RevisionRow[]> {
  return db
    .selectFrom('revisions')
    .selectAll()
    .where('seq', '>', afterSeq)
    .where('seq', '<=', uptoSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** The revisions with these sequence numbers, in sequence order; the caller bounds how many it asks for. */
export async function readRevisionsBySeq(db: Executor, seqs: number[]): Promise<RevisionRow[]> {
  return db.selectFrom('revisions').selectAll().where('seq', 'in', seqs).orderBy('seq').execute();
}

/** When the first revision after `afterSeq` was committed, or undefined when there is none. */
export async function readFirstRevisionTimeAfter(db: Executor, afterSeq: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('revisions')
    .select('created_at')
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  return row?.created_at;
}
