import { createHash, randomUUID } from 'node:crypto';
import { tinyPng } from '@holdfast/test-support/fixtures';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
  vevent,
} from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavCall, type DavUser, davClient } from '../test-support/dav.js';

const DAY_MS = 86_400_000;

describe.each(engines)('trash, undelete, item restore and named restore previews on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let bob: TestUser;
  let dav: DavCall;

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown, user: TestUser = alice) =>
    server.app.inject({
      method,
      url,
      headers: user.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const push = async (changes: object[], user: TestUser = alice) => {
    const response = await call('POST', '/v1/push', { changes }, user);
    expect(response.statusCode).toBe(200);
    return response.json().results as { status: string; revision: number }[];
  };
  const put = (
    collectionId: string,
    itemId: string,
    content: unknown,
    baseRevision: number | null = null,
    blob?: object,
  ) => ({
    clientChangeId: randomUUID(),
    collectionId,
    itemId,
    op: 'put',
    baseRevision,
    content,
    ...(blob ? { blob } : {}),
  });
  const del = (collectionId: string, itemId: string, baseRevision: number) => ({
    clientChangeId: randomUUID(),
    collectionId,
    itemId,
    op: 'delete',
    baseRevision,
  });
  const head = async () => (await call('GET', '/v1/me')).json().head as number;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-trash-${engine}`);
    bob = await addUser(server, `bob-trash-${engine}`);
    dav = davClient(server, alice);
    for (const [id, type] of [
      ['book', 'contacts'],
      ['cal', 'calendar'],
      ['notes', 'notes'],
      ['pics', 'photos'],
    ])
      expect((await call('POST', '/v1/collections', { id, type, name: id })).statusCode).toBe(201);
  });
  afterAll(async () => server?.close());

  it('lists deleted items by name with their retention, and undeletes them through the write path', async () => {
    const [ada] = await push([put('book', 'ada', vcard('ada', 'Ada Lovelace', '+44 20 7946 0000'))]);
    const [note] = await push([put('notes', 'n1', { title: 'Shopping', body: '- milk' })]);
    const deletedAt = Date.now();
    const [adaGone, noteGone] = await push([
      del('book', 'ada', ada?.revision as number),
      del('notes', 'n1', note?.revision as number),
    ]);

    const trash = (await call('GET', '/v1/trash')).json();
    expect(trash.retentionDays).toBe(30);
    expect(trash.next).toBeNull();
    expect(trash.items.map((i: { name: string }) => i.name)).toEqual(['Shopping', 'Ada Lovelace']);
    const entry = trash.items[1];
    expect(entry).toMatchObject({ id: 'ada', collectionId: 'book', type: 'contacts', revision: adaGone?.revision });
    expect(Math.abs(Date.parse(entry.deletedAt) - deletedAt)).toBeLessThan(60_000);
    expect(Date.parse(entry.retentionUntil) - Date.parse(entry.deletedAt)).toBe(30 * DAY_MS);
    // Paged and filtered.
    const first = (await call('GET', '/v1/trash?limit=1')).json();
    expect(first.items.map((i: { id: string }) => i.id)).toEqual(['n1']);
    expect(first.next).toBe(String(noteGone?.revision));
    expect((await call('GET', `/v1/trash?limit=1&after=${first.next}`)).json().items[0].id).toBe('ada');
    expect((await call('GET', '/v1/trash?collectionId=notes')).json().items).toHaveLength(1);
    // Nobody else sees it or brings it back.
    expect((await call('GET', '/v1/trash', undefined, bob)).json().items).toEqual([]);
    expect((await call('POST', '/v1/items/ada/undelete', undefined, bob)).statusCode).toBe(404);

    const heard: number[] = [];
    const off = server.ctx.notifier.subscribe(alice.userId, (seq) => heard.push(seq));
    const undone = await call('POST', '/v1/items/ada/undelete');
    off();
    expect(undone.statusCode).toBe(200);
    const { revision } = undone.json();
    expect(revision).toBe(await head());
    // A live event, the change feed, the item, the contact index and DAV all see the new revision.
    await expect.poll(() => heard.includes(revision)).toBe(true);
    const item = (await call('GET', '/v1/items/ada')).json();
    expect(item).toMatchObject({ revision, content: vcard('ada', 'Ada Lovelace', '+44 20 7946 0000') });
    const changes = (await call('GET', '/v1/changes')).json();
    expect(changes.changes.at(-1)).toMatchObject({ itemId: 'ada', revision, op: 'put' });
    expect((await call('GET', '/v1/contacts/search?q=lovelace')).json().contacts[0]).toMatchObject({
      id: 'ada',
      revision,
    });
    const card = await dav('GET', `/dav/addressbooks/${alice.username}/book/ada.vcf`);
    expect(card.statusCode).toBe(200);
    expect(card.body).toContain('FN:Ada Lovelace');
    expect((await call('GET', '/v1/trash')).json().items.map((i: { id: string }) => i.id)).toEqual(['n1']);
    // Undeleting a live item is a conflict, not a second copy.
    expect((await call('POST', '/v1/items/ada/undelete')).json().code).toBe('conflict');
  });

  it('leaves items deleted longer ago than the retention out of the trash', async () => {
    const [old] = await push([put('book', 'old', vcard('old', 'Old Friend'))]);
    const realNow = server.ctx.now;
    try {
      server.ctx.now = () => realNow() - 31 * DAY_MS;
      await push([del('book', 'old', old?.revision as number)]);
    } finally {
      server.ctx.now = realNow;
    }
    expect((await call('GET', '/v1/trash')).json().items.map((i: { id: string }) => i.id)).not.toContain('old');
    // Still in the log: it can be brought back by id.
    expect((await call('POST', '/v1/items/old/undelete')).statusCode).toBe(200);
  });

  it('restores one past version of an item as a new revision', async () => {
    const [v1] = await push([put('book', 'bea', vcard('bea', 'Bea First'))]);
    const [v2] = await push([put('book', 'bea', vcard('bea', 'Bea Second'), v1?.revision as number)]);
    const restored = await call('POST', '/v1/items/bea/restore', { revision: v1?.revision });
    expect(restored.statusCode).toBe(200);
    const { revision } = restored.json();
    expect(revision).toBeGreaterThan(v2?.revision as number);
    expect((await call('GET', '/v1/items/bea')).json()).toMatchObject({ revision, content: vcard('bea', 'Bea First') });
    const history = (await call('GET', '/v1/items/bea/revisions')).json().revisions;
    expect(history.map((r: { revision: number }) => r.revision)).toEqual([v1?.revision, v2?.revision, revision]);
    // Asking again for the content it already has writes nothing.
    expect((await call('POST', '/v1/items/bea/restore', { revision: v1?.revision })).json().revision).toBe(revision);
    // A revision of another item, a deletion, or another user's item: refused.
    const [other] = await push([put('book', 'cy', vcard('cy', 'Cy'))]);
    expect((await call('POST', '/v1/items/bea/restore', { revision: other?.revision })).statusCode).toBe(404);
    const [gone] = await push([del('book', 'cy', other?.revision as number)]);
    expect((await call('POST', '/v1/items/cy/restore', { revision: gone?.revision })).json().code).toBe(
      'invalid_request',
    );
    expect((await call('POST', '/v1/items/bea/restore', { revision: v1?.revision }, bob)).statusCode).toBe(404);
    expect((await call('POST', '/v1/items/bea/restore', { revision: 'one' })).statusCode).toBe(400);
  });

  it('names the items in a restore preview: contact, event, note and photo', async () => {
    const png = tinyPng();
    const sha = createHash('sha256').update(png).digest('hex');
    const upload = await server.app.inject({
      method: 'PUT',
      url: `/v1/blobs/${sha}`,
      headers: { ...alice.auth, 'content-type': 'image/png' },
      payload: png,
    });
    expect(upload.statusCode).toBe(201);
    const point = await head();
    const [dan, ev, note, pic] = await push([
      put('book', 'dan', vcard('dan', 'Dan Brown')),
      put('cal', 'ev1', vevent('ev1', 'Dentist')),
      put('notes', 'n2', { title: 'Ideas', body: 'more' }),
      put('pics', 'p1', { filename: 'beach.png' }, null, { sha256: sha, contentType: 'image/png' }),
    ]);
    const preview = (
      await call('POST', '/v1/restore/preview', { revision: point, collectionIds: ['book', 'cal', 'notes', 'pics'] })
    ).json();
    const named = Object.fromEntries(
      preview.steps.map((s: { itemId: string; action: string; name: string }) => [s.itemId, `${s.action} ${s.name}`]),
    );
    expect(named).toMatchObject({
      dan: 'remove Dan Brown',
      ev1: 'remove Dentist',
      n2: 'remove Ideas',
      p1: 'remove beach.png',
    });
    // A restore step is named from the revision that comes back.
    await push([put('book', 'dan', vcard('dan', 'Daniel Brown'), dan?.revision as number)]);
    const back = (
      await call('POST', '/v1/restore/preview', { revision: dan?.revision, collectionIds: ['book'] })
    ).json();
    expect(back.steps.find((s: { itemId: string }) => s.itemId === 'dan')).toMatchObject({
      action: 'restore',
      name: 'Dan Brown',
    });
    expect([ev, note, pic].every((r) => r?.status === 'applied')).toBe(true);
  });
});
