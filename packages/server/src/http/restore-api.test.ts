import { randomUUID } from 'node:crypto';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
} from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.each(engines)('point-in-time restore on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let book: string;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-pitr-${engine}`);
    bob = await addUser(server, `bob-pitr-${engine}`);
    book = (
      await server.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: alice.auth,
        payload: { type: 'contacts', name: 'Book' },
      })
    ).json().id;
  });
  afterAll(async () => server?.close());

  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown, user = alice) =>
    server.app.inject({
      method,
      url,
      headers: user.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const push = async (changes: object[]) => (await call('POST', '/v1/push', { changes })).json().results;
  const put = (itemId: string, content: string, baseRevision: number | null = null) => ({
    clientChangeId: randomUUID(),
    collectionId: book,
    itemId,
    op: 'put',
    baseRevision,
    content,
  });
  const head = async () => (await call('GET', '/v1/me')).json().head as number;
  const liveItems = async () =>
    Object.fromEntries(
      (await call('GET', `/v1/collections/${book}/items`))
        .json()
        .items.map((i: { id: string; content: string }) => [i.id, i.content]),
    );

  it('previews, then puts the data back as new revisions, and can be undone the same way', async () => {
    const [ada, bea] = await push([put('ada', vcard('ada', 'Ada', '+1 555 0001')), put('bea', vcard('bea', 'Bea'))]);
    const good = await head();
    const before = await liveItems();
    // Then things go wrong: numbers blanked, a contact deleted, junk added.
    await push([put('ada', vcard('ada', 'Ada', ''), ada.revision)]);
    await push([
      { clientChangeId: randomUUID(), collectionId: book, itemId: 'bea', op: 'delete', baseRevision: bea.revision },
    ]);
    await push([put('junk', vcard('junk', 'Junk'))]);
    const broken = await liveItems();
    expect(broken.ada).not.toBe(before.ada);

    const preview = (await call('POST', '/v1/restore/preview', { revision: good })).json();
    expect(preview.counts).toEqual({ restore: 2, remove: 1, unchanged: 0 });
    expect(await liveItems()).toEqual(broken); // a preview changes nothing

    const restored = (await call('POST', '/v1/restore', { revision: good })).json();
    expect(restored.counts).toEqual(preview.counts);
    expect(await liveItems()).toEqual(before);
    const history = (await call('GET', '/v1/items/ada/revisions')).json().revisions;
    expect(history.map((r: { origin: string }) => r.origin)).toEqual(['client', 'client', 'restore']);

    // Undo the restore: go back to just before it.
    await call('POST', '/v1/restore', { revision: restored.firstRevision - 1 });
    expect(await liveItems()).toEqual(broken);

    const ledger = (await call('GET', '/v1/ledger'))
      .json()
      .entries.filter((e: { kind: string }) => e.kind === 'restore');
    expect(ledger).toHaveLength(2);
    expect(ledger[0]).toMatchObject({ userId: alice.userId, details: { restored: 2, removed: 1 } });
  });

  it('restores by time, can keep newer items, and can revive a deleted collection', async () => {
    const notes = (await call('POST', '/v1/collections', { type: 'notes', name: 'Notes' })).json().id;
    await push([
      {
        clientChangeId: randomUUID(),
        collectionId: notes,
        itemId: 'n1',
        op: 'put',
        baseRevision: null,
        content: { title: 'keep me', body: 'x' },
      },
    ]);
    await new Promise((r) => setTimeout(r, 15));
    const moment = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 15));
    await push([
      {
        clientChangeId: randomUUID(),
        collectionId: notes,
        itemId: 'n2',
        op: 'put',
        baseRevision: null,
        content: { title: 'newer', body: 'y' },
      },
    ]);
    await call('DELETE', `/v1/collections/${notes}`);
    expect((await call('GET', `/v1/collections/${notes}`)).statusCode).toBe(404);

    const kept = (await call('POST', '/v1/restore', { at: moment, collectionIds: [notes], keepNewer: true })).json();
    expect(kept.collectionsRevived).toEqual([notes]);
    expect((await call('GET', `/v1/collections/${notes}`)).statusCode).toBe(200);
    const items = (await call('GET', `/v1/collections/${notes}/items`)).json().items.map((i: { id: string }) => i.id);
    expect(items).toEqual(['n1']);
    const feed = (await call('GET', '/v1/changes?limit=1000')).json().changes;
    expect(
      feed.find(
        (c: { entity: string; collectionId: string; origin: string }) =>
          c.entity === 'collection' && c.collectionId === notes && c.origin === 'restore',
      ),
    ).toBeDefined();
  });

  it("touches only the caller's data and rejects bad requests", async () => {
    const foreign = await call('POST', '/v1/restore', { revision: 0, collectionIds: [book] }, bob);
    expect(foreign.statusCode).toBe(404);
    expect((await liveItems()).ada).toBeDefined();
    expect((await call('POST', '/v1/restore', { at: new Date().toISOString(), revision: 1 })).statusCode).toBe(400);
    expect((await call('POST', '/v1/restore', {})).statusCode).toBe(400);
  });
});
