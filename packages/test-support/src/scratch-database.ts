import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, openDatabase } from '@holdfast/server';
import { createTestDatabase } from './postgres.js';

/**
 * An empty database on one engine, with no schema yet (the caller migrates as
 * far as its test needs): a fresh SQLite file in its own directory, or a fresh
 * database on the test PostgreSQL server. `dispose` closes it and removes it.
 */
export async function openScratchDatabase(
  engine: 'sqlite' | 'postgres',
): Promise<{ db: Db; dispose: () => Promise<void> }> {
  if (engine === 'postgres') {
    const pg = await createTestDatabase();
    const db = openDatabase(pg.url);
    return {
      db,
      dispose: async () => {
        await db.close();
        await pg.drop();
      },
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'holdfast-scratch-'));
  const db = openDatabase(join(dir, 'holdfast.db'));
  return {
    db,
    dispose: async () => {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
