import type { Transaction } from 'kysely';
import { executor, type Queryable } from './queryable.js';
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
    const rows = await executor(on)
      .selectFrom('push_receipts')
      .select(['client_change_id', 'result'])
      .where('user_id', '=', userId)
      .where('client_change_id', 'in', ids.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) out.set(row.client_change_id, row.result);
  }
  return out;
}

/** Records results; a receipt already there (a concurrent retry won) is kept. */
export async function insertPushReceipts(trx: Transaction<Database>, rows: PushReceiptsTable[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    await trx
      .insertInto('push_receipts')
      .values(rows.slice(i, i + CHUNK))
      .onConflict((oc) => oc.columns(['user_id', 'client_change_id']).doNothing())
      .execute();
  }
}
