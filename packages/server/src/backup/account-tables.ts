import { createHash } from 'node:crypto';
import type { AccountState } from '@holdfast/backup';
import type { Kysely, Transaction } from 'kysely';
import type { Db } from '../store/database.js';
import type { Database } from '../store/schema.js';

/** The account tables' rows as a backup carries them (docs/backup-format.md §5.9). */
export type AccountTables = Omit<AccountState, 'generation' | 'seq' | 'createdAt'>;

type Row<K extends keyof AccountTables> = AccountTables[K][number];

/** The tables added by the DAV and import migrations, which the store's own type does not name. */
interface AccountDatabase {
  users: Row<'users'>;
  devices: Row<'devices'> & { last_seen_at: number | null };
  app_passwords: Row<'app_passwords'> & { last_used_at: number | null };
  dav_names: Row<'dav_names'>;
  imports: Row<'imports'>;
}

function accountDb(db: Kysely<Database> | Transaction<Database>): Kysely<AccountDatabase> {
  return db as unknown as Kysely<AccountDatabase>;
}

/**
 * Reads the account tables, in a stable order so equal tables give equal
 * fingerprints. `last_seen_at` and `last_used_at` are left out: they change
 * on every request and are not worth a backup object each time.
 */
export async function readAccountTables(db: Db): Promise<AccountTables> {
  const k = accountDb(db.kysely);
  const num = (value: number | string | bigint | null) => (value === null ? null : Number(value));
  const users = await k
    .selectFrom('users')
    .select(['id', 'username', 'password_hash', 'disabled', 'created_at', 'updated_at'])
    .orderBy('id')
    .execute();
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
  // PostgreSQL returns bigint columns as strings; the format stores numbers.
  return {
    users: users.map((r) => ({
      ...r,
      disabled: Number(r.disabled),
      created_at: Number(r.created_at),
      updated_at: Number(r.updated_at),
    })),
    devices: devices.map((r) => ({ ...r, created_at: Number(r.created_at), revoked_at: num(r.revoked_at) })),
    app_passwords: appPasswords.map((r) => ({
      ...r,
      created_at: Number(r.created_at),
      revoked_at: num(r.revoked_at),
    })),
    dav_names: davNames.map((r) => ({ ...r, created_at: Number(r.created_at) })),
    imports: imports.map((r) => ({
      user_id: r.user_id,
      id: r.id,
      source: r.source,
      format: r.format,
      device_id: r.device_id,
      first_seq: num(r.first_seq),
      last_seq: num(r.last_seq),
      created: Number(r.created),
      updated: Number(r.updated),
      skipped: Number(r.skipped),
      rejected: Number(r.rejected),
      report: r.report,
      undone_by: r.undone_by,
      created_at: Number(r.created_at),
    })),
  };
}

/** A hash of the tables, to tell whether they changed since the last state stored. */
export function accountFingerprint(tables: AccountTables): string {
  const { users, devices, app_passwords, dav_names, imports } = tables;
  // Keys sorted: rows read from the database and rows decoded from the target compare equal.
  const sorted = (_key: string, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)))
      : value;
  return createHash('sha256')
    .update(JSON.stringify([users, devices, app_passwords, dav_names, imports], sorted))
    .digest('hex');
}

/**
 * Writes restored account tables into an empty database, inside the
 * restore's transaction. Users come first (everything else references them).
 * `revoked` names devices and app passwords that a later account state
 * revoked: a restore to an earlier point never brings a revoked credential back.
 */
export async function writeAccountTables(
  trx: Transaction<Database>,
  tables: AccountTables,
  revoked: { devices: Map<string, number>; appPasswords: Map<string, number> },
): Promise<void> {
  const k = accountDb(trx);
  const chunks = async <T>(rows: T[], insert: (chunk: T[]) => Promise<unknown>) => {
    for (let i = 0; i < rows.length; i += 200) await insert(rows.slice(i, i + 200));
  };
  await chunks(tables.users, (rows) => k.insertInto('users').values(rows).execute());
  await chunks(
    tables.devices.map((row) => ({
      ...row,
      revoked_at: row.revoked_at ?? revoked.devices.get(row.id) ?? null,
      last_seen_at: null,
    })),
    (rows) => k.insertInto('devices').values(rows).execute(),
  );
  await chunks(
    tables.app_passwords.map((row) => ({
      ...row,
      revoked_at: row.revoked_at ?? revoked.appPasswords.get(row.id) ?? null,
      last_used_at: null,
    })),
    (rows) => k.insertInto('app_passwords').values(rows).execute(),
  );
  await chunks(tables.dav_names, (rows) => k.insertInto('dav_names').values(rows).execute());
  await chunks(tables.imports, (rows) => k.insertInto('imports').values(rows).execute());
}
