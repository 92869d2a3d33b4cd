import { createHash, randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor } from '@holdfast/protocol';
import { uploadBlob } from '@holdfast/test-support/blob-upload';
import { tinyPng } from '@holdfast/test-support/fixtures';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
  vevent,
  vtodo,
} from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe.each(engines)('sync API on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-${engine}`);
  });
  afterAll(async () => server?.close());

  const inject = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: unknown, user = alice) =>
    server.app.inject({
      method,
      url,
      headers: user.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  async function collection(type: string, name = type): Promise<string> {
    const response = await inject('POST', '/v1/collections', { type, name });
    expect(response.statusCode).toBe(201);
    return response.json().id;
  }

  const put = (collectionId: string, itemId: string, content: unknown, baseRevision: number | null = null) => ({
    clientChangeId: randomUUID(),
    collectionId,
    itemId,
    op: 'put' as const,
    baseRevision,
    content,
  });

  it('pushes every kind of content and pulls it back exactly', async () => {
    const ids = {
      contacts: await collection('contacts'),
      calendar: await collection('calendar'),
      tasks: await collection('tasks'),
      notes: await collection('notes'),
      messages: await collection('messages'),
    };
    const contact = vcard('c1', 'Ada Lovelace', '+44 20 7946 0000');
    const note = { title: 'Groceries', body: '- milk\n- *eggs*' };
    const message = {
      thread: 'mum',
      sender: '+15550100',
      recipients: ['+15550199'],
      body: 'Call me back',
      sentAt: '2026-11-01T10:00:00Z',
      attachments: [],
    };
    const changes = [
      put(ids.contacts, 'c1', contact),
      put(ids.calendar, 'e1', vevent('e1', 'Standup')),
      put(ids.tasks, 't1', vtodo('t1', 'Pay rent')),
      put(ids.notes, 'n1', note),
      put(ids.messages, 'm1', message),
    ];
    const pushed = await inject('POST', '/v1/push', { changes });
    expect(pushed.statusCode).toBe(200);
    const results = pushed.json().results;
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      'applied',
      'applied',
      'applied',
      'applied',
      'applied',
    ]);

    const pulled = await inject('GET', '/v1/changes');
    expect(pulled.statusCode).toBe(200);
    const body = pulled.json();
    const items = body.changes.filter((c: { entity: string }) => c.entity === 'item');
    expect(items.map((c: { itemId: string }) => c.itemId)).toEqual(['c1', 'e1', 't1', 'n1', 'm1']);
    expect(items[0].content).toBe(contact);
    expect(items[0].contentType).toBe('text/vcard');
    expect(items[3].content).toEqual(note);
    expect(items[4].content).toMatchObject(message);
    expect(body.hasMore).toBe(false);
    expect(decodeCursor(body.cursor).generation).toBe(body.generation);

    const item = await inject('GET', '/v1/items/c1');
    expect(item.json()).toMatchObject({ id: 'c1', content: contact, revision: results[0].revision, deleted: false });
  });

  it('detects conflicts by base revision and keeps every revision in history', async () => {
    const c = await collection('contacts', 'conflicts');
    const first = (await inject('POST', '/v1/push', { changes: [put(c, 'x1', vcard('x1', 'First'))] })).json()
      .results[0];
    const second = (
      await inject('POST', '/v1/push', { changes: [put(c, 'x1', vcard('x1', 'Second'), first.revision)] })
    ).json().results[0];
    expect(second.status).toBe('applied');
    // A device that still thinks the head is `first` loses the race and is told the real head.
    const stale = (
      await inject('POST', '/v1/push', { changes: [put(c, 'x1', vcard('x1', 'Stale'), first.revision)] })
    ).json().results[0];
    expect(stale).toMatchObject({ status: 'conflict', head: { revision: second.revision, deleted: false } });
    // Creating an item that already exists is a conflict too.
    const dup = (await inject('POST', '/v1/push', { changes: [put(c, 'x1', vcard('x1', 'Dup'))] })).json().results[0];
    expect(dup.status).toBe('conflict');

    const del = {
      clientChangeId: randomUUID(),
      collectionId: c,
      itemId: 'x1',
      op: 'delete',
      baseRevision: second.revision,
    };
    const deleted = (await inject('POST', '/v1/push', { changes: [del] })).json().results[0];
    expect(deleted.status).toBe('applied');
    expect((await inject('GET', '/v1/items/x1')).statusCode).toBe(404);
    expect((await inject('GET', '/v1/items/x1?includeDeleted=true')).json()).toMatchObject({ deleted: true });

    const history = (await inject('GET', '/v1/items/x1/revisions')).json().revisions;
    expect(history.map((r: { op: string }) => r.op)).toEqual(['put', 'put', 'delete']);
    expect(history[0].content).toContain('FN:First');
    const old = await inject('GET', `/v1/items/x1/revisions/${first.revision}`);
    expect(old.json().content).toContain('FN:First');
  });

  it('replays a clientChangeId with the first result and writes nothing new', async () => {
    const c = await collection('notes', 'replay');
    const change = put(c, 'r1', { title: 'once', body: '' });
    const first = (await inject('POST', '/v1/push', { changes: [change] })).json().results[0];
    const headBefore = (await inject('GET', '/v1/me')).json().head;
    const again = (await inject('POST', '/v1/push', { changes: [change, change] })).json().results;
    expect(again).toEqual([first, first]);
    expect((await inject('GET', '/v1/me')).json().head).toBe(headBefore);
    const history = (await inject('GET', '/v1/items/r1/revisions')).json().revisions;
    expect(history).toHaveLength(1);
  });

  it('pages the change feed in sequence order with no gaps or repeats', async () => {
    const c = await collection('notes', 'paging');
    const changes = Array.from({ length: 25 }, (_, i) => put(c, `p${i}`, { title: `n${i}`, body: 'x' }));
    await inject('POST', '/v1/push', { changes });
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 100; page++) {
      const response = await inject('GET', `/v1/changes?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      const body = response.json();
      seen.push(...body.changes.map((ch: { revision: number }) => ch.revision));
      cursor = body.cursor;
      if (!body.hasMore) break;
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    const ours = (await inject('GET', '/v1/changes?limit=1000'))
      .json()
      .changes.map((ch: { revision: number }) => ch.revision);
    expect(seen).toEqual(ours);
    // At the head, the cursor stays valid and the page is empty.
    const atHead = await inject('GET', `/v1/changes?cursor=${cursor}`);
    expect(atHead.statusCode).toBe(200);
    expect(atHead.json().changes).toEqual([]);
  });

  it('refuses a push whose base revisions come from another generation, unless it re-seeds', async () => {
    const c = await collection('notes', 'generations');
    const change = put(c, 'g1', { title: 'g', body: '' });
    const refused = await inject('POST', '/v1/push', { changes: [change], generation: 'anOldLineage' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'generation_changed' });
    expect((await inject('GET', '/v1/items/g1')).statusCode).toBe(404);
    const me = (await inject('GET', '/v1/me')).json();
    expect(
      (await inject('POST', '/v1/push', { changes: [change], generation: me.generation })).json().results[0].status,
    ).toBe('applied');
    const reseed = await inject('POST', '/v1/push', {
      changes: [{ ...put(c, 'g2', { title: 'r', body: '' }), reseed: true }],
      generation: 'anOldLineage',
    });
    expect(reseed.json().results[0].status).toBe('applied');
  });

  it('answers a cursor of another generation or beyond the head with a typed 409, never an empty page', async () => {
    const me = (await inject('GET', '/v1/me')).json();
    const foreign = encodeCursor({ generation: 'someOtherLineage', seq: 1 });
    const r1 = await inject('GET', `/v1/changes?cursor=${foreign}`);
    expect(r1.statusCode).toBe(409);
    expect(r1.headers['content-type']).toContain('application/problem+json');
    expect(r1.json()).toMatchObject({ code: 'generation_changed', details: { generation: me.generation } });

    const ahead = encodeCursor({ generation: me.generation, seq: me.head + 1000 });
    const r2 = await inject('GET', `/v1/changes?cursor=${ahead}`);
    expect(r2.statusCode).toBe(409);
    expect(r2.json()).toMatchObject({ code: 'cursor_ahead', details: { head: me.head } });

    const r3 = await inject('GET', '/v1/changes?cursor=not-a-cursor');
    expect(r3.statusCode).toBe(400);
    expect(r3.json().code).toBe('invalid_cursor');
  });

  it('collections: create, list, rename, delete with tombstones for their items', async () => {
    const created = await inject('POST', '/v1/collections', { type: 'contacts', name: 'Work', color: '#336699' });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect((await inject('POST', '/v1/collections', { id, type: 'contacts', name: 'again' })).statusCode).toBe(409);
    const renamed = await inject('PATCH', `/v1/collections/${id}`, { name: 'Work contacts' });
    expect(renamed.json()).toMatchObject({ name: 'Work contacts', color: '#336699' });
    await inject('POST', '/v1/push', {
      changes: [put(id, 'w1', vcard('w1', 'Colleague')), put(id, 'w2', vcard('w2', 'Boss'))],
    });
    const listed = (await inject('GET', `/v1/collections/${id}/items`)).json();
    expect(listed.items.map((i: { id: string }) => i.id)).toEqual(['w1', 'w2']);

    const before = (await inject('GET', '/v1/me')).json().head;
    expect((await inject('DELETE', `/v1/collections/${id}`)).statusCode).toBe(200);
    expect((await inject('GET', `/v1/collections/${id}`)).statusCode).toBe(404);
    const feed = (
      await inject(
        'GET',
        `/v1/changes?cursor=${encodeCursor({ generation: (await inject('GET', '/v1/me')).json().generation, seq: before })}`,
      )
    ).json();
    expect(
      feed.changes.map((c: { entity: string; op: string; itemId: string | null }) => [c.entity, c.op, c.itemId]),
    ).toEqual([
      ['item', 'delete', 'w1'],
      ['item', 'delete', 'w2'],
      ['collection', 'delete', null],
    ]);
    const all = (await inject('GET', '/v1/collections?includeDeleted=true')).json().collections;
    expect(all.find((c: { id: string }) => c.id === id)).toMatchObject({ deleted: true });
  });

  it('stores photos as blobs with metadata read from the image', async () => {
    const c = await collection('photos');
    const png = tinyPng();
    const { sha256: sha, response: upload } = await uploadBlob(server, alice, png, { contentType: 'image/png' });
    expect(upload.statusCode).toBe(201);
    const change = {
      clientChangeId: randomUUID(),
      collectionId: c,
      itemId: 'ph1',
      op: 'put',
      baseRevision: null,
      content: { filename: 'dot.png' },
      blob: { sha256: sha, contentType: 'image/png' },
    };
    const result = (await inject('POST', '/v1/push', { changes: [change] })).json().results[0];
    expect(result.status).toBe('applied');
    const item = (await inject('GET', '/v1/items/ph1')).json();
    expect(item.blob).toEqual({ sha256: sha, contentType: 'image/png' });
    expect(item.meta).toMatchObject({ width: 3, height: 2, size: png.length });
    const download = await inject('GET', `/v1/blobs/${sha}`);
    expect(download.statusCode).toBe(200);
    expect(Buffer.compare(download.rawPayload, png)).toBe(0);
  });

  it('rejects a blob whose bytes do not match its name and keeps nothing', async () => {
    const body = Buffer.from('these are not the bytes you named');
    const wrong = createHash('sha256').update('something else').digest('hex');
    const { response } = await uploadBlob(server, alice, body, { sha256: wrong });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('hash_mismatch');
    expect((await inject('GET', `/v1/blobs/${wrong}`)).statusCode).toBe(404);
    expect(await server.ctx.blobs.stat(wrong)).toBeNull();
  });

  /** Opens /v1/events over real HTTP (SSE needs a live socket); the server listens once for the whole file. */
  let address: Promise<string> | undefined;
  async function openEvents() {
    address ??= server.app.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    const response = await fetch(`${await address}/v1/events`, { headers: alice.auth, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const stream = {
      text: '',
      contentType: response.headers.get('content-type'),
      close: () => controller.abort(),
      readUntil: async (needle: string) => {
        while (!stream.text.includes(needle)) {
          const { value, done } = await reader.read();
          if (done) break;
          stream.text += decoder.decode(value);
        }
      },
    };
    return stream;
  }

  it('streams live change events after a push', async () => {
    const events = await openEvents();
    expect(events.contentType).toContain('text/event-stream');
    await events.readUntil('event: ready');
    const c = await collection('notes', 'live');
    const result = (await inject('POST', '/v1/push', { changes: [put(c, 'live1', { title: 'hi', body: '' })] })).json()
      .results[0];
    await events.readUntil(`"head":${result.revision}`);
    expect(events.text).toContain(`event: change\ndata: {"head":${result.revision}}`);
    events.close();
  });

  it('delivers heads in order, ending with the newest, when commits come faster than deliveries', async () => {
    const events = await openEvents();
    await events.readUntil('event: ready');
    const c = await collection('notes', 'burst');
    const pushes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        inject('POST', '/v1/push', { changes: [put(c, `burst${i}`, { title: `${i}`, body: '' })] }),
      ),
    );
    const newest = Math.max(...pushes.map((r) => r.json().results[0].revision as number));
    await events.readUntil(`"head":${newest}}`);
    events.close();
    const heads = [...events.text.matchAll(/event: change\ndata: \{"head":(\d+)\}/g)].map((m) => Number(m[1]));
    expect(heads.at(-1)).toBe(newest);
    // Strictly increasing: no head is repeated or arrives after a newer one.
    expect(heads.every((head, i) => i === 0 || head > (heads[i - 1] as number))).toBe(true);
  });

  it('takes a message with an attachment only once its blob is uploaded', async () => {
    const messages = await collection('messages', 'attachments');
    const bytes = Buffer.from(`a picture no one has uploaded: ${randomUUID()}`);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const message = {
      thread: 'mum',
      sender: '+15550100',
      recipients: ['+15550199'],
      body: 'A picture',
      sentAt: '2026-11-01T10:00:00Z',
      attachments: [{ sha256, contentType: 'image/png', filename: 'a.png' }],
    };
    const early = await inject('POST', '/v1/push', { changes: [put(messages, 'attached-1', message)] });
    expect(early.statusCode).toBe(200);
    expect(early.json().results[0]).toMatchObject({
      status: 'rejected',
      code: 'not_found',
      message: `Attachment blobs not uploaded: ${sha256}.`,
    });
    const { response: upload } = await uploadBlob(server, alice, bytes);
    expect(upload.statusCode).toBeLessThan(300);
    const later = await inject('POST', '/v1/push', { changes: [put(messages, 'attached-1', message)] });
    expect(later.statusCode).toBe(200);
    expect(later.json().results[0]).toMatchObject({ status: 'applied' });
  });
});
