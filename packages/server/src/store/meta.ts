import type { Transaction } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { LogHead } from './revision-log.js';
import type { Database } from './schema.js';

// Every push, pull and event stream reads these: compiled once.
const generationRow = compiledOnce<{ value: string }, []>((db) =>
  db.selectFrom('meta').select('value').where('key', '=', 'generation'),
);
const generationAndHeadRow = compiledOnce<{ generation: string | null; last_seq: number; last_chain: string }, []>(
  (db) =>
    db
      .selectFrom('log_head')
      .select((eb) => [
        eb.selectFrom('meta').select('value').where('key', '=', 'generation').as('generation'),
        'last_seq',
        'last_chain',
      ])
      .where('id', '=', 1),
);

/** The lineage id of this database; a restore or replacement starts a new one. */
export async function readGeneration(on: Queryable): Promise<string> {
  const [row] = await generationRow(on);
  if (!row) throw new Error('The database has no generation.');
  return row.value;
}

/**
 * The generation and the committed head (with its chain value), in one statement: one snapshot, where two reads
 * could straddle a restore.
 */
export async function readGenerationAndHead(on: Queryable): Promise<{ generation: string; head: LogHead }> {
  const [row] = await generationAndHeadRow(on);
  if (!row || row.generation === null) throw new Error('The database has no generation or log head.');
  return { generation: row.generation, head: { seq: Number(row.last_seq), chain: row.last_chain } };
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
