import type { Transaction } from 'kysely';
import { engineOf, insertMany } from './bulk-restore.js';
import { compiledForList } from './compiled-once.js';
import type { Queryable } from './queryable.js';
import type { Database, PushReceiptsTable } from './schema.js';

const CHUNK = 400;

/** The recorded results (JSON) of the changes among `clientChangeIds` seen before, by id. */
export async function readPushReceipts(
  on: Queryable,
  userId: string,
  clientChangeIds: string[],
): Promise<Map<string, string>> {
  const ids = [...new Set(clientChangeIds)];
  const out = new Map<string, string>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    for (const row of await receiptsIn(on, ids.slice(i, i + CHUNK), userId)) out.set(row.client_change_id, row.result);
  }
  return out;
}

// Every push reads its receipts twice (before and inside its write): compiled once per number of ids.
const receiptsIn = compiledForList<{ client_change_id: string; result: string }, [string]>((db, ids, [userId]) =>
  db
    .selectFrom('push_receipts')
    .select(['client_change_id', 'result'])
    .where('user_id', '=', userId)
    .where('client_change_id', 'in', ids),
);

/** Records results; a receipt already there (a concurrent retry won) is kept. */
export async function insertPushReceipts(trx: Transaction<Database>, rows: PushReceiptsTable[]): Promise<void> {
  // Built here, not by the query builder: each batch size is one statement text, prepared once.
  await insertMany(
    trx,
    engineOf(trx),
    'push_receipts',
    rows.map((r) => ({
      user_id: r.user_id,
      client_change_id: r.client_change_id,
      result: r.result,
      created_at: r.created_at,
    })),
    { columns: ['user_id', 'client_change_id'] },
  );
}
