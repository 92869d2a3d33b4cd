import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { closeContext, openContext } from '../open-context.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const cacheSize = async (db: Parameters<typeof closeContext>[0]['db']) =>
  (await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(db.kysely)).rows[0]?.cache_size;

describe("SQLite's page cache", () => {
  it('is the size sqliteCacheMib sets, 4 MiB unless set, not the 16 MiB the SQLite build defaults to', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-cache-'));
    dirs.push(dir);
    const byDefault = await openContext(loadConfig({ flags: { data: dir, 'log-level': 'silent' }, env: {} }), {
      migrate: 'gated',
      databaseOnly: true,
    });
    try {
      // Negative values are KiB.
      expect(await cacheSize(byDefault.db)).toBe(-4096);
    } finally {
      await closeContext(byDefault);
    }
    const set = await openContext(
      loadConfig({ flags: { data: dir, 'log-level': 'silent' }, env: { HOLDFAST_SQLITE_CACHE_MIB: '2' } }),
      { migrate: 'gated', databaseOnly: true },
    );
    try {
      expect(await cacheSize(set.db)).toBe(-2048);
    } finally {
      await closeContext(set);
    }
  });
});
