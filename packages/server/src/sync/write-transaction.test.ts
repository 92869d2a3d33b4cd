import { addUser, engines, startTestServer, type TestServer, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../context.js';
import { readHead, readUserRevisions } from '../store/revision-log.js';
import { deleteRevision } from '../test-support/revisions.js';
import { push } from './push.js';
import { writeTransaction } from './write-transaction.js';

describe.each(engines)('group commit on %s', (engine) => {
  let server: TestServer;
  let caller: Caller;
  let collectionId: string;
  beforeAll(async () => {
    server = await startTestServer(engine);
    const user = await addUser(server);
    caller = { userId: user.userId, username: user.username, deviceId: user.deviceId };
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: user.auth,
      payload: { type: 'contacts', name: 'Group' },
    });
    collectionId = (created.json() as { id: string }).id;
  });
  afterAll(async () => server?.close());

  const change = (n: number) => ({
    clientChangeId: `group-${n}`,
    collectionId,
    itemId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    op: 'put' as const,
    baseRevision: null,
    content: vcard(`group-${n}`, `Person ${n}`),
  });

  it('commits concurrent pushes with distinct, gap-free sequence numbers', async () => {
    const before = await readHead(server.ctx.db.kysely);
    const results = await Promise.all(Array.from({ length: 12 }, (_, n) => push(server.ctx, caller, [change(n)])));
    const revisions = results.map(([result]) => (result?.status === 'applied' ? result.revision : null));
    expect(revisions).not.toContain(null);
    expect(new Set(revisions).size).toBe(12);
    const after = await readHead(server.ctx.db.kysely);
    expect(after - before).toBe(12);
    const logged = await readUserRevisions(server.ctx.db.kysely, caller.userId, before, after, 100);
    expect(logged.map((r) => r.seq)).toEqual(Array.from({ length: 12 }, (_, n) => before + n + 1));
    expect(logged.map((r) => r.seq).sort((a, b) => a - b)).toEqual([...(revisions as number[])].sort((a, b) => a - b));
  });

  it('rolls back a failing write alone, leaving the writes grouped with it committed and the log gap-free', async () => {
    const before = await readHead(server.ctx.db.kysely);
    const failing = writeTransaction(server.ctx, caller, async (trx, append) => {
      await append([deleteRevision(caller, collectionId, 'never-committed')]);
      await trx.updateTable('collections').set({ name: 'renamed by the failing write' }).execute();
      throw new Error('this write fails after appending');
    });
    const [first, failed, last] = await Promise.allSettled([
      push(server.ctx, caller, [change(100)]),
      failing,
      push(server.ctx, caller, [change(101)]),
    ]);
    expect(failed).toMatchObject({ status: 'rejected', reason: { message: 'this write fails after appending' } });
    expect(first).toMatchObject({ status: 'fulfilled', value: [{ status: 'applied' }] });
    expect(last).toMatchObject({ status: 'fulfilled', value: [{ status: 'applied' }] });
    const after = await readHead(server.ctx.db.kysely);
    expect(after - before).toBe(2);
    const logged = await readUserRevisions(server.ctx.db.kysely, caller.userId, before, after + 10, 100);
    // Concurrent writers may commit in either order; both must be there, and nothing else.
    expect(logged.map((r) => r.item_id).sort()).toEqual([change(100).itemId, change(101).itemId].sort());
    expect(logged.map((r) => r.seq)).toEqual([before + 1, before + 2]);
    const collection = await server.ctx.db.kysely
      .selectFrom('collections')
      .select('name')
      .where('id', '=', collectionId)
      .executeTakeFirstOrThrow();
    expect(collection.name).toBe('Group');
  });

  it("queues writes in the context's commit queue and commits them together", async () => {
    const queued = server.ctx.commits.waiting.length;
    const writes = [1, 2, 3].map((n) => writeTransaction(server.ctx, caller, async () => n));
    expect(server.ctx.commits.waiting.length).toBe(queued + 3);
    await expect(Promise.all(writes)).resolves.toEqual([1, 2, 3]);
    expect(server.ctx.commits.waiting).toHaveLength(0);
  });
});
