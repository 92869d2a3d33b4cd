import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** The lineage id of this database; a restore or replacement starts a new one. */
export async function readGeneration(db: Executor): Promise<string> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', 'generation').executeTakeFirstOrThrow();
  return row.value;
}

export async function readMeta(db: Executor, key: string): Promise<string | undefined> {
  const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Records a new key; refused when the key is already set. */
export async function insertMeta(db: Executor, key: string, value: string): Promise<void> {
  await db.insertInto('meta').values({ key, value }).execute();
}
