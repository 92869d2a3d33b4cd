import { sql } from 'kysely';
import type { Db } from './database.js';

/** Row counts an operator checks at a glance; cheap enough for `doctor`, not for hot paths. */
export async function readDatabaseCounts(db: Db): Promise<Record<string, number>> {
  const k = db.kysely;
  const count = async (query: Promise<{ n: number | string } | undefined>) => Number((await query)?.n ?? 0);
  return {
    users: await count(k.selectFrom('users').select(sql<number>`count(*)`.as('n')).executeTakeFirst()),
    devices: await count(
      k.selectFrom('devices').select(sql<number>`count(*)`.as('n')).where('revoked_at', 'is', null).executeTakeFirst(),
    ),
    collections: await count(
      k.selectFrom('collections').select(sql<number>`count(*)`.as('n')).where('deleted', '=', 0).executeTakeFirst(),
    ),
    items: await count(
      k.selectFrom('items').select(sql<number>`count(*)`.as('n')).where('deleted', '=', 0).executeTakeFirst(),
    ),
    revisions: await count(k.selectFrom('revisions').select(sql<number>`count(*)`.as('n')).executeTakeFirst()),
    blobs: await count(k.selectFrom('blobs').select(sql<number>`count(*)`.as('n')).executeTakeFirst()),
    blobBytes: await count(
      k.selectFrom('blobs').select(sql<number>`coalesce(sum(size), 0)`.as('n')).executeTakeFirst(),
    ),
  };
}

/** Whether the database holds neither accounts nor revisions: nothing a restore could overwrite, nothing to lose. */
export async function isDatabaseEmpty(db: Db): Promise<boolean> {
  const revision = await db.kysely.selectFrom('revisions').select('seq').limit(1).executeTakeFirst();
  const user = await db.kysely.selectFrom('users').select('id').limit(1).executeTakeFirst();
  return !revision && !user;
}

/** How many accounts the database holds. */
export async function countUsers(db: Db): Promise<number> {
  const row = await db.kysely.selectFrom('users').select(sql<number>`count(*)`.as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}
