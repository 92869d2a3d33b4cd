import { DirectoryTarget, readJournalChain } from '@holdfast/backup';
import { addUser, engines, vcard } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../context.js';
import { type RevisionRow, readHead, readRevisionRange } from '../store/revision-log.js';
import { push } from '../sync/push.js';
import { writeTransaction } from '../sync/write-transaction.js';
import { cleanupAfterEach, openTestRepository, startBackedUpServer } from '../test-support/backups.js';
import { deleteRevision } from '../test-support/revisions.js';
import { createHandoff, offerRows } from './revision-handoff.js';
import { toBackupRevision } from './revision-records.js';
import { connect, disconnect, shipJournal } from './target-runtime.js';

const defer = cleanupAfterEach();

async function setUp(engine: (typeof engines)[number]) {
  const setup = await startBackedUpServer(engine, 1);
  defer(setup.close);
  const { server } = setup;
  const user = await addUser(server);
  const caller: Caller = { userId: user.userId, username: user.username, deviceId: user.deviceId };
  const created = await server.app.inject({
    method: 'POST',
    url: '/v1/collections',
    headers: user.auth,
    payload: { type: 'contacts', name: 'Handed over' },
  });
  const collectionId = (created.json() as { id: string }).id;
  const change = (n: number) => ({
    clientChangeId: `handoff-${n}`,
    collectionId,
    itemId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    op: 'put' as const,
    baseRevision: null,
    content: vcard(`handoff-${n}`, `Person ${n}`),
  });
  const handed: RevisionRow[] = [];
  server.ctx.commits.onCommitted = (rows) => handed.push(...rows);
  return { ...setup, caller, change, handed };
}

/** What the database holds after `afterSeq`, as a journal segment carries it. */
async function logged(db: Parameters<typeof readHead>[0], afterSeq: number) {
  const rows = await readRevisionRange(db, afterSeq, await readHead(db), 10_000);
  return rows.map(toBackupRevision);
}

describe.each(engines)('revisions handed from writes to shipping on %s', (engine) => {
  it('hands over exactly the committed rows, without those of a write rolled back in the same group', async () => {
    const { server, caller, change, handed } = await setUp(engine);
    const before = await readHead(server.ctx.db.kysely);
    const failing = writeTransaction(server.ctx, caller, async (_trx, append) => {
      await append([deleteRevision(caller, change(0).collectionId, 'never-committed')]);
      throw new Error('this write fails after appending');
    });
    const settled = await Promise.allSettled([
      push(server.ctx, caller, [change(1), change(2)]),
      failing,
      push(server.ctx, caller, [change(3)]),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await push(server.ctx, caller, [change(4)]);
    const expected = await logged(server.ctx.db.kysely, before);
    expect(expected.map((r) => r.seq)).toEqual([1, 2, 3, 4].map((n) => before + n));
    expect(handed.filter((r) => r.seq > before).map(toBackupRevision)).toEqual(expected);
  });

  it('ships handed-over rows without reading them back, and reads when the hand-off has a gap', async () => {
    const { server, dirs, caller, change, handed } = await setUp(engine);
    const { config, db, blobs } = server.ctx;
    const deps = { config, db, blobs, now: Date.now };
    const handoff = createHandoff();
    const runtime = {
      location: dirs[0] as string,
      target: new DirectoryTarget(dirs[0] as string),
      connection: null,
      handoff,
    };
    defer(() => runtime.target.close());
    const connection = await connect(deps, runtime);
    defer(() => disconnect(connection));
    await shipJournal(deps, connection);
    const start = connection.shippedSeq;

    await push(server.ctx, caller, [change(1), change(2), change(3)]);
    offerRows(handoff, handed.splice(0));
    await shipJournal(deps, connection);
    expect(handoff).toMatchObject({ taken: 1, read: 0 });
    // Taken rows are let go of at once, not kept until the next pass.
    expect(handoff.rows).toEqual([]);

    // The first of these never reaches the hand-off: the pass must not skip it.
    await push(server.ctx, caller, [change(4)]);
    handed.splice(0);
    await push(server.ctx, caller, [change(5), change(6)]);
    offerRows(handoff, handed.splice(0));
    // The pass ends on a read of the head that found nothing more: the lag is measured from it.
    expect((await shipJournal(deps, connection)).caughtUpAt).toBe(await readHead(db.kysely));
    expect(handoff).toMatchObject({ taken: 1, read: 1 });

    const repo = await openTestRepository(dirs[0] as string, defer);
    const chain = await readJournalChain(repo, connection.head?.object as string, start);
    const shipped = chain.flatMap((s) => s.segment.revisions);
    expect(shipped).toEqual(await logged(db.kysely, start));
    expect(shipped).toHaveLength(6);
  });
});

describe('the hand-off buffer', () => {
  const row = (seq: number, content = 'x') => ({ seq, content }) as RevisionRow;

  it('keeps only a gap-free run, newest last', () => {
    const handoff = createHandoff();
    offerRows(handoff, [row(1), row(2)]);
    offerRows(handoff, [row(3)]);
    expect(handoff.rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    offerRows(handoff, [row(5), row(6)]);
    expect(handoff.rows.map((r) => r.seq)).toEqual([5, 6]);
    expect(handoff.chars).toBe(2);
  });

  it('forgets the oldest rows beyond its bounds', () => {
    const handoff = createHandoff();
    offerRows(
      handoff,
      Array.from({ length: 1500 }, (_, i) => row(i + 1)),
    );
    expect(handoff.rows).toHaveLength(1000);
    expect(handoff.rows[0]?.seq).toBe(501);
    offerRows(handoff, [row(1501, 'y'.repeat(9 * 1024 * 1024))]);
    expect(handoff.rows.map((r) => r.seq)).toEqual([]);
    expect(handoff.chars).toBe(0);
  });
});
