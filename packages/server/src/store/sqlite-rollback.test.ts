import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { toAppError } from '../http/problem.js';
import { openDatabase } from './database.js';
import { inTransaction } from './transactions.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('a transaction SQLite already rolled back by itself', () => {
  it('fails with the error that ended it, not with the ROLLBACK that follows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-rollback-'));
    dirs.push(dir);
    const db = openDatabase(join(dir, 'holdfast.db'), { create: true });
    try {
      const cause = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      // SQLite ends the transaction on SQLITE_FULL before the error reaches the code that started it.
      const failed = await inTransaction(db, async (trx) => {
        await sql`ROLLBACK`.execute(trx);
        throw cause;
      }).catch((error: unknown) => error);
      expect(failed).toBe(cause);
      expect(toAppError(failed).error).toMatchObject({ code: 'unavailable', details: { reason: 'disk_full' } });
      // The connection is usable afterwards.
      expect(
        await inTransaction(db, async (trx) => (await sql<{ one: number }>`SELECT 1 AS one`.execute(trx)).rows),
      ).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
    }
  });

  it('maps disk-full errors of every engine, wrapped or not, to a retryable 503', () => {
    for (const code of ['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']) {
      const wrapped = new Error('write failed', { cause: Object.assign(new Error('full'), { code }) });
      expect(toAppError(wrapped).error.toProblem()).toMatchObject({ status: 503, code: 'unavailable' });
    }
    expect(toAppError(Object.assign(new Error('other'), { code: 'SQLITE_CONSTRAINT' })).error.code).toBe('internal');
    // Locked past busy_timeout (another process holding the write lock): retryable too, for another reason.
    expect(toAppError(Object.assign(new Error('locked'), { code: 'SQLITE_BUSY' })).error).toMatchObject({
      code: 'unavailable',
      details: { reason: 'database_unavailable' },
    });
  });
});
