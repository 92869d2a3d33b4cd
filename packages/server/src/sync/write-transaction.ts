import { sql, type Transaction } from 'kysely';
import type { Context } from '../context.js';
import { appendRevisions, lockLogHead, type NewRevision } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import { NOTIFY_CHANNEL } from './change-notifier.js';

export type Append = (revisions: NewRevision[]) => Promise<number[]>;

/**
 * The one way to change a user's data: a transaction that holds the log's
 * write lock, appends revisions and updates the materialised heads together.
 * When it resolves, the commit is durable (SQLite synchronous=FULL; PostgreSQL
 * synchronous_commit), so callers may acknowledge.
 */
export async function writeTransaction<T>(
  ctx: Context,
  userId: string,
  work: (trx: Transaction<Database>, append: Append) => Promise<T>,
): Promise<T> {
  const { result, last, first } = await ctx.db.kysely.transaction().execute(async (trx) => {
    const first = await lockLogHead(trx, ctx.db.engine);
    let last = first;
    const append: Append = async (revisions) => {
      const seqs = await appendRevisions(trx, last, revisions);
      last += revisions.length;
      return seqs;
    };
    const result = await work(trx, append);
    if (last > first && ctx.db.engine === 'postgres') {
      // Delivered by PostgreSQL only if this transaction commits.
      await sql`SELECT pg_notify(${NOTIFY_CHANNEL}, ${`${userId} ${last}`})`.execute(trx);
    }
    return { result, last, first };
  });
  if (last > first) {
    ctx.highWaterMark.note(last);
    ctx.metrics.logHead.set(last);
    ctx.notifier.publishLocal(userId, last);
  }
  return result;
}
