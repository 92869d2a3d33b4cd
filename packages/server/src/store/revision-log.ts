import { type Selectable, sql, type Transaction } from 'kysely';
import { engineOf, insertMany } from './bulk-restore.js';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import { CHAINED_FIELDS, GENESIS_CHAIN, nextChain } from './revision-chain.js';
import type { Database, RevisionsTable } from './schema.js';

export type RevisionRow = Selectable<RevisionsTable>;
export type NewRevision = Omit<RevisionsTable, 'seq' | 'chain'>;

/** The log's head: the last sequence number handed out and the chain value there. */
export interface LogHead {
  seq: number;
  chain: string;
}

const CHUNK = 400;

/**
 * Takes the log's write lock for the rest of the transaction and returns the
 * current head. Every writer goes through here first, so sequence numbers are
 * handed out in commit order with no gaps, even with several servers on one
 * PostgreSQL: a reader that has seen seq N has seen everything below N.
 */
// Every write transaction runs these: compiled once.
const lockHeadSqlite = compiledOnce<{ last_seq: number; last_chain: string }, []>((db) =>
  db
    .updateTable('log_head')
    .set((eb) => ({ last_seq: eb.ref('last_seq') }))
    .where('id', '=', 1)
    .returning(['last_seq', 'last_chain']),
);
const lockHeadPostgres = compiledOnce<{ last_seq: number; last_chain: string }, []>((db) =>
  db.selectFrom('log_head').select(['last_seq', 'last_chain']).where('id', '=', 1).forUpdate(),
);
const advanceHead = compiledOnce<never, [number, string]>((db, [seq, chain]) =>
  db.updateTable('log_head').set({ last_seq: seq, last_chain: chain }).where('id', '=', 1),
);

export async function lockLogHead(trx: Transaction<Database>, engine: 'sqlite' | 'postgres'): Promise<LogHead> {
  // SQLite: the UPDATE takes the database write lock; PostgreSQL: the row lock.
  const [row] = await (engine === 'postgres' ? lockHeadPostgres : lockHeadSqlite)(trx);
  if (!row) throw new Error('The log head row is missing.');
  return { seq: Number(row.last_seq), chain: row.last_chain };
}

const REVISION_COLUMNS = [...CHAINED_FIELDS, 'chain'] as const satisfies readonly (keyof RevisionsTable)[];

// A write of one change (every DAV PUT) appends one revision: compiled once.
const oneRevisionInsert = compiledOnce<never, unknown[]>((db, slots) =>
  db
    .insertInto('revisions')
    .values(Object.fromEntries(REVISION_COLUMNS.map((c, i) => [c, slots[i]])) as unknown as RevisionRow),
);

/**
 * Appends revisions after `head` (the value from `lockLogHead`, or the head
 * returned by the last append since) in the same transaction, chaining each
 * to the one before; returns their sequence numbers in order and the new
 * head, and the rows as written (shipping takes them without reading them
 * back). The caller records the new head with `advanceLogHead` before
 * committing.
 */
export async function appendRevisions(
  trx: Transaction<Database>,
  head: LogHead,
  revisions: NewRevision[],
): Promise<{ seqs: number[]; head: LogHead; rows: RevisionRow[] }> {
  if (revisions.length === 0) return { seqs: [], head, rows: [] };
  const seqs = revisions.map((_, i) => head.seq + i + 1);
  let chain = head.chain;
  const rows = revisions.map((r, i) => {
    // Every column, in one order, absent values as null: the statement is prepared once for all rows.
    const row: RevisionRow = {
      seq: seqs[i] as number,
      user_id: r.user_id,
      entity: r.entity,
      op: r.op,
      collection_id: r.collection_id,
      item_id: r.item_id ?? null,
      device_id: r.device_id ?? null,
      origin: r.origin,
      content_type: r.content_type ?? null,
      content: r.content ?? null,
      blob_sha256: r.blob_sha256 ?? null,
      blob_content_type: r.blob_content_type ?? null,
      meta: r.meta ?? null,
      content_hash: r.content_hash ?? null,
      size: r.size,
      base_seq: r.base_seq ?? null,
      client_change_id: r.client_change_id ?? null,
      created_at: r.created_at,
      chain: '',
    };
    chain = nextChain(chain, row);
    row.chain = chain;
    return row;
  });
  if (rows.length === 1) {
    const row = rows[0] as RevisionRow;
    await oneRevisionInsert(trx, ...REVISION_COLUMNS.map((c) => row[c]));
    return { seqs, head: { seq: seqs[0] as number, chain }, rows };
  }
  // Prepared multi-row inserts: building each statement with the query builder costs more than running it.
  await insertMany(trx, engineOf(trx), 'revisions', rows);
  return { seqs, head: { seq: seqs[seqs.length - 1] as number, chain }, rows };
}

