import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { compiledForList, compiledOnce } from './compiled-once.js';
import type { Database } from './schema.js';
import { inTransaction } from './transactions.js';

describe.each(engines)('queries compiled once on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine);
    await server.ctx.db.kysely
      .insertInto('users')
      .values([
        { id: 'co-a', username: 'co-alice', password_hash: 'ha', disabled: 0, created_at: 1, updated_at: 1 },
        { id: 'co-b', username: 'co-bob', password_hash: 'hb', disabled: 1, created_at: 2, updated_at: 2 },
        { id: 'co-c', username: 'co-carol', password_hash: 'hc', disabled: 0, created_at: 3, updated_at: 3 },
      ])
      .execute();
  });
  afterAll(async () => server?.close());

  /** Enabled users created after `after`, as each test's builder starts its query; counts the builds. */
  let builds = 0;
  const enabledAfter = (db: Kysely<Database>, after: number) => {
    builds++;
    return db.selectFrom('users').select('id').where('disabled', '=', 0).where('created_at', '>', after);
  };
  beforeEach(() => {
    builds = 0;
  });

  it('builds once, then runs with each call’s own values, keeping the constants the builder wrote', async () => {
    const enabledNamed = compiledOnce<{ id: string }, [string, number]>((db, [username, after]) =>
      enabledAfter(db, after).where('username', '=', username),
    );
    const db = server.ctx.db;
    expect(await enabledNamed(db, 'co-alice', 0)).toEqual([{ id: 'co-a' }]);
    expect(await enabledNamed(db, 'co-alice', 1)).toEqual([]);
    // Disabled: the constant 0 is still there, not replaced by a value of the call.
    expect(await enabledNamed(db, 'co-bob', 0)).toEqual([]);
    expect(await enabledNamed(db, 'co-carol', 2)).toEqual([{ id: 'co-c' }]);
    expect(builds).toBe(1);
  });

  it('builds a query with a list once per length of list, with each call’s list and values in place', async () => {
    const enabledAmong = compiledForList<{ id: string }, [number]>((db, ids, [after]) =>
      enabledAfter(db, after).where('id', 'in', ids).orderBy('id'),
    );
    const db = server.ctx.db;
    expect(await enabledAmong(db, ['co-a', 'co-b'], 0)).toEqual([{ id: 'co-a' }]);
    expect(await enabledAmong(db, ['co-c', 'co-a'], 0)).toEqual([{ id: 'co-a' }, { id: 'co-c' }]);
    expect(await enabledAmong(db, ['co-c', 'co-a'], 1)).toEqual([{ id: 'co-c' }]);
    expect(builds).toBe(1);
    expect(await enabledAmong(db, ['co-a', 'co-b', 'co-c'], 0)).toEqual([{ id: 'co-a' }, { id: 'co-c' }]);
    expect(await enabledAmong(db, ['co-b'], 0)).toEqual([]);
    expect(builds).toBe(3);
  });

  it('runs in the caller’s transaction: it sees that transaction’s writes, and they roll back with it', async () => {
    const renamed = compiledOnce<never, [string, string]>((db, [username, id]) =>
      db.updateTable('users').set({ username }).where('id', '=', id),
    );
    const named = compiledOnce<{ username: string }, [string]>((db, [id]) =>
      db.selectFrom('users').select('username').where('id', '=', id),
    );
    const failure = new Error('roll back');
    const seen = await inTransaction(server.ctx.db, async (trx) => {
      await renamed(trx, 'co-renamed', 'co-c');
      const inside = await named(trx, 'co-c');
      throw Object.assign(failure, { inside });
    }).catch((error: { inside?: unknown }) => error.inside);
    expect(seen).toEqual([{ username: 'co-renamed' }]);
    expect(await named(server.ctx.db, 'co-c')).toEqual([{ username: 'co-carol' }]);
  });
});
