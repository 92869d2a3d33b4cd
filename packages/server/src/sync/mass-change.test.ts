import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
} from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../ledger/ledger.js';
import { addDavUser, type DavUser, davClient } from '../test-support/dav.js';

interface Ledger {
  kind: string;
  userId: string | null;
  details: { collections?: { collectionId: string; deletes: number; applied?: number; liveItems: number }[] };
}

describe.each(engines)('the server mass-change budget on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const revisions = new Map<string, number>();

  const call = async (user: TestUser, method: 'GET' | 'POST', url: string, payload?: object) =>
    server.app.inject({ method, url, headers: user.auth, ...(payload ? { payload } : {}) });
  const ledgerOf = async (user: TestUser): Promise<Ledger[]> => (await call(user, 'GET', '/v1/ledger')).json().entries;
  const count = async (user: TestUser, collection: string) =>
    ((await call(user, 'GET', '/v1/summary')).json().collections as { id: string; count: number }[]).find(
      (c) => c.id === collection,
    )?.count;

  async function fill(user: TestUser, collection: string, items: number) {
    expect(
      (await call(user, 'POST', '/v1/collections', { id: collection, type: 'contacts', name: 'C' })).statusCode,
    ).toBe(201);
    const changes = Array.from({ length: items }, (_, i) => ({
      clientChangeId: `put-${collection}-${i}`,
      collectionId: collection,
      itemId: `${collection}-item-${i}`,
      op: 'put',
      baseRevision: null,
      content: vcard(`${collection}-${i}`, `Person ${i}`),
    }));
    const response = await call(user, 'POST', '/v1/push', { changes });
    expect(response.statusCode, response.body).toBe(200);
    for (const result of response.json().results) revisions.set(result.clientChangeId.slice(4), result.revision);
  }
  const deletes = (collection: string, from: number, to: number, tag: string) =>
    Array.from({ length: to - from }, (_, k) => {
      const i = from + k;
      return {
        clientChangeId: `del-${tag}-${i}`,
        collectionId: collection,
        itemId: `${collection}-item-${i}`,
        op: 'delete',
        baseRevision: revisions.get(`${collection}-${i}`) ?? null,
      };
    });

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-mass-${engine}`);
    bob = await addUser(server, `bob-mass-${engine}`);
    await fill(alice, 'book', 100);
  });
  afterAll(async () => server?.close());

  it('refuses 80 deletions of 100 items unconfirmed, names the counts, deletes nothing and records it', async () => {
    const refused = await call(alice, 'POST', '/v1/push', { changes: deletes('book', 0, 80, 'a') });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      code: 'mass_change_blocked',
      details: { collectionId: 'book', deletes: 80, liveItems: 100, limit: 50 },
    });
    expect(refused.json().detail).toMatch(/80 items \(80%\) from collection book/);
    expect(await count(alice, 'book')).toBe(100);
    const blocked = (await ledgerOf(alice)).filter((e) => e.kind === 'mass_change_blocked');
    expect(blocked).toHaveLength(1);
    expect(blocked[0]).toMatchObject({ userId: alice.userId, details: { collections: [{ deletes: 80 }] } });
    // Asking again in the same window is refused again, but recorded once.
    expect((await call(alice, 'POST', '/v1/push', { changes: deletes('book', 0, 80, 'a') })).statusCode).toBe(409);
    expect((await ledgerOf(alice)).filter((e) => e.kind === 'mass_change_blocked')).toHaveLength(1);
  });

  it('applies them when the user confirmed, and records the confirmation', async () => {
    const confirmed = await call(alice, 'POST', '/v1/push', {
      changes: deletes('book', 0, 80, 'a'),
      confirmMassChange: true,
    });
    expect(confirmed.statusCode, confirmed.body).toBe(200);
    expect(confirmed.json().results.every((r: { status: string }) => r.status === 'applied')).toBe(true);
    expect(await count(alice, 'book')).toBe(20);
    const entry = (await ledgerOf(alice)).find((e) => e.kind === 'mass_change_confirmed');
    expect(entry).toMatchObject({ userId: alice.userId, details: { collections: [{ applied: 80, liveItems: 100 }] } });
    expect(await verifyLedger(server.ctx.db.kysely)).toMatchObject({ ok: true });
  });

  it('counts a burst of small pushes from one device together', async () => {
    await fill(alice, 'burst', 100);
    const first = await call(alice, 'POST', '/v1/push', { changes: deletes('burst', 0, 40, 'b') });
    expect(first.statusCode, first.body).toBe(200);
    const second = await call(alice, 'POST', '/v1/push', { changes: deletes('burst', 40, 60, 'b') });
    expect(second.statusCode).toBe(409);
    expect(second.json().details).toMatchObject({ deletes: 20, recentDeletes: 40, limit: 50 });
    expect(await count(alice, 'burst')).toBe(60);
  });

  it('lets everyday deletions through and keeps one user out of another user’s ledger', async () => {
    await fill(bob, 'book', 10);
    const few = await call(bob, 'POST', '/v1/push', { changes: deletes('book', 0, 5, 'c') });
    expect(few.statusCode, few.body).toBe(200);
    const bobs = await ledgerOf(bob);
    expect(bobs.filter((e) => e.kind.startsWith('mass_change'))).toEqual([]);
    expect(JSON.stringify(bobs)).not.toContain(alice.userId);
  });
});

describe('the DAV DELETE budget', () => {
  let server: TestServer;
  let carol: DavUser;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { 'mass-delete-max-items': '3' });
    carol = await addDavUser(server, 'carol-dav-mass');
  });
  afterAll(async () => server?.close());

  it('refuses DELETEs past the budget in the window with a DAV error and a ledger entry', async () => {
    const dav = davClient(server, carol);
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: carol.auth,
      payload: { id: 'book', type: 'contacts', name: 'Book' },
    });
    expect(created.statusCode).toBe(201);
    const base = `/dav/addressbooks/${carol.username}/book`;
    for (let i = 0; i < 6; i++) {
      const put = await dav('PUT', `${base}/c${i}.vcf`, {
        body: vcard(`c${i}`, `Card ${i}`),
        contentType: 'text/vcard',
      });
      expect(put.statusCode).toBe(201);
    }
    for (let i = 0; i < 3; i++) expect((await dav('DELETE', `${base}/c${i}.vcf`)).statusCode).toBe(204);
    const refused = await dav('DELETE', `${base}/c3.vcf`);
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toContain('mass-change-blocked');
    expect(refused.body).toMatch(/Too many deletions/);
    expect((await dav('GET', `${base}/c3.vcf`)).statusCode).toBe(200);
    const ledger = (await server.app.inject({ method: 'GET', url: '/v1/ledger', headers: carol.auth })).json()
      .entries as Ledger[];
    expect(ledger.find((e) => e.kind === 'mass_change_blocked')).toMatchObject({
      userId: carol.userId,
      details: { via: 'dav', collections: [{ collectionId: 'book', recentDeletes: 3 }] },
    });
  });
});
