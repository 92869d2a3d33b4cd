import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCursor, encodeCursor } from '@holdfast/protocol';
import { tinyPng } from '@holdfast/test-support/fixtures';
import { vcard } from '@holdfast/test-support/harness';
import { expectSettled, itemOf, liveContents, serverContents } from '@holdfast/test-support/inspect';
import {
  type Account,
  createAccount,
  device,
  engines,
  type LiveServer,
  startLiveServer,
} from '@holdfast/test-support/live-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReseedEvent } from '../client-events.js';
import { openSqliteStore } from '../replica/sqlite-store.js';

describe.each(engines)('re-seeding a server that lost data, on %s', (engine) => {
  let live: LiveServer;
  let account: Account;
  beforeEach(async () => {
    live = await startLiveServer(engine);
    account = await createAccount(live);
  });
  afterEach(async () => live?.close());

  /** Stops the server, copies its database (the backup) and serves again. */
  async function takeBackup(): Promise<string> {
    await live.stop();
    const copy = await live.copyDatabase();
    await live.start();
    return copy;
  }

  it('notices a restored backup by its new generation and refills it, snapshot first', async () => {
    const a = await device(live, account, { name: 'a' });
    const b = await device(live, account, { backend: 'memory' });
    const book = a.createCollection({ type: 'contacts', name: 'Book' });
    const photos = a.createCollection({ type: 'photos', name: 'Photos' });
    for (let i = 0; i < 5; i++) a.createItem(book.id, vcard(`c${i}`, `Person ${i}`), { id: `c${i}` });
    a.createItem(photos.id, { caption: 'old' }, { id: 'p1', blob: await a.addBlob(tinyPng(3, 3), 'image/png') });
    await a.sync();
    await b.sync();
    const backup = await takeBackup();

    // Everything from here on is lost when the backup is restored.
    const trips = a.createCollection({ type: 'notes', name: 'Trips' });
    for (let i = 0; i < 3; i++) a.createItem(trips.id, { title: `trip ${i}`, body: 'lost range' }, { id: `t${i}` });
    for (let i = 5; i < 9; i++) a.createItem(book.id, vcard(`c${i}`, `Person ${i}`), { id: `c${i}` });
    a.updateItem('c0', vcard('c0', 'Person Zero', '+1 555 0000'));
    const newPhoto = await a.addBlob(tinyPng(5, 4), 'image/png');
    a.createItem(photos.id, { caption: 'new' }, { id: 'p2', blob: newPhoto });
    await a.sync();
    await b.sync();
    // And one edit not yet sent when the server goes back in time.
    a.updateItem('c2', vcard('c2', 'Person Two', '+1 555 0002'));
    const before = liveContents(a);

    await live.stop();
    await live.start({ databaseUrl: backup });

    const phases: ReseedEvent['phase'][] = [];
    let snapshotPath = '';
    a.on('reseed', (event) => {
      phases.push(event.phase);
      if (event.phase === 'snapshot') snapshotPath = event.path;
    });
    const result = await a.sync();
    expect(result.reseeded).toMatchObject({
      reason: 'generation_changed',
      collectionsRecreated: 1,
      itemsUploaded: 3 + 4 + 1 + 1 + 1,
      blobsUploaded: 1,
      itemsRejected: 0,
    });
    expect(result.summary).toBe('match');
    expect(phases).toEqual(['started', 'snapshot', 'inventory', 'blobs', 'upload', 'complete']);
    expectSettled(a);
    // Nothing the device held is lost. (The server merges a re-seeded contact into its older copy
    // without a base, as a union of sets: a number the device had replaced comes back beside the new one.)
    const after = liveContents(a);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [id, content] of before) {
      if (id === 'c0' || id === 'c2') continue;
      expect(after.get(id), id).toEqual(content);
    }
    expect(itemOf(a, 'c0').content).toContain('FN:Person Zero');
    expect(itemOf(a, 'c0').content).toContain('+1 555 0000');
    expect(itemOf(a, 'c2').content).toContain('FN:Person Two');
    expect(itemOf(a, 'c2').content).toContain('+1 555 0002');

    // The recovery copy was written first and is a complete replica.
    expect(snapshotPath.startsWith(join(live.dir, 'a-recovery'))).toBe(true);
    const copy = openSqliteStore(snapshotPath, { blobDirectory: join(live.dir, 'copy-blobs') });
    expect(copy.transaction((tx) => tx.countItems())).toBe(before.size);
    expect(copy.transaction((tx) => tx.getItem('c2'))?.content).toBe(vcard('c2', 'Person Two', '+1 555 0002'));
    copy.close();

    // The other device notices too, re-uploads nothing it holds in an older form, and converges.
    const other = await b.sync();
    expect(other.reseeded).toMatchObject({ reason: 'generation_changed', itemsUploaded: 0 });
    expect(liveContents(b)).toEqual(after);
    expect(await serverContents(live, account)).toEqual(after);
    expect(Buffer.from((await b.readBlob(newPhoto.sha256)) ?? [])).toEqual(tinyPng(5, 4));

    const ledger = await fetch(`${live.url}/v1/ledger`, {
      headers: { authorization: `Bearer ${a.store.transaction((tx) => tx.getState().token)}` },
    }).then((r) => r.json() as Promise<{ entries: { kind: string }[] }>);
    expect(ledger.entries.filter((e) => e.kind === 'reseed')).toHaveLength(2);
  });

  it('refills a server whose database was replaced by an empty one, once the user logs in again', async () => {
    const a = await device(live, account, { name: 'survivor' });
    const book = a.createCollection({ type: 'contacts', name: 'Book' });
    const photos = a.createCollection({ type: 'photos', name: 'Photos' });
    for (let i = 0; i < 20; i++) a.createItem(book.id, vcard(`e${i}`, `Everyone ${i}`), { id: `e${i}` });
    const png = tinyPng(6, 6);
    a.createItem(photos.id, { caption: 'kept' }, { id: 'photo', blob: await a.addBlob(png, 'image/png') });
    await a.sync();
    const before = liveContents(a);

    // A new, empty database and data directory; the operator recreates the account.
    await live.stop();
    await live.start({ databaseUrl: await live.freshDatabase(), dataDir: join(live.dir, 'reinstalled') });
    await createAccount(live, account);
    const unauthorized: unknown[] = [];
    a.on('unauthorized', (event) => unauthorized.push(event));
    await expect(a.sync()).rejects.toMatchObject({ code: 'unauthorized' });
    expect(unauthorized).toHaveLength(1);
    expect(liveContents(a)).toEqual(before);

    await a.login(account.username, account.password, 'survivor');
    const result = await a.sync();
    expect(result.reseeded).toMatchObject({
      reason: 'generation_changed',
      collectionsRecreated: 2,
      itemsUploaded: 21,
      blobsUploaded: 1,
    });
    expect(result.summary).toBe('match');
    expect(liveContents(a)).toEqual(before);
    expect(await serverContents(live, account)).toEqual(before);
  });

  it('refills a server whose copy is behind the cursor (cursor ahead), deleting nothing that is merely absent', async () => {
    const a = await device(live, account);
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    a.createItem(notes.id, { title: 'kept', body: '' }, { id: 'kept' });
    await a.sync();
    const backup = await takeBackup();
    for (let i = 0; i < 4; i++) a.createItem(notes.id, { title: `later ${i}`, body: '' }, { id: `later${i}` });
    await a.sync();
    const before = liveContents(a);

    // Same generation, older head: a copy restored without the server noticing.
    await live.stop();
    await live.start({ databaseUrl: backup, dataDir: join(live.dir, 'fresh-data') });
    const result = await a.sync();
    expect(result.reseeded).toMatchObject({ reason: 'cursor_ahead', itemsUploaded: 4, collectionsRecreated: 0 });
    expect(liveContents(a)).toEqual(before);
    expect(await serverContents(live, account)).toEqual(before);
  });

  it('refills a server rolled back and written again past the cursor (cursor diverged)', async () => {
    const a = await device(live, account, { name: 'a' });
    const b = await device(live, account, { backend: 'memory' });
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    a.createItem(notes.id, { title: 'kept', body: '' }, { id: 'kept' });
    await a.sync();
    await b.sync();
    const backup = await takeBackup();
    for (let i = 0; i < 3; i++) a.createItem(notes.id, { title: `lost ${i}`, body: '' }, { id: `lost${i}` });
    await a.sync();
    const before = liveContents(a);

    // The same generation at an older head, with no mark beside it to give the rollback away; another device
    // then writes past the number a's cursor names, so neither the generation nor the head does either.
    await live.stop();
    await live.start({ databaseUrl: backup, dataDir: join(live.dir, 'rolled-back') });
    for (let i = 0; i < 5; i++) b.createItem(notes.id, { title: `other ${i}`, body: '' }, { id: `other${i}` });
    await b.sync();

    const result = await a.sync();
    expect(result.reseeded).toMatchObject({ reason: 'cursor_diverged', itemsUploaded: 3, collectionsRecreated: 0 });
    const after = liveContents(a);
    for (const [id, content] of before) expect(after.get(id)).toEqual(content);
    const server = await serverContents(live, account);
    for (let i = 0; i < 3; i++) expect(server.get(`lost${i}`)).toEqual(before.get(`lost${i}`));
    for (let i = 0; i < 5; i++) expect(server.get(`other${i}`)).toEqual({ title: `other ${i}`, body: '' });
  });

  it('catches a silent loss by comparing summaries when neither generation nor cursor gives it away', async () => {
    const a = await device(live, account);
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    for (let i = 0; i < 3; i++) a.createItem(notes.id, { title: `base ${i}`, body: '' }, { id: `base${i}` });
    await a.sync();
    const backup = await takeBackup();
    for (let i = 0; i < 5; i++) a.createItem(notes.id, { title: `lost ${i}`, body: '' }, { id: `lost${i}` });
    await a.sync();
    // A cursor from before the log was chained carries no chain value, so the cursor check cannot see the rewrite.
    a.store.transaction((tx) => {
      const { generation, seq } = decodeCursor(tx.getState().cursor as string);
      tx.setState({ cursor: encodeCursor({ generation, seq }) });
    });

    await live.stop();
    await live.start({ databaseUrl: backup, dataDir: join(live.dir, 'fresh-data') });
    // Another device writes enough on the restored copy that the head passes a's cursor again.
    const c = await device(live, account, { backend: 'memory' });
    await c.sync();
    for (let i = 0; i < 12; i++) c.createItem(notes.id, { title: `new ${i}`, body: '' }, { id: `new${i}` });
    await c.sync();

    const result = await a.sync();
    expect(result.reseeded).toMatchObject({ reason: 'summary_mismatch', itemsUploaded: 5 });
    expect(result.summary).toBe('match');
    // Every note c wrote arrived, including those numbered below a's old cursor.
    for (let i = 0; i < 12; i++) expect(itemOf(a, `new${i}`).content).toEqual({ title: `new ${i}`, body: '' });
    for (let i = 0; i < 5; i++) expect(itemOf(a, `lost${i}`).deleted).toBe(false);
    await c.sync();
    expect(liveContents(c)).toEqual(liveContents(a));
  });

  it('resumes an interrupted re-seed, reusing its recovery copy', async () => {
    const a = await device(live, account, { name: 'resume' });
    const notes = a.createCollection({ type: 'notes', name: 'Notes' });
    a.createItem(notes.id, { title: 'one', body: '' }, { id: 'one' });
    await a.sync();
    const backup = await takeBackup();
    a.createItem(notes.id, { title: 'two', body: '' }, { id: 'two' });
    await a.sync();
    await live.stop();
    await live.start({ databaseUrl: backup });

    const stop = new AbortController();
    const snapshots: string[] = [];
    a.on('reseed', (event) => {
      if (event.phase === 'snapshot') snapshots.push(event.path);
      if (event.phase === 'inventory') stop.abort();
    });
    await expect(a.sync({ signal: stop.signal })).rejects.toMatchObject({ code: 'aborted' });
    expect(a.status().reseeding).toBe(true);

    const result = await a.sync();
    expect(result.reseeded).toMatchObject({ reason: 'generation_changed', itemsUploaded: 1 });
    expect(snapshots).toHaveLength(2);
    expect(snapshots[1]).toBe(snapshots[0]);
    expect(existsSync(snapshots[0] as string)).toBe(true);
    expect(a.status().reseeding).toBe(false);
    expect(await serverContents(live, account)).toEqual(liveContents(a));
  });
});
