import { createHash } from 'node:crypto';
import type { AccountState } from '@holdfast/backup';
import { type AccountInsertRows, readAccountRows } from '../store/account-state.js';
import type { Db } from '../store/database.js';

/** The account tables' rows as a backup carries them (docs/backup-format.md §5.9). */
export type AccountTables = Omit<AccountState, 'generation' | 'seq' | 'createdAt'>;

/**
 * Reads the account tables, in a stable order so equal tables give equal
 * fingerprints. `last_seen_at` and `last_used_at` are left out: they change
 * on every request and are not worth a backup object each time.
 */
export async function readAccountTables(db: Db): Promise<AccountTables> {
  const num = (value: number | string | bigint | null) => (value === null ? null : Number(value));
  const { users, devices, app_passwords: appPasswords, dav_names: davNames, imports } = await readAccountRows(db);
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
 * The rows a restore writes for `tables` into an empty database. `revoked`
 * names devices and app passwords that a later account state revoked: a
 * restore to an earlier point never brings a revoked credential back.
 */
export function accountRowsToRestore(
  tables: AccountTables,
  revoked: { devices: Map<string, number>; appPasswords: Map<string, number> },
): AccountInsertRows {
  return {
    users: tables.users,
    devices: tables.devices.map((row) => ({
      ...row,
      revoked_at: row.revoked_at ?? revoked.devices.get(row.id) ?? null,
      last_seen_at: null,
    })),
    app_passwords: tables.app_passwords.map((row) => ({
      ...row,
      revoked_at: row.revoked_at ?? revoked.appPasswords.get(row.id) ?? null,
      last_used_at: null,
    })),
    dav_names: tables.dav_names,
    imports: tables.imports,
  };
}
