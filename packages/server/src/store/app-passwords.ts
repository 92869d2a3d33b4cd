import type { Kysely, Selectable } from 'kysely';
import type { AppPasswordsTable, Database } from './schema.js';

export type AppPasswordRow = Selectable<AppPasswordsTable>;

export async function insertAppPassword(db: Kysely<Database>, row: AppPasswordRow): Promise<void> {
  await db.insertInto('app_passwords').values(row).execute();
}

export async function listAppPasswords(
  db: Kysely<Database>,
  userId: string,
  liveOnly = false,
): Promise<AppPasswordRow[]> {
  let query = db.selectFrom('app_passwords').selectAll().where('user_id', '=', userId).orderBy('created_at');
  if (liveOnly) query = query.where('revoked_at', 'is', null);
  return query.execute();
}

export async function revokeAppPassword(
  db: Kysely<Database>,
  userId: string,
  id: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('app_passwords')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
