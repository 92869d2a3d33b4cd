import type { Selectable, Transaction } from 'kysely';
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

/** What one user may see: their own entries and deployment-wide ones (no user). */
export async function listUserVisibleLedgerEntries(
  on: Queryable,
  userId: string,
  options: { after: number; limit: number },
): Promise<LedgerRow[]> {
  return executor(on)
    .selectFrom('ledger_entries')
    .selectAll()
    .where((eb) => eb.or([eb('user_id', '=', userId), eb('user_id', 'is', null)]))
    .where('seq', '>', options.after)
    .orderBy('seq')
    .limit(options.limit)
    .execute();
}
