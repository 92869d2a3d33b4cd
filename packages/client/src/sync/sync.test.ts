import { tinyPng } from '@holdfast/test-support/fixtures';
import { vcard, vevent, vtodo } from '@holdfast/test-support/harness';
import { expectSettled, history, itemOf, liveContents, serverContents } from '@holdfast/test-support/inspect';
import { createAccount, device, engines, type LiveServer, startLiveServer } from '@holdfast/test-support/live-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldfastClient } from '../client.js';
import type { MassChangeEvent } from '../client-events.js';

describe.each(engines)('sync against a real server on %s', (engine) => {
  let live: LiveServer;
  beforeAll(async () => {
    live = await startLiveServer(engine);
  });
  afterAll(async () => live?.close());

  it('sends offline edits of every kind once back online, and other devices get them exactly', async () => {
    const account = await createAccount(live);
    const phone = await device(live, account);
    const tablet = await device(live, account, { backend: 'memory' });
    phone.setOnline(false);
    const contacts = phone.createCollection({ type: 'contacts', name: 'Contacts' });
    const calendar = phone.createCollection({ type: 'calendar', name: 'Calendar', color: '#336699' });
    const tasks = phone.createCollection({ type: 'tasks', name: 'Tasks' });
    const notes = phone.createCollection({ type: 'notes', name: 'Notes' });
    const messages = phone.createCollection({ type: 'messages', name: 'SMS' });
    const photos = phone.createCollection({ type: 'photos', name: 'Camera roll' });
    const png = tinyPng(4, 3);
    const blob = await phone.addBlob(png, 'image/png');
    phone.createItem(contacts.id, vcard('ada', 'Ada Lovelace'), { id: 'ada' });
    phone.createItem(calendar.id, vevent('ev1', 'Standup'), { id: 'ev1' });
    phone.createItem(tasks.id, vtodo('t1', 'Pay rent'), { id: 't1' });
    phone.createItem(notes.id, { title: 'Groceries', body: '- milk' }, { id: 'n1' });
    phone.createItem(
      messages.id,
      {
        thread: 'mum',
        sender: '+15550100',
        recipients: ['+15550199'],
        body: 'pic',
        sentAt: '2026-01-01T10:00:00Z',
        attachments: [{ sha256: blob.sha256, contentType: 'image/png' }],
      },
      { id: 'm1' },
    );
    phone.createItem(photos.id, { caption: 'sunset' }, { id: 'p1', blob });
    phone.updateItem('n1', { title: 'Groceries', body: '- milk\n- eggs' });
    await expect(phone.sync()).rejects.toMatchObject({ code: 'offline' });
    expect(phone.status().pendingChanges).toBe(12);

    phone.setOnline(true);
    const result = await phone.sync();
    expect(result).toMatchObject({ pushed: 12, conflicts: 0, rejected: 0, reseeded: null, summary: 'match' });
    expectSettled(phone);
    expect(itemOf(phone, 'n1')).toMatchObject({
      dirty: false,
      content: { title: 'Groceries', body: '- milk\n- eggs' },
    });

    const pulled = await tablet.sync();
    expect(pulled.summary).toBe('match');
    expect(liveContents(tablet)).toEqual(liveContents(phone));
    expect(tablet.getCollection(calendar.id)).toMatchObject({ name: 'Calendar', color: '#336699', type: 'calendar' });
    expect(itemOf(tablet, 'p1').blob).toEqual(blob);
    expect(Buffer.from((await tablet.readBlob(blob.sha256)) ?? [])).toEqual(png);
    expect(itemOf(tablet, 'ev1').content).toBe(vevent('ev1', 'Standup'));
    // One revision per item: coalesced offline edits travel as one change.
    expect(await history(live, phone, 'n1')).toHaveLength(1);
  });

  it('applies a push whose answer was lost exactly once when it is sent again', async () => {
    const account = await createAccount(live);
    let dropNextPushAnswer = true;
    const pushedGenerations: unknown[] = [];
    const lossy: typeof fetch = async (input, init) => {
      if (String(input).endsWith('/v1/push')) pushedGenerations.push(JSON.parse(String(init?.body)).generation);
      const response = await fetch(input, init);
      if (String(input).endsWith('/v1/push') && dropNextPushAnswer) {
        dropNextPushAnswer = false;
        await response.arrayBuffer();
        throw new TypeError('connection reset after the server answered');
      }
      return response;
    };
    const phone = await device(live, account, { fetch: lossy, retry: { attempts: 1 } });
    const book = phone.createCollection({ type: 'contacts', name: 'Book' });
    for (let i = 0; i < 5; i++) phone.createItem(book.id, vcard(`c${i}`, `Person ${i}`), { id: `c${i}` });
    await expect(phone.sync()).rejects.toMatchObject({ code: 'network' });
    expect(phone.status().pendingChanges).toBe(5);
    const result = await phone.sync();
    expect(result).toMatchObject({ conflicts: 0, rejected: 0, summary: 'match' });
    expectSettled(phone);
    for (let i = 0; i < 5; i++) expect(await history(live, phone, `c${i}`)).toHaveLength(1);
    expect(phone.conflicts()).toEqual([]);
    // Every push names the lineage its base revisions belong to.
    expect(pushedGenerations.length).toBeGreaterThanOrEqual(2);
    expect(new Set(pushedGenerations)).toEqual(new Set([phone.status().generation]));
  });

  it('never lets a pull overwrite an edit made while the sync was running', async () => {
    const account = await createAccount(live);
    let editDuringPull: (() => void) | null = null;
    const slowFeed: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (String(input).includes('/v1/changes') && editDuringPull) {
        editDuringPull();
        editDuringPull = null;
      }
      return response;
    };
    const a = await device(live, account, { fetch: slowFeed });
    const b = await device(live, account, { backend: 'memory' });
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    a.createItem(notes.id, { title: 'shared', body: 'v1' }, { id: 's1' });
    await a.sync();
    await b.sync();
    b.updateItem('s1', { title: 'shared', body: 'remote edit' });
    await b.sync();

    editDuringPull = () => a.updateItem('s1', { title: 'shared', body: 'local edit during pull' });
    await a.sync();
    expect(itemOf(a, 's1')).toMatchObject({ dirty: true, content: { body: 'local edit during pull' } });
    // The next sync merges the two: the later write wins and the other is kept.
    const merged = await a.sync();
    expect(merged.conflicts).toBe(1);
    expect(itemOf(a, 's1')).toMatchObject({ dirty: false, content: { body: 'local edit during pull' } });
    expect(a.conflicts('s1')).toEqual([
      expect.objectContaining({
        kind: 'last_writer_wins',
        winner: 'local',
        losingContent: { title: 'shared', body: 'remote edit' },
      }),
    ]);
    await b.sync();
    expect(liveContents(b)).toEqual(liveContents(a));
  });

  it('deletes a local item only on a tombstone from the feed', async () => {
    const account = await createAccount(live);
    const a = await device(live, account);
    const b = await device(live, account, { backend: 'memory' });
    const book = a.createCollection({ type: 'contacts', name: 'Book' });
    for (const id of ['x', 'y', 'z']) a.createItem(book.id, vcard(id, id.toUpperCase()), { id });
    await a.sync();
    await b.sync();
    b.deleteItem('y');
    await b.sync();
    const result = await a.sync();
    expect(result.massChange).toBeNull();
    expect(itemOf(a, 'y')).toMatchObject({ deleted: true, dirty: false, content: vcard('y', 'Y') });
    expect(a.listItems(book.id).map((i) => i.id)).toEqual(['x', 'z']);
    // A later pull that simply does not mention x and z leaves them alone.
    expect((await a.sync()).pulled).toBe(0);
    expect(a.listItems(book.id).map((i) => i.id)).toEqual(['x', 'z']);
  });

  it('stops a pull that would delete or blank too much, applies nothing, and applies it once confirmed', async () => {
    const account = await createAccount(live);
    const a = await device(live, account);
    const b = await device(live, account, { backend: 'memory' });
    const book = a.createCollection({ type: 'contacts', name: 'Book' });
    for (let i = 0; i < 70; i++)
      a.createItem(book.id, vcard(`p${i}`, `Person ${i}`, `+1 555 01${String(i).padStart(2, '0')}`), { id: `p${i}` });
    await a.sync();
    await b.sync();
    for (let i = 0; i < 45; i++) b.deleteItem(`p${i}`);
    const blank = (id: string) => `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${id}\r\nFN:Person\r\nEND:VCARD\r\n`;
    for (let i = 45; i < 55; i++) b.updateItem(`p${i}`, blank(`p${i}`));
    await b.sync();

    const cursorBefore = a.store.transaction((tx) => tx.getState().cursor);
    const events: MassChangeEvent[] = [];
    a.on('massChange', (event) => events.push(event));
    const stopped = await a.sync();
    expect(stopped.massChange).toMatchObject({ deletes: 45, blanks: 10, liveItems: 70, limit: 50 });
    expect(stopped.pulled).toBe(0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ deletes: 45, blanks: 10, limit: 50 });
    expect(a.listItems(book.id)).toHaveLength(70);
    expect(itemOf(a, 'p50').content).toBe(vcard('p50', 'Person 50', '+1 555 0150'));
    expect(a.store.transaction((tx) => tx.getState().cursor)).toBe(cursorBefore);
    expect(a.status().pendingMassChange).toMatchObject({ deletes: 45, blanks: 10 });

    // Asking again does not wear the guard down.
    expect((await a.sync()).massChange).toMatchObject({ deletes: 45 });
    expect(a.listItems(book.id)).toHaveLength(70);

    const confirmed = await (events[0] as MassChangeEvent).confirm();
    expect(confirmed).toMatchObject({ massChange: null, summary: 'match' });
    expect(a.listItems(book.id)).toHaveLength(25);
    expect(itemOf(a, 'p50').content).toBe(blank('p50'));
    expect(a.status().pendingMassChange).toBeNull();
  });

  it('applies deletions under the limit without asking', async () => {
    const account = await createAccount(live);
    const a = await device(live, account, { massChange: { minItems: 3, ratio: 0 } });
    const b = await device(live, account, { backend: 'memory' });
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    for (let i = 0; i < 7; i++) a.createItem(notes.id, { title: `n${i}`, body: 'x' }, { id: `n${i}` });
    await a.sync();
    await b.sync();
    for (let i = 0; i < 3; i++) b.deleteItem(`n${i}`);
    await b.sync();
    expect((await a.sync()).massChange).toBeNull();
    expect(a.listItems(notes.id)).toHaveLength(4);
    for (let i = 3; i < 7; i++) b.deleteItem(`n${i}`);
    b.createItem(notes.id, { title: 'new', body: '' }, { id: 'n9' });
    await b.sync();
    // Four would be too many for a limit of three: the whole chunk waits, the new note included.
    const stopped = await a.sync();
    expect(stopped.massChange).toMatchObject({ deletes: 4, limit: 3 });
    expect(a.listItems(notes.id)).toHaveLength(4);
    expect(a.getItem('n9')).toBeNull();
    await expect(a.sync({ confirmMassChange: true })).resolves.toMatchObject({ massChange: null });
    expect(a.listItems(notes.id).map((i) => i.id)).toEqual(['n9']);
  });

  it('lets an edit beat a concurrent delete, in both directions, and records it', async () => {
    const account = await createAccount(live);
    const a = await device(live, account);
    const b = await device(live, account, { backend: 'memory' });
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    a.createItem(notes.id, { title: 'keep me', body: 'v1' }, { id: 'k1' });
    a.createItem(notes.id, { title: 'edit me', body: 'v1' }, { id: 'k2' });
    await a.sync();
    await b.sync();

    a.updateItem('k1', { title: 'keep me', body: 'edited offline' });
    b.deleteItem('k1');
    a.deleteItem('k2');
    b.updateItem('k2', { title: 'edit me', body: 'edited elsewhere' });
    await b.sync();
    const result = await a.sync();
    expect(result.conflicts).toBe(2);
    expect(itemOf(a, 'k1')).toMatchObject({ deleted: false, dirty: false, content: { body: 'edited offline' } });
    expect(itemOf(a, 'k2')).toMatchObject({ deleted: false, dirty: false, content: { body: 'edited elsewhere' } });
    expect(
      a
        .conflicts()
        .map((c) => [c.itemId, c.kind, c.winner])
        .sort(),
    ).toEqual([
      ['k1', 'edit_over_delete', 'local'],
      ['k2', 'edit_over_delete', 'remote'],
    ]);
    await b.sync();
    expect(liveContents(b)).toEqual(liveContents(a));
    expect(await serverContents(live, account)).toEqual(liveContents(a));
  });

  it('restores a fresh device with blobs and progress, and resumes an interrupted restore', async () => {
    const account = await createAccount(live);
    const source = await device(live, account);
    const photos = source.createCollection({ type: 'photos', name: 'Photos' });
    const book = source.createCollection({ type: 'contacts', name: 'Book' });
    const shas: string[] = [];
    for (let i = 0; i < 12; i++) {
      const blob = await source.addBlob(tinyPng(2 + i, 2), 'image/png');
      shas.push(blob.sha256);
      source.createItem(photos.id, { caption: `photo ${i}` }, { id: `photo${i}`, blob });
    }
    for (let i = 0; i < 40; i++) source.createItem(book.id, vcard(`r${i}`, `Restore ${i}`), { id: `r${i}` });
    await source.sync();

    // The blobs each download asked for: one per `GET /v1/blobs/{sha}`, several per `GET /v1/blobs?sha256=…`.
    const blobGets: string[][] = [];
    const counting: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      if (url.pathname.startsWith('/v1/blobs') && (init?.method ?? 'GET') === 'GET') {
        const list = url.searchParams.get('sha256');
        blobGets.push(list ? list.split(',') : [url.pathname.split('/').pop() ?? '']);
      }
      return fetch(input, init);
    };
    const fresh = await device(live, account, {
      fetch: counting,
      pullPageSize: 10,
      pullChunkRevisions: 10,
      blobConcurrency: 1,
    });
    const progress: { items: number; itemsTotal: number | null; bytes: number; blobs: number }[] = [];
    fresh.on('progress', (p) => progress.push(p));
    const stop = new AbortController();
    const offFirst = fresh.on('progress', (p) => {
      if (p.phase === 'blobs' && p.blobs >= 3) stop.abort();
    });
    await expect(fresh.restore({ signal: stop.signal })).rejects.toMatchObject({ code: 'aborted' });
    offFirst();
    const storedBeforeResume: string[] = [];
    for (const sha of shas) if (await fresh.readBlob(sha)) storedBeforeResume.push(sha);
    expect(storedBeforeResume.length).toBeGreaterThanOrEqual(3);
    expect(storedBeforeResume.length).toBeLessThan(12);
    const requestsBeforeResume = blobGets.length;

    const result = await fresh.restore();
    expect(result.summary).toBe('match');
    // The interrupted restore's blobs were kept: the rest were asked for once each, and those never again.
    const askedAfterResume = blobGets.slice(requestsBeforeResume).flat();
    expect(new Set(askedAfterResume).size).toBe(askedAfterResume.length);
    expect(askedAfterResume.filter((sha) => storedBeforeResume.includes(sha))).toEqual([]);
    expect([...askedAfterResume, ...storedBeforeResume].sort()).toEqual([...shas].sort());
    expect(liveContents(fresh)).toEqual(liveContents(source));
    for (const sha of shas) expect(await fresh.readBlob(sha)).not.toBeNull();
    const last = progress[progress.length - 1];
    expect(last).toMatchObject({ items: 52, itemsTotal: 52 });
    expect(progress.every((p) => p.itemsTotal === 52)).toBe(true);
    expect(progress.some((p) => p.bytes > 0 && p.blobs > 0)).toBe(true);
  });

  it('downloads blobs in batches, and one by one from a server without the batch route', async () => {
    const account = await createAccount(live);
    const source = await device(live, account);
    const photos = source.createCollection({ type: 'photos', name: 'Photos' });
    const shas: string[] = [];
    for (let i = 0; i < 9; i++) {
      const blob = await source.addBlob(tinyPng(3 + i, 5), 'image/png');
      shas.push(blob.sha256);
      source.createItem(photos.id, { caption: `photo ${i}` }, { id: `batch${i}`, blob });
    }
    await source.sync();

    for (const batchRoute of [true, false]) {
      const asked: string[] = [];
      const serverLike: typeof fetch = async (input, init) => {
        const url = new URL(String(input));
        if (url.pathname === '/v1/blobs') {
          asked.push(url.search);
          if (!batchRoute) {
            // What a server from before the batch route answers.
            return new Response(JSON.stringify({ code: 'not_found', status: 404, detail: 'No route GET /v1/blobs.' }), {
              status: 404,
              headers: { 'content-type': 'application/problem+json' },
            });
          }
        } else if (url.pathname.startsWith('/v1/blobs/')) asked.push(url.pathname);
        return fetch(input, init);
      };
      const fresh = await device(live, account, { fetch: serverLike, blobConcurrency: 2 });
      const missing: string[] = [];
      fresh.on('blobMissing', ({ sha256 }) => missing.push(sha256));
      expect((await fresh.restore()).summary).toBe('match');
      for (const sha of shas)
        expect(Buffer.from((await fresh.readBlob(sha)) ?? [])).toEqual(Buffer.from((await source.readBlob(sha)) ?? []));
      expect(missing).toEqual([]);
      if (batchRoute) {
        // Two connections, so two batches of at most five, and no single downloads.
        expect(asked).toHaveLength(2);
        expect(asked.every((query) => query.startsWith('?sha256='))).toBe(true);
      } else {
        // A refused batch on each connection at most, then each blob on its own.
        expect(asked.filter((path) => path.startsWith('/v1/blobs/'))).toHaveLength(9);
        expect(asked.filter((path) => path.startsWith('?')).length).toBeLessThanOrEqual(2);
      }
    }
  });

  it('gets a batch of blobs in one response, leaving out those the user may not read', async () => {
    const alice = await device(live, await createAccount(live));
    const bob = await device(live, await createAccount(live));
    const mine = await alice.addBlob(tinyPng(7, 7), 'image/png');
    const theirs = await bob.addBlob(tinyPng(8, 8), 'image/png');
    for (const [client, blob] of [
      [alice, mine],
      [bob, theirs],
    ] as const) {
      const photos = client.createCollection({ type: 'photos', name: 'Photos' });
      client.createItem(photos.id, { caption: 'x' }, { blob });
      await client.sync();
    }
    const token = alice.store.transaction((tx) => tx.getState().token);
    const get = (query: string) =>
      fetch(`${live.url}/v1/blobs${query}`, { headers: { authorization: `Bearer ${token}` } });

    const response = await get(`?sha256=${mine.sha256},${theirs.sha256},${mine.sha256}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/vnd\.holdfast\.blobs/);
    const body = Buffer.from(await response.arrayBuffer());
    const newline = body.indexOf(10);
    const bytes = Buffer.from((await alice.readBlob(mine.sha256)) ?? []);
    expect(JSON.parse(body.subarray(0, newline).toString())).toEqual({
      blobs: [{ sha256: mine.sha256, size: bytes.length }],
    });
    expect(body.subarray(newline + 1)).toEqual(bytes);
    expect(Number(response.headers.get('content-length'))).toBe(body.length);

    for (const query of [
      '?sha256=not-a-hash',
      `?sha256=${Array.from({ length: 101 }, () => mine.sha256).join(',')}`,
      `?sha256=${mine.sha256}&extra=1`,
      '',
    ]) {
      const refused = await get(query);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ code: 'invalid_request' });
    }
  });

  it('follows live changes from the event stream', async () => {
    const account = await createAccount(live);
    const a = await device(live, account);
    const b = await device(live, account, { backend: 'memory' });
    const notes = b.createCollection({ type: 'notes', name: 'Notes' });
    await b.sync();
    const watcher = a.watch({ backoff: { baseMs: 10, maxMs: 100 } });
    try {
      const arrived = new Promise<void>((resolve) => {
        a.on('changed', ({ items }) => items.includes('live1') && resolve());
      });
      b.createItem(notes.id, { title: 'pushed', body: 'live' }, { id: 'live1' });
      await b.sync();
      await arrived;
      expect(itemOf(a, 'live1').content).toEqual({ title: 'pushed', body: 'live' });
    } finally {
      watcher.stop();
      await watcher.done;
    }
  });

  it('reconnects the event stream after a server restart and after being offline', async () => {
    const account = await createAccount(live);
    const a = await device(live, account);
    const b = await device(live, account, { backend: 'memory' });
    const notes = b.createCollection({ type: 'notes', name: 'Notes' });
    await b.sync();
    const watcher = a.watch({ backoff: { baseMs: 20, maxMs: 200 } });
    const arrival = (id: string) =>
      new Promise<void>((resolve) => {
        const off = a.on('changed', ({ items }) => {
          if (items.includes(id)) {
            off();
            resolve();
          }
        });
      });
    try {
      await live.stop();
      await live.start();
      const first = arrival('after-restart');
      b.createItem(notes.id, { title: 'after restart', body: '' }, { id: 'after-restart' });
      await b.sync();
      await first;

      a.setOnline(false);
      b.createItem(notes.id, { title: 'while offline', body: '' }, { id: 'while-offline' });
      await b.sync();
      await new Promise((r) => setTimeout(r, 100));
      expect(a.getItem('while-offline')).toBeNull();
      const second = arrival('while-offline');
      a.setOnline(true);
      await second;
    } finally {
      watcher.stop();
      await watcher.done;
    }
  });

  it('stops on a revoked token with an unauthorized event, keeping the replica', async () => {
    const account = await createAccount(live);
    const a = await device(live, account);
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    a.createItem(notes.id, { title: 'mine', body: '' }, { id: 'u1' });
    await a.sync();
    const token = a.store.transaction((tx) => tx.getState().token);
    const other = await device(live, account, { backend: 'memory' });
    const deviceId = a.status().deviceId;
    const revoked = await fetch(`${live.url}/v1/devices/${deviceId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${other.store.transaction((tx) => tx.getState().token)}` },
    });
    expect(revoked.status).toBe(204);
    const unauthorized: unknown[] = [];
    a.on('unauthorized', (e) => unauthorized.push(e));
    a.updateItem('u1', { title: 'mine', body: 'still here' });
    await expect(a.sync()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(unauthorized).toHaveLength(1);
    expect(itemOf(a, 'u1').content).toEqual({ title: 'mine', body: 'still here' });
    expect(a.status().pendingChanges).toBe(1);
    expect(a.store.transaction((tx) => tx.getState().token)).toBe(token);
    // Logging in again picks up where it stopped.
    await a.login(account.username, account.password, 'again');
    await expect(a.sync()).resolves.toMatchObject({ pushed: 1, summary: 'match' });
  });

  it('refuses to mix two accounts in one replica', async () => {
    const first = await createAccount(live);
    const second = await createAccount(live);
    const a: HoldfastClient = await device(live, first);
    const userId = a.status().userId;
    await expect(a.login(second.username, second.password, 'x')).rejects.toMatchObject({ code: 'forbidden' });
    expect(a.status().userId).toBe(userId);
  });
});
