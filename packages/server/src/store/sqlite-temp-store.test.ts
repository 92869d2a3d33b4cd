import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { beginSavepoint, inTransaction, rollbackToSavepoint } from './transactions.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe("SQLite's temporary storage", () => {
  it('is memory, so a group commit’s savepoint journal never spills to a temporary file, and still rolls back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-temp-store-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'holdfast.db'));
    try {
      // 2 is MEMORY; the SQLite build's default (0) puts the savepoint journal past 64 KiB in a file.
      const mode = await sql<{ temp_store: number }>`PRAGMA temp_store`.execute(db.kysely);
      expect(mode.rows[0]?.temp_store).toBe(2);
      await sql`CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)`.execute(db.kysely);
      const body = 'x'.repeat(3000);
      await inTransaction(db, async (trx) => {
        for (let i = 0; i < 200; i++) await sql`INSERT INTO t (id, body) VALUES (${i}, ${body})`.execute(trx);
      });
      const after = await inTransaction(db, async (trx) => {
        await sql`INSERT INTO t (id, body) VALUES (1000, 'kept')`.execute(trx);
        await beginSavepoint(trx);
        // Touches every page: far more than 64 KiB of pages in the savepoint's journal.
        await sql`UPDATE t SET body = ${'y'.repeat(3000)} WHERE id < 1000`.execute(trx);
        await rollbackToSavepoint(trx);
        return sql<{ n: number }>`SELECT count(*) AS n FROM t WHERE body = ${body}`.execute(trx);
      });
      expect(after.rows[0]?.n).toBe(200);
      const kept = await sql<{ body: string }>`SELECT body FROM t WHERE id = 1000`.execute(db.kysely);
      expect(kept.rows[0]?.body).toBe('kept');
    } finally {
      await db.close();
    }
  });
});
