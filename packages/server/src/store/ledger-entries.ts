import { type Selectable, sql, type Transaction } from 'kysely';
import { executor, type Queryable } from './queryable.js';
import type { Database, LedgerEntriesTable } from './schema.js';

export type LedgerRow = Selectable<LedgerEntriesTable>;

/** The newest entry, whose hash the next one chains to. */
export async function readLastLedgerEntry(
  trx: Transaction<Database>,
): Promise<Pick<LedgerRow, 'seq' | 'hash'> | undefined> {
  return trx.selectFrom('ledger_entries').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
}

export async function insertLedgerEntry(trx: Transaction<Database>, row: LedgerRow): Promise<void> {
  await trx.insertInto('ledger_entries').values(row).execute();
}

/** Entries in chain order; only one user's when `userId` is given. */
export async function listLedgerEntries(
  on: Queryable,
  options: { userId?: string; after?: number; limit: number },
): Promise<LedgerRow[]> {
  let query = executor(on).selectFrom('ledger_entries').selectAll().orderBy('seq').limit(options.limit);
  if (options.userId) query = query.where('user_id', '=', options.userId);
  if (options.after) query = query.where('seq', '>', options.after);
  return query.execute();
}

/**
 * What one user may see: their own entries, and deployment-wide ones (no
 * user) recorded since the account existed (`since`, its creation time).
 */
export async function listUserVisibleLedgerEntries(
  on: Queryable,
  userId: string,
  options: { after: number; limit: number; since: number },
): Promise<LedgerRow[]> {
  return executor(on)
    .selectFrom('ledger_entries')
    .selectAll()
    .where((eb) =>
      eb.or([eb('user_id', '=', userId), eb.and([eb('user_id', 'is', null), eb('at', '>=', options.since)])]),
    )
    .where('seq', '>', options.after)
    .orderBy('seq')
    .limit(options.limit)
    .execute();
}

/** Entries of `kinds` after `seq` that are the user's own or deployment-wide, in chain order. */
export async function listLaterEntriesOfKinds(
  on: Queryable,
  userId: string,
  seq: number,
  kinds: string[],
  limit: number,
): Promise<LedgerRow[]> {
  return executor(on)
    .selectFrom('ledger_entries')
    .selectAll()
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('user_id', 'is', null)]))
    .where('kind', 'in', kinds)
    .where('seq', '>', seq)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

/** When the account was created (deployment-wide incidents before it did not touch it). */
export async function readUserCreatedAt(on: Queryable, userId: string): Promise<number | undefined> {
  const row = await executor(on).selectFrom('users').select('created_at').where('id', '=', userId).executeTakeFirst();
  return row ? Number(row.created_at) : undefined;
}

/** Entries of one kind, newest first, before `before` (a seq) when given. */
export async function listEntriesOfKind(
  on: Queryable,
  kind: string,
  options: { before?: number; limit: number },
): Promise<LedgerRow[]> {
  let query = executor(on)
    .selectFrom('ledger_entries')
    .selectAll()
    .where('kind', '=', kind)
    .orderBy('seq', 'desc')
    .limit(options.limit);
  if (options.before !== undefined) query = query.where('seq', '<', options.before);
  return query.execute();
}

export async function countEntriesOfKind(on: Queryable, kind: string): Promise<number> {
  const row = await executor(on)
    .selectFrom('ledger_entries')
    .select(sql<number>`count(*)`.as('n'))
    .where('kind', '=', kind)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Deployment-wide entries (no user: incidents that touched every account, or the backups), in chain order. */
export async function listDeploymentEntries(
  on: Queryable,
  options: { after: number; limit: number },
): Promise<LedgerRow[]> {
  return executor(on)
    .selectFrom('ledger_entries')
    .selectAll()
    .where('user_id', 'is', null)
    .where('seq', '>', options.after)
    .orderBy('seq')
    .limit(options.limit)
    .execute();
}
