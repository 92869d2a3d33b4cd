import { type Kysely, type Selectable, sql } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
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

/** A live app password of this user by its id. */
export async function findLiveAppPassword(
  db: Kysely<Database>,
  userId: string,
  id: string,
): Promise<AppPasswordRow | undefined> {
  return db
    .selectFrom('app_passwords')
    .selectAll()
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

// App passwords from before passwords carried their id have UUIDs (36 characters); new ids have 11.
const legacyId = sql<number>`length(id)`;

/** Whether any live app password on the server predates ids in passwords. */
export async function anyLegacyAppPasswords(db: Kysely<Database>): Promise<boolean> {
  const row = await db
    .selectFrom('app_passwords')
    .select('id')
    .where(legacyId, '<>', 11)
    .where('revoked_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** This user's newest live app passwords that predate ids in passwords. */
export async function listLegacyAppPasswords(
  db: Kysely<Database>,
  userId: string,
  limit: number,
): Promise<AppPasswordRow[]> {
  return db
    .selectFrom('app_passwords')
    .selectAll()
    .where('user_id', '=', userId)
    .where(legacyId, '<>', 11)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

/**
 * Whether the app password is unrevoked, its user enabled and still named
 * `username`, and both stored hashes are the ones given (checked on every
 * remembered DAV sign-in, in place of argon2).
 */
const unchangedAppPassword = compiledOnce<{ id: string }, [string, string, string, string, string]>(
  (db, [appPasswordId, userId, appPasswordHash, username, userPasswordHash]) =>
    db
      .selectFrom('app_passwords')
      .innerJoin('users', 'users.id', 'app_passwords.user_id')
      .select('app_passwords.id')
      .where('app_passwords.id', '=', appPasswordId)
      .where('app_passwords.user_id', '=', userId)
      .where('app_passwords.revoked_at', 'is', null)
      .where('app_passwords.password_hash', '=', appPasswordHash)
      .where('users.username', '=', username)
      .where('users.disabled', '=', 0)
      .where('users.password_hash', '=', userPasswordHash),
);

export async function isAppPasswordUnchanged(
  on: Queryable,
  expected: {
    username: string;
    userId: string;
    appPasswordId: string;
    appPasswordHash: string;
    userPasswordHash: string;
  },
): Promise<boolean> {
  // Runs on every DAV request (dav-auth.ts): compiled once.
  const rows = await unchangedAppPassword(
    on,
    expected.appPasswordId,
    expected.userId,
    expected.appPasswordHash,
    expected.username,
    expected.userPasswordHash,
  );
  return rows.length > 0;
}

export async function touchAppPassword(on: Queryable, id: string, now: number): Promise<void> {
  await executor(on).updateTable('app_passwords').set({ last_used_at: now }).where('id', '=', id).execute();
}
