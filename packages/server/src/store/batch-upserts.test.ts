import { openScratchDatabase } from '@holdfast/test-support/scratch-database';
import { afterEach, describe, expect, it } from 'vitest';
import { searchContactRows, upsertContactRows } from './contact-search.js';
import type { Db } from './database.js';
import { readItemHeads, upsertItemHeads } from './items.js';
import { migrateToLatest } from './migrate.js';
import { insertPushReceipts, readPushReceipts } from './push-receipts.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(engine: 'sqlite' | 'postgres'): Promise<Db> {
  const { db, dispose } = await openScratchDatabase(engine);
  cleanups.push(dispose);
  await migrateToLatest(db);
  await db.kysely
    .insertInto('users')
    .values({ id: 'u1', username: 'u1', password_hash: 'x', disabled: 0, created_at: 1, updated_at: 1, email: null })
    .execute();
  await db.kysely
    .insertInto('collections')
    .values(
      ['c1', 'c2'].map((id) => ({
        user_id: 'u1',
        id,
        type: 'contacts',
        name: id,
        description: '',
        color: null,
        deleted: 0,
        head_seq: 0,
        item_count: 0,
        digest: '0'.repeat(32),
        created_at: 1,
        updated_at: 1,
      })),
    )
    .execute();
  return db;
}

const head = (id: string, seq: number, at: number, collection = 'c1') => ({
  user_id: 'u1',
  id,
  collection_id: collection,
  head_seq: seq,
  deleted: 0,
  content_hash: `h${seq}`,
  size: seq,
  created_at: at,
  updated_at: at,
});

const contact = (id: string, seq: number, name: string) => ({
  user_id: 'u1',
  item_id: id,
  collection_id: 'c1',
  seq,
  name,
  sort_key: `0${name.toLowerCase()}`,
  nicknames: '[]',
  phones: '[]',
  emails: '[]',
  organization: null,
  search_text: name.toLowerCase(),
  phone_digits: '  ',
  fields: '{}',
});

describe.each(['sqlite', 'postgres'] as const)('the batch writes of a push on %s', (engine) => {
  it('insert new item heads and move existing ones, keeping their collection and creation time', async () => {
    const db = await database(engine);
    // Batches of different sizes, one larger than a statement takes, each with rows already there.
    await db.kysely.transaction().execute((trx) => upsertItemHeads(trx, [head('a', 1, 10), head('b', 2, 10)]));
    const many = Array.from({ length: 700 }, (_, i) => head(`n${i}`, 100 + i, 20));
    await db.kysely
      .transaction()
      .execute((trx) => upsertItemHeads(trx, [head('a', 3, 30, 'c2'), { ...head('b', 4, 30), deleted: 1 }, ...many]));
    const heads = await readItemHeads(db, 'u1', ['a', 'b', 'n0', 'n699']);
    expect(heads.get('a')).toEqual({ id: 'a', collection_id: 'c1', head_seq: 3, deleted: 0, content_hash: 'h3' });
    expect(heads.get('b')).toMatchObject({ head_seq: 4, deleted: 1 });
    expect(heads.get('n699')).toMatchObject({ head_seq: 799 });
    const rows = await db.kysely.selectFrom('items').selectAll().where('id', 'in', ['a', 'b']).orderBy('id').execute();
    expect(rows.map((r) => [r.created_at, r.updated_at, r.size])).toEqual([
      [10, 30, 3],
      [10, 30, 4],
    ]);
    expect((await db.kysely.selectFrom('items').select('id').execute()).length).toBe(702);
  });

  it('replace contact rows whole and keep the first receipt of a change', async () => {
    const db = await database(engine);
    await db.kysely
      .transaction()
      .execute((trx) => upsertContactRows(trx, [contact('a', 1, 'Ada'), contact('b', 2, 'Bob')]));
    await db.kysely
      .transaction()
      .execute((trx) => upsertContactRows(trx, [contact('b', 3, 'Barbara'), contact('c', 4, 'Cy')]));
    const rows = await searchContactRows(db, 'u1', { tokens: [], digits: null, after: null, limit: 10 });
    expect(rows.map((r) => [r.item_id, r.seq, r.name, r.search_text])).toEqual([
      ['a', 1, 'Ada', 'ada'],
      ['b', 3, 'Barbara', 'barbara'],
      ['c', 4, 'Cy', 'cy'],
    ]);

    const receipt = (id: string, result: string) => ({ user_id: 'u1', client_change_id: id, result, created_at: 1 });
    await db.kysely
      .transaction()
      .execute((trx) => insertPushReceipts(trx, [receipt('x', 'first'), receipt('y', 'first')]));
    await db.kysely
      .transaction()
      .execute((trx) => insertPushReceipts(trx, [receipt('y', 'second'), receipt('z', 'second')]));
    expect(Object.fromEntries(await readPushReceipts(db, 'u1', ['x', 'y', 'z']))).toEqual({
      x: 'first',
      y: 'first',
      z: 'second',
    });
  });
});
