import { sql } from 'kysely';
import { executor, type Queryable } from './queryable.js';

/** One account as the operators' user list shows it. */
export interface DirectoryEntry {
  id: string;
  username: string;
  admin: boolean;
  disabled: boolean;
  createdAt: number;
  /** The newest use of any of the account's devices, or null if none was ever used. */
  lastSeenAt: number | null;
  items: number;
  bytes: number;
}

/**
 * Every account with its storage, counted the way `readUsage` counts one
 * (store/usage.ts): live items at their head size, photos' bytes once with
 * the account's blobs. Three grouped queries, whatever the number of users.
 */
export async function listDirectory(on: Queryable): Promise<DirectoryEntry[]> {
  const db = executor(on);
  const users = await db
    .selectFrom('users')
    .select(['id', 'username', 'admin', 'disabled', 'created_at'])
    .orderBy('username')
    .execute();
  const items = await db
    .selectFrom('items')
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select([
      'items.user_id as user_id',
      sql<number>`count(*)`.as('n'),
      sql<number>`coalesce(sum(case when revisions.blob_sha256 is null then items.size else 0 end), 0)`.as('bytes'),
    ])
    .where('items.deleted', '=', 0)
    .groupBy('items.user_id')
    .execute();
  const blobs = await db
    .selectFrom('user_blobs')
    .innerJoin('blobs', 'blobs.sha256', 'user_blobs.sha256')
    .select(['user_blobs.user_id as user_id', sql<number>`coalesce(sum(blobs.size), 0)`.as('bytes')])
    .groupBy('user_blobs.user_id')
    .execute();
  const seen = await db
    .selectFrom('devices')
    .select(['user_id', sql<number | null>`max(last_seen_at)`.as('at')])
    .groupBy('user_id')
    .execute();
  const itemsBy = new Map(items.map((r) => [r.user_id, r]));
  const blobsBy = new Map(blobs.map((r) => [r.user_id, Number(r.bytes)]));
  const seenBy = new Map(seen.map((r) => [r.user_id, r.at === null ? null : Number(r.at)]));
  return users.map((u) => {
    const own = itemsBy.get(u.id);
    return {
      id: u.id,
      username: u.username,
      admin: Number(u.admin) === 1,
      disabled: Number(u.disabled) === 1,
      createdAt: Number(u.created_at),
      lastSeenAt: seenBy.get(u.id) ?? null,
      items: Number(own?.n ?? 0),
      bytes: Number(own?.bytes ?? 0) + (blobsBy.get(u.id) ?? 0),
    };
  });
}

/** How many accounts there are, and how many of them are disabled. */
export async function countAccounts(on: Queryable): Promise<{ total: number; disabled: number }> {
  const row = await executor(on)
    .selectFrom('users')
    .select([sql<number>`count(*)`.as('total'), sql<number>`coalesce(sum(disabled), 0)`.as('disabled')])
    .executeTakeFirst();
  return { total: Number(row?.total ?? 0), disabled: Number(row?.disabled ?? 0) };
}

/** Whether the account may use the operators' API (`users.admin`); false for an unknown id. */
export async function isAdmin(on: Queryable, userId: string): Promise<boolean> {
  const row = await executor(on).selectFrom('users').select('admin').where('id', '=', userId).executeTakeFirst();
  return Number(row?.admin ?? 0) === 1;
}

/** Usernames by id, for the ids given. */
export async function usernamesById(on: Queryable, ids: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const rows = await executor(on)
      .selectFrom('users')
      .select(['id', 'username'])
      .where('id', 'in', unique.slice(i, i + 500))
      .execute();
    for (const row of rows) out.set(row.id, row.username);
  }
  return out;
}

/** Accounts that existed at `at` (a deployment-wide loss then touched each of them). */
export async function listAccountsCreatedBy(
  on: Queryable,
  at: number,
  limit: number,
): Promise<{ id: string; username: string }[]> {
  return executor(on)
    .selectFrom('users')
    .select(['id', 'username'])
    .where('created_at', '<=', at)
    .orderBy('username')
    .limit(limit)
    .execute();
}

export async function countAccountsCreatedBy(on: Queryable, at: number): Promise<number> {
  const row = await executor(on)
    .selectFrom('users')
    .select(sql<number>`count(*)`.as('n'))
    .where('created_at', '<=', at)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
