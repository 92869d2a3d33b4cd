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

/**
 * A hash of the tables, to tell whether they changed since the last state
 * stored. Rows read from the database and rows decoded from the target must
 * hash alike, whatever the order of their keys, so each row is hashed as its
 * keys in sorted order with their values. The sorted order is worked out once
 * per key set rather than per row: with every DAV name in the tables there
 * can be a hundred thousand rows (a `JSON.stringify` replacer that sorted
 * each one took 430 ms of the event loop for them, this about a fifth).
 * Only compared within one process: the hash may change between versions.
 */
export function accountFingerprint(tables: AccountTables): string {
  const { users, devices, app_passwords, dav_names, imports } = tables;
  const canonical = [users, devices, app_passwords, dav_names, imports].map((rows) => canonicalRows(rows));
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * The table as its distinct sorted key lists, then each row as the index of
 * its key list and its values in that order. Sorting is cached per order of
 * keys as they come, the index per sorted list, so rows that hold the same
 * keys in another order read alike.
 */
function canonicalRows(rows: readonly object[]): unknown[] {
  const sortedBySignature = new Map<string, { index: number; keys: string[] }>();
  const indexBySorted = new Map<string, number>();
  const keyLists: string[][] = [];
  const out: unknown[] = [];
  for (const row of rows) {
    const own = Object.keys(row);
    const signature = own.join('\u0000');
    let order = sortedBySignature.get(signature);
    if (!order) {
      const keys = [...own].sort();
      const sorted = keys.join('\u0000');
      let index = indexBySorted.get(sorted);
      if (index === undefined) {
        index = keyLists.length;
        keyLists.push(keys);
        indexBySorted.set(sorted, index);
      }
      order = { index, keys };
      sortedBySignature.set(signature, order);
    }
    const record = row as Record<string, unknown>;
    const values: unknown[] = [order.index];
    for (const key of order.keys) values.push(canonicalValue(record[key]));
    out.push(values);
  }
  return [keyLists, out];
}

/** Nested values (none today) are sorted the slow way. */
function canonicalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, inner]) => [key, canonicalValue(inner)]);
  }
  return value;
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
