import { setTimeout as sleep } from 'node:timers/promises';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordIncident, verifyLedger } from './ledger.js';

interface Entry {
  seq: number;
  kind: string;
  scope: string;
  details: Record<string, unknown>;
  affected?: Record<string, unknown>;
  recovered?: { seq: number; kind: string }[];
}

describe.each(engines)("one user's view of deployment-wide incidents on %s", (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let carol: TestUser;
  let bob: TestUser;
  const seqs: Record<string, number> = {};

  const ledgerOf = async (user: TestUser): Promise<Entry[]> => {
    const response = await server.app.inject({ method: 'GET', url: '/v1/ledger', headers: user.auth });
    expect(response.statusCode).toBe(200);
    return response.json().entries;
  };

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-view-${engine}`);
    carol = await addUser(server, `carol-view-${engine}`);
    await sleep(5);
    const db = server.ctx.db;
    const record = async (name: string, input: Parameters<typeof recordIncident>[1]) => {
      seqs[name] = (await recordIncident(db, input)).seq;
    };
    await record('rollback', {
      kind: 'rollback_detected',
      userId: null,
      summary: 'The database came back at revision 10 after revision 14 had been committed.',
      details: { head: 10, lostFrom: 11, lostTo: 14 },
    });
    await sleep(5);
    bob = await addUser(server, `bob-view-${engine}`);
    await record('aliceReseed', {
      kind: 'reseed',
      userId: alice.userId,
      summary: 'Device re-uploaded 3 items.',
      details: { itemsUploaded: 3 },
    });
    await record('carolReseed', {
      kind: 'reseed',
      userId: carol.userId,
      summary: 'Device re-uploaded 7 items.',
      details: { itemsUploaded: 7 },
    });
    await record('restore', {
      kind: 'restore',
      userId: null,
      summary: 'Restored from backup repository r1 up to revision 20.',
      details: {
        repository: 'r1',
        users: { [alice.userId]: { items: 3, collections: 1 }, [carol.userId]: { items: 7, collections: 2 } },
      },
    });
  });
  afterAll(async () => server?.close());

  it('shows a deployment-wide loss to each user who existed, with what came back for them', async () => {
    const entries = await ledgerOf(alice);
    const rollback = entries.find((e) => e.kind === 'rollback_detected');
    expect(rollback).toMatchObject({ seq: seqs.rollback, scope: 'deployment', details: { lostFrom: 11, lostTo: 14 } });
    // Alice's own re-seed came back, then the deployment-wide restore ends the story.
    expect(rollback?.recovered?.map((r) => r.seq)).toEqual([seqs.aliceReseed, seqs.restore]);
    const restore = entries.find((e) => e.kind === 'restore');
    expect(restore?.affected).toEqual({ items: 3, collections: 1 });
    expect(restore?.details).toEqual({ repository: 'r1' });
  });

  it("never shows one user another user's share", async () => {
    const aliceView = JSON.stringify(await ledgerOf(alice));
    expect(aliceView).not.toContain(carol.userId);
    expect(aliceView).not.toContain('re-uploaded 7');
    const carolEntries = await ledgerOf(carol);
    const carolView = JSON.stringify(carolEntries);
    expect(carolView).not.toContain(alice.userId);
    expect(carolEntries.find((e) => e.kind === 'restore')?.affected).toEqual({ items: 7, collections: 2 });
    expect(carolEntries.find((e) => e.kind === 'rollback_detected')?.recovered?.map((r) => r.seq)).toEqual([
      seqs.carolReseed,
      seqs.restore,
    ]);
  });

  it('leaves out incidents from before the account existed; a restore without them shows nothing came back', async () => {
    const entries = await ledgerOf(bob);
    expect(entries.map((e) => e.kind)).toEqual(['restore']);
    expect(entries[0]?.affected).toEqual({ items: 0, collections: 0 });
    expect(JSON.stringify(entries)).not.toContain(alice.userId);
  });

  it('computes the view on reading and leaves the chain as recorded', async () => {
    expect(await verifyLedger(server.ctx.db.kysely)).toMatchObject({ ok: true, entries: 4 });
    const stored = await server.ctx.db.kysely
      .selectFrom('ledger_entries')
      .select('details')
      .where('seq', '=', seqs.restore as number)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(stored.details).users[carol.userId]).toEqual({ items: 7, collections: 2 });
  });
});