/** Records the last revision appended in this transaction, which still holds the log lock. */
export async function advanceLogHead(trx: Transaction<Database>, last: LogHead): Promise<void> {
  await advanceHead(trx, last.seq, last.chain);
}

// Every pull, push and event stream reads the head, and a pull its page: compiled once.
const headRow = compiledOnce<{ last_seq: number; last_chain: string }, []>((db) =>
  db.selectFrom('log_head').select(['last_seq', 'last_chain']).where('id', '=', 1),
);
const chainAtOrBelow = compiledOnce<{ chain: string }, [number]>((db, [seq]) =>
  db.selectFrom('revisions').select('chain').where('seq', '<=', seq).orderBy('seq', 'desc').limit(1),
);
const userRevisionsPage = compiledOnce<RevisionRow, [string, number, number, number]>(
  (db, [userId, afterSeq, uptoSeq, limit]) =>
    db
      .selectFrom('revisions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('seq', '>', afterSeq)
      .where('seq', '<=', uptoSeq)
      .orderBy('seq')
      .limit(limit),
);

/** The committed head with its chain value, read together. */
export async function readLogHead(on: Queryable): Promise<LogHead> {
  const [row] = await headRow(on);
  if (!row) throw new Error('The log head row is missing.');
  return { seq: Number(row.last_seq), chain: row.last_chain };
}

/**
 * The log's chain value at `seq`: that of the last revision at or below it
 * (a log restored from a snapshot has gaps: there the value is the one the
 * head had when it stood at `seq`); undefined when `seq` is past the head.
 * `head`, when the caller has just read it, saves reading it again.
 */
export async function readChainAt(on: Queryable, seq: number, head?: LogHead): Promise<string | undefined> {
  const at = head ?? (await readLogHead(on));
  if (seq > at.seq) return undefined;
  if (seq === at.seq) return at.chain;
  const [row] = await chainAtOrBelow(on, seq);
  return row?.chain ?? GENESIS_CHAIN;
}

/** The last sequence number handed out (committed). */
export async function readHead(on: Queryable): Promise<number> {
  return (await readLogHead(on)).seq;
}

/** A user's revisions after `afterSeq`, up to `uptoSeq`, in sequence order. */
export async function readUserRevisions(
  on: Queryable,
  userId: string,
  afterSeq: number,
  uptoSeq: number,
  limit: number,
): Promise<RevisionRow[]> {
  return userRevisionsPage(on, userId, afterSeq, uptoSeq, limit);
}

/** Every revision of one item, oldest first. */
export async function readItemRevisions(
  on: Queryable,
  userId: string,
  itemId: string,
  options: { afterSeq?: number; limit: number },
): Promise<RevisionRow[]> {
  return executor(on)
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
export async function readRevision(on: Queryable, userId: string, seq: number): Promise<RevisionRow | undefined> {
  return executor(on)
    .selectFrom('revisions')
    .selectAll()
    .where('user_id', '=', userId)
    .where('seq', '=', seq)
    .executeTakeFirst();
}

/** Revisions by sequence number (only the user's), in pages. Revisions never change, so any time is fine. */
export async function readRevisionsBySeq(
  on: Queryable,
  userId: string,
  seqs: number[],
): Promise<Map<number, RevisionRow>> {
  const out = new Map<number, RevisionRow>();
  for (let i = 0; i < seqs.length; i += CHUNK) {
    const rows = await executor(on)
      .selectFrom('revisions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('seq', 'in', seqs.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) out.set(row.seq, row);
  }
  return out;
}

/** How many revisions one device wrote with this origin. */
export async function countDeviceRevisions(
  on: Queryable,
  userId: string,
  deviceId: string,
  origin: string,
): Promise<number> {
  const row = await executor(on)
    .selectFrom('revisions')
    .select(sql<number>`count(*)`.as('n'))
    .where('user_id', '=', userId)
    .where('device_id', '=', deviceId)
    .where('origin', '=', origin)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** The seq of each item's last revision at or before a revision or a time, in these collections. */
export async function itemSeqsAt(
  on: Queryable,
  userId: string,
  collectionIds: string[],
  point: { seq: number } | { at: number },
): Promise<Map<string, number>> {
  let query = executor(on)
    .selectFrom('revisions')
    .select(['item_id', sql<number>`max(seq)`.as('seq')])
    .where('user_id', '=', userId)
    .where('entity', '=', 'item')
    .where('collection_id', 'in', collectionIds)
    .groupBy('item_id');
  query = 'seq' in point ? query.where('seq', '<=', point.seq) : query.where('created_at', '<=', point.at);
  return new Map((await query.execute()).map((r) => [r.item_id as string, Number(r.seq)]));
}

/** The seq of the collection's latest revision (itself or any item) at or below `upto`. */
export async function latestCollectionSeq(
  on: Queryable,
  userId: string,
  collectionId: string,
  upto?: number,
): Promise<number> {
  let query = executor(on)
    .selectFrom('revisions')
    .select((eb) => eb.fn.max('seq').as('last'))
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId);
  if (upto !== undefined) query = query.where('seq', '<=', upto);
  const row = await query.executeTakeFirst();
  return Number(row?.last ?? 0);
}

/**
 * Items of the collection with revisions in (after, upto], each with its
 * latest such seq, in seq order. Reads only the log's index for this
 * collection, so the cost follows the number of changes, not the collection.
 */
export async function changedItemSeqs(
  on: Queryable,
  userId: string,
  collectionId: string,
  range: { after: number; upto: number; limit: number },
): Promise<{ itemId: string; seq: number }[]> {
  const rows = await executor(on)
    .selectFrom('revisions')
    .select((eb) => ['item_id', eb.fn.max('seq').as('last_seq')])
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId)
    .where('entity', '=', 'item')
    .where('seq', '>', range.after)
    .where('seq', '<=', range.upto)
    .groupBy('item_id')
    .orderBy('last_seq')
    .limit(range.limit)
    .execute();
  return rows.map((row) => ({ itemId: row.item_id as string, seq: Number(row.last_seq) }));
}

/** Every user's revisions after `afterSeq`, up to `uptoSeq`, in sequence order: what a backup ships. */
export async function readRevisionRange(
  on: Queryable,
  afterSeq: number,
  uptoSeq: number,
  limit: number,
): Promise<RevisionRow[]> {
  return executor(on)
    .selectFrom('revisions')
    .selectAll()
    .where('seq', '>', afterSeq)
    .where('seq', '<=', uptoSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** The revisions with these sequence numbers, whoever owns them, in sequence order; the caller bounds how many it asks for. */
export async function readAnyRevisionsBySeq(on: Queryable, seqs: number[]): Promise<RevisionRow[]> {
  return executor(on).selectFrom('revisions').selectAll().where('seq', 'in', seqs).orderBy('seq').execute();
}

/** When the first revision after `afterSeq` was committed, or undefined when there is none. */
export async function readFirstRevisionTimeAfter(on: Queryable, afterSeq: number): Promise<number | undefined> {
  const row = await executor(on)
    .selectFrom('revisions')
    .select('created_at')
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  return row?.created_at;
}
