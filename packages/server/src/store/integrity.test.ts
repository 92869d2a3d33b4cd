import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, relaxDurabilityForScratch, SCRATCH_CACHE_KIB } from './database.js';
import { checkSqliteFileIntegrity, checkSqliteIntegrity } from './integrity.js';
import { migrateToLatest } from './migrate.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A migrated scratch database with one user and `items` rows of a collection of theirs. */
async function scratchDatabase(items: number) {
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-integrity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'scratch.db');
  const db = openDatabase(path);
  cleanups.push(() => db.close());
  await relaxDurabilityForScratch(db);
  await migrateToLatest(db);
  await sql`INSERT INTO users (id, username, password_hash, created_at, updated_at) VALUES ('u1', 'alice', 'x', 0, 0)`.execute(
    db.kysely,
  );
  await sql`INSERT INTO collections (user_id, id, type, name, description, deleted, head_seq, created_at, updated_at, item_count, digest)
    VALUES ('u1', 'c1', 'notes', 'n', '', 0, 1, 0, 0, 0, '')`.execute(db.kysely);
  for (let i = 0; i < items; i++) {
    await sql`INSERT INTO items (user_id, id, collection_id, head_seq, deleted, content_hash, size, created_at, updated_at)
      VALUES ('u1', ${`item-${String(i).padStart(6, '0')}`}, 'c1', ${i + 2}, 0, ${'h'.repeat(200)}, 1, 0, 0)`.execute(
      db.kysely,
    );
  }
  return { db, path };
}

describe('checkSqliteFileIntegrity', () => {
  it('reports a sound scratch database as its own connection does, in 32 KiB pages', async () => {
    const { db, path } = await scratchDatabase(50);
    const pageSize = await sql<{ page_size: number }>`PRAGMA page_size`.execute(db.kysely);
    expect(pageSize.rows[0]?.page_size).toBe(32 * 1024);
    const aside = await checkSqliteFileIntegrity(path, SCRATCH_CACHE_KIB);
    expect(aside).toEqual({ integrity: ['ok'], foreignKeyViolations: 0 });
    expect(aside).toEqual(await checkSqliteIntegrity(db));
  });

  it('counts foreign key violations', async () => {
    const { db, path } = await scratchDatabase(3);
    await sql`PRAGMA foreign_keys = OFF`.execute(db.kysely);
    await sql`INSERT INTO items (user_id, id, collection_id, head_seq, deleted, content_hash, size, created_at, updated_at)
      VALUES ('u1', 'orphan', 'no-such-collection', 9, 0, NULL, 1, 0, 0)`.execute(db.kysely);
    expect(await checkSqliteFileIntegrity(path, SCRATCH_CACHE_KIB)).toEqual({
      integrity: ['ok'],
      foreignKeyViolations: 1,
    });
  });

  it('finds a damaged file damaged', async () => {
    const { db, path } = await scratchDatabase(2000);
    await db.close();
    // Garbage over the middle of the file, where the items table and its indexes are.
    const file = await open(path, 'r+');
    const { size } = await file.stat();
    await file.write(Buffer.alloc(64 * 1024, 0x5a), 0, 64 * 1024, Math.floor(size / 2));
    await file.close();
    const outcome = await checkSqliteFileIntegrity(path, SCRATCH_CACHE_KIB).then(
      (result) => result.integrity,
      (error: Error) => [error.message],
    );
    expect(outcome).not.toEqual(['ok']);
  });
});
