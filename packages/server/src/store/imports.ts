import type { Insertable, Kysely, Transaction } from 'kysely';
import { executor, type Queryable } from './queryable.js';
import type { Database, ImportsTable } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** A user's imports, newest first. */
export async function listImports(on: Queryable, userId: string, limit = 100) {
  return executor(on)
    .selectFrom('imports')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

export async function findImport(db: Db, userId: string, id: string) {
  return db.selectFrom('imports').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
}

export async function recordImport(trx: Transaction<Database>, row: Insertable<ImportsTable>): Promise<void> {
  await trx.insertInto('imports').values(row).execute();
}

export async function markImportUndone(
  trx: Transaction<Database>,
  userId: string,
  importId: string,
  undoId: string,
): Promise<void> {
  await trx
    .updateTable('imports')
    .set({ undone_by: undoId })
    .where('user_id', '=', userId)
    .where('id', '=', importId)
    .execute();
}
