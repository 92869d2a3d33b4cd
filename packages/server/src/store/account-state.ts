import type { Insertable, Transaction } from 'kysely';
import type { Db } from './database.js';
import type { AppPasswordsTable, Database, DavNamesTable, DevicesTable, ImportsTable, UsersTable } from './schema.js';

/**
 * The account tables' rows as a backup carries them. `last_seen_at` and
 * `last_used_at` are left out: they change on every request and are not
 * worth a backup object each time. `session_expires_at` too: a browser
 * session restored from a backup answers `session_expired`, and the person
 * signs in again rather than resuming a session the backup froze.
 */
export interface AccountRows {
  /** Without `admin` (a restore leaves every account an ordinary user); `email` is absent, not null, when unset. */
  users: (Omit<UsersTable, 'admin' | 'email'> & { email?: string })[];
  devices: Omit<DevicesTable, 'last_seen_at' | 'session_expires_at'>[];
  app_passwords: Omit<AppPasswordsTable, 'last_used_at'>[];
  dav_names: DavNamesTable[];
  imports: ImportsTable[];
}

/** The same tables as written into a database, every column given. */
export interface AccountInsertRows {
  users: Insertable<UsersTable>[];
  devices: Insertable<DevicesTable>[];
  app_passwords: Insertable<AppPasswordsTable>[];
  dav_names: Insertable<DavNamesTable>[];
  imports: Insertable<ImportsTable>[];
}

/** Reads the account tables in a stable order, so equal tables read equal. */
export async function readAccountRows(db: Db): Promise<AccountRows> {
  const k = db.kysely;
  // All columns: a backup taken before an upgrade reads a schema that may not have `email` yet.
  const users = (await k.selectFrom('users').selectAll().orderBy('id').execute()).map(
    ({ email, id, username, password_hash, disabled, created_at, updated_at }) => ({
      id,
      username,
      password_hash,
      disabled,
      created_at,
      updated_at,
      ...(email ? { email } : {}),
    }),
  );
  const devices = await k
    .selectFrom('devices')
    .select(['id', 'user_id', 'name', 'token_hash', 'created_at', 'revoked_at'])
    .orderBy('id')
    .execute();
  const appPasswords = await k
    .selectFrom('app_passwords')
    .select(['id', 'user_id', 'label', 'password_hash', 'created_at', 'revoked_at'])
    .orderBy('id')
    .execute();
  const davNames = await k
    .selectFrom('dav_names')
    .select(['user_id', 'collection_id', 'name', 'item_id', 'created_at'])
    .orderBy('user_id')
    .orderBy('collection_id')
    .orderBy('name')
    .execute();
  const imports = await k.selectFrom('imports').selectAll().orderBy('user_id').orderBy('id').execute();
  return { users, devices, app_passwords: appPasswords, dav_names: davNames, imports };
}

/**
 * A cheap stand-in for {@link readAccountRows}: equal answers at two moments
 * mean the tables did not change in between. `dav_names` grows with every
 * DAV item a client names its own way and its rows are only ever inserted, so
 * its row count stands for it; a user deleted with their names shows in
 * `users`. Test: `packages/server/src/backup/account-probe.test.ts`.
 */
export async function readAccountProbe(db: Db): Promise<string> {
  const k = db.kysely;
  // One after another: on PostgreSQL, at once would take five pooled connections every second.
  const rows = [
    await k.selectFrom('users').selectAll().orderBy('id').execute(),
    await k.selectFrom('devices').select(['id', 'name', 'token_hash', 'revoked_at']).orderBy('id').execute(),
    await k.selectFrom('app_passwords').select(['id', 'label', 'password_hash', 'revoked_at']).orderBy('id').execute(),
    await k.selectFrom('imports').selectAll().orderBy('user_id').orderBy('id').execute(),
    await k
      .selectFrom('dav_names')
      .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
      .executeTakeFirstOrThrow(),
  ];
  // PostgreSQL returns bigint columns as strings.
  return JSON.stringify(rows, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
}

/**
 * Inserts account rows inside `trx`, users first (everything else references
 * them), in chunks that stay under SQLite's limit on bound parameters.
 */
export async function insertAccountRows(trx: Transaction<Database>, rows: AccountInsertRows): Promise<void> {
  const chunks = async <T>(list: T[], insert: (chunk: T[]) => Promise<unknown>) => {
    for (let i = 0; i < list.length; i += 200) await insert(list.slice(i, i + 200));
  };
  await chunks(rows.users, (chunk) => trx.insertInto('users').values(chunk).execute());
  await chunks(rows.devices, (chunk) => trx.insertInto('devices').values(chunk).execute());
  await chunks(rows.app_passwords, (chunk) => trx.insertInto('app_passwords').values(chunk).execute());
  await chunks(rows.dav_names, (chunk) => trx.insertInto('dav_names').values(chunk).execute());
  await chunks(rows.imports, (chunk) => trx.insertInto('imports').values(chunk).execute());
}
