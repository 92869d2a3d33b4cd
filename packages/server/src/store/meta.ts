import type { Transaction } from 'kysely';
import { executor, type Queryable } from './queryable.js';
import type { Database } from './schema.js';

/** The lineage id of this database; a restore or replacement starts a new one. */
export async function readGeneration(on: Queryable): Promise<string> {
  const row = await executor(on)
    .selectFrom('meta')
    .select('value')
    .where('key', '=', 'generation')
    .executeTakeFirstOrThrow();
  return row.value;
}

export async function readMeta(on: Queryable, key: string): Promise<string | undefined> {
  const row = await executor(on).selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

/** Records a new key; refused when the key is already set. */
export async function insertMeta(on: Queryable, key: string, value: string): Promise<void> {
  await executor(on).insertInto('meta').values({ key, value }).execute();
}

/**
 * Starts lineage `next` in place of `previous`, and records that `previous`
 * was replaced so other servers on this database know it was handled.
 */
export async function replaceGeneration(trx: Transaction<Database>, previous: string, next: string): Promise<void> {
  await trx.updateTable('meta').set({ value: next }).where('key', '=', 'generation').execute();
  await trx
    .insertInto('meta')
    .values({ key: `generation_replaced:${previous}`, value: next })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: next }))
    .execute();
}

/** The meta rows that record this database's ancestry: generations it replaced and the repository it came from. */
export async function readLineageMeta(on: Queryable): Promise<{ key: string; value: string }[]> {
  return executor(on)
    .selectFrom('meta')
    .select(['key', 'value'])
    .where((eb) => eb.or([eb('key', 'like', 'generation_replaced:%'), eb('key', '=', 'restored_from')]))
    .execute();
}
