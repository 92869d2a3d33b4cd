import { engines } from '@holdfast/test-support/harness';
import { openScratchDatabase } from '@holdfast/test-support/scratch-database';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './database.js';
import { migrateTo, migrateToLatest } from './migrate.js';

async function itemIndexes(db: Db): Promise<string[]> {
  const rows =
    db.engine === 'sqlite'
      ? await sql<{ name: string }>`SELECT name FROM sqlite_master
          WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL ORDER BY name`.execute(db.kysely)
      : await sql<{ name: string }>`SELECT indexname AS name FROM pg_indexes
          WHERE tablename = 'items' AND indexname <> 'items_pk' ORDER BY indexname`.execute(db.kysely);
  return rows.rows.map((r) => r.name);
}

describe.each(engines)('migration 0011 on %s', (engine) => {
  let db: Db;
  let dispose: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ db, dispose } = await openScratchDatabase(engine));
  });
  afterAll(async () => {
    await dispose?.();
  });

  it('drops the items index that items_collection_head already covers, and keeps the rows and the foreign key', async () => {
    await migrateTo(db, 10);
    expect(await itemIndexes(db)).toEqual(['items_collection', 'items_collection_head']);
    const k = db.kysely;
    await sql`INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at)
      VALUES ('u', 'u', 'x', 0, 0, 0)`.execute(k);
    await sql`INSERT INTO collections (user_id, id, type, name, description, color, deleted, head_seq, created_at, updated_at)
      VALUES ('u', 'c', 'contacts', 'c', '', NULL, 0, 1, 0, 0)`.execute(k);
    for (let i = 0; i < 20; i++) {
      await sql`INSERT INTO items (user_id, id, collection_id, head_seq, deleted, content_hash, size, created_at, updated_at)
        VALUES ('u', ${`i${i}`}, 'c', ${i + 2}, 0, NULL, 1, 0, 0)`.execute(k);
    }

    await migrateToLatest(db);
    expect(await itemIndexes(db)).toEqual(['items_collection_head']);
    const listed = await sql<{ id: string }>`SELECT id FROM items WHERE user_id = 'u' AND collection_id = 'c'`.execute(
      k,
    );
    expect(listed.rows).toHaveLength(20);
    // An item in a collection that does not exist is still refused.
    await expect(
      sql`INSERT INTO items (user_id, id, collection_id, head_seq, deleted, content_hash, size, created_at, updated_at)
        VALUES ('u', 'x', 'missing', 99, 0, NULL, 1, 0, 0)`.execute(k),
    ).rejects.toThrow(/foreign key/i);
    if (engine === 'sqlite') {
      // Lookups by collection go through the remaining index, not a scan of every item.
      const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN
        SELECT id FROM items WHERE user_id = 'u' AND collection_id = 'c'`.execute(k);
      expect(plan.rows.map((r) => r.detail).join('\n')).toMatch(/USING (COVERING )?INDEX items_collection_head/);
    }
  });
});
