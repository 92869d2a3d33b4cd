import { sql } from 'kysely';
import { executor, type Queryable } from './queryable.js';

/** The user's newest revision (0 when they have none). */
export async function userLastSeq(on: Queryable, userId: string): Promise<number> {
  const row = await executor(on)
    .selectFrom('revisions')
    .select(sql<number | null>`max(seq)`.as('seq'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** When the user's first revision after `seq` was written, if there is one. */
export async function firstUserRevisionTimeAfter(on: Queryable, userId: string, seq: number): Promise<number | null> {
  const row = await executor(on)
    .selectFrom('revisions')
    .select('created_at')
    .where('user_id', '=', userId)
    .where('seq', '>', seq)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.created_at) : null;
}

/** When each of the user's devices last wrote a revision, by device id. */
export async function deviceLastWrites(on: Queryable, userId: string): Promise<Map<string, number>> {
  const rows = await executor(on)
    .selectFrom('revisions')
    .select(['device_id', sql<number>`max(created_at)`.as('at')])
    .where('user_id', '=', userId)
    .where('device_id', 'is not', null)
    .groupBy('device_id')
    .execute();
  return new Map(rows.map((r) => [r.device_id as string, Number(r.at)]));
}
