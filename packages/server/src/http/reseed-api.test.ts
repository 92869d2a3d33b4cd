import { createHash, randomUUID } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EMPTY_DIGEST, xorDigest } from '@holdfast/protocol';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
} from '@holdfast/test-support/harness';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../ledger/ledger.js';
import { itemDigest } from '../sync/summary-digest.js';

describe.each(engines)('summaries, inventory and re-seed on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let contacts: string;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-reseed-${engine}`);
    contacts = (
      await server.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: alice.auth,
        payload: { id: 'book', type: 'contacts', name: 'Book' },
      })
    ).json().id;
  });
  afterAll(async () => server?.close());

  const inject = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    server.app.inject({
      method,
      url,
      headers: alice.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const push = async (changes: object[]) => (await inject('POST', '/v1/push', { changes })).json().results;
  const put = (itemId: string, content: string, extra: object = {}) => ({
    clientChangeId: randomUUID(),
    collectionId: contacts,
    itemId,
    op: 'put',
    baseRevision: null,
    content,
    ...extra,
  });

  it('keeps per-collection count and order-independent digest in step with every write', async () => {
    const [a, b] = await push([put('s1', vcard('s1', 'One')), put('s2', vcard('s2', 'Two'))]);
    await push([{ ...put('s2', vcard('s2', 'Two edited')), baseRevision: b.revision }]);
    await push([
      { clientChangeId: randomUUID(), collectionId: contacts, itemId: 's1', op: 'delete', baseRevision: a.revision },
    ]);
    const summary = (await inject('GET', '/v1/summary')).json();
    const book = summary.collections.find((c: { id: string }) => c.id === contacts);
    const s2 = (await inject('GET', '/v1/items/s2')).json();
    expect(book).toMatchObject({ count: 1, digest: xorDigest(EMPTY_DIGEST, itemDigest('s2', s2.hash)) });
    expect(summary.generation).toBe((await inject('GET', '/v1/me')).json().generation);
  });

  it('names what a device holds that the server lacks, and recreates lost collections', async () => {
    const s2 = (await inject('GET', '/v1/items/s2')).json();
    const response = await inject('POST', '/v1/reseed/inventory', {
      collections: [
        { id: contacts, type: 'contacts', name: 'Book' },
        { id: 'lost-notes', type: 'notes', name: 'Notes the server lost' },
      ],
      items: [
        { collectionId: contacts, itemId: 's2', hash: s2.hash },
        { collectionId: contacts, itemId: 's1', hash: 'whatever' },
        { collectionId: contacts, itemId: 'never-seen', hash: 'x' },
        // Tombstones: named only when the server still holds the item live.
        { collectionId: contacts, itemId: 's2', hash: '', deleted: true },
        { collectionId: contacts, itemId: 'gone-everywhere', hash: '', deleted: true },
      ],
      blobs: [createHash('sha256').update('nope').digest('hex')],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      recreatedCollections: ['lost-notes'],
      missingItems: ['never-seen'],
      differentItems: ['s1', 's2'],
      missingBlobs: [createHash('sha256').update('nope').digest('hex')],
    });
    const history = (await inject('GET', '/v1/changes?limit=1000')).json().changes;
    expect(history.at(-1)).toMatchObject({ entity: 'collection', collectionId: 'lost-notes', origin: 'reseed' });
  });

  it('re-seeded puts ignore the lost base, merge into the server copy and never duplicate', async () => {
    // The server's copy has one phone; the device's copy of the same contact another.
    const serverCard = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:m1\r\nFN:Merge Me\r\nTEL:+1 555 0001\r\nEND:VCARD\r\n';
    const deviceCard =
      'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:m1\r\nFN:Merge Me\r\nTEL:+1 555 0002\r\nEMAIL:m@example.com\r\nEND:VCARD\r\n';
    await push([put('m1', serverCard)]);
    const [seeded] = await push([put('m1', deviceCard, { reseed: true, baseRevision: 123456 })]);
    expect(seeded.status).toBe('applied');
    const merged = (await inject('GET', '/v1/items/m1')).json();
    expect(merged.content).toContain('+1 555 0001');
    expect(merged.content).toContain('+1 555 0002');
    expect(merged.content).toContain('m@example.com');
    const revisions = (await inject('GET', '/v1/items/m1/revisions')).json().revisions;
    expect(revisions.map((r: { origin: string }) => r.origin)).toEqual(['client', 'reseed']);

    // A second device re-seeding the merged state writes nothing new.
    const [again] = await push([put('m1', merged.content, { reseed: true })]);
    expect(again).toMatchObject({ status: 'applied', revision: merged.revision });
    // A re-seed of an item the server never had creates it.
    const [created] = await push([put('fresh', vcard('fresh', 'Fresh'), { reseed: true, baseRevision: 99 })]);
    expect(created.status).toBe('applied');
    // Deletes cannot re-seed.
    const [bad] = await push([
      {
        clientChangeId: randomUUID(),
        collectionId: contacts,
        itemId: 'fresh',
        op: 'delete',
        baseRevision: created.revision,
        reseed: true,
      },
    ]);
    expect(bad).toMatchObject({ status: 'rejected', code: 'invalid_request' });
  });

  it('a re-seeded copy keeps the bytes the device sent, adding only what the server copy had besides', async () => {
    const serverCard =
      'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:b1\r\nFN:Byte Keeper\r\nTEL;VALUE=uri:tel:+1-555-0100\r\nEND:VCARD\r\n';
    // The same card as a device writes it: its own property order, parameter case and line ends.
    const deviceCard =
      'BEGIN:VCARD\nVERSION:4.0\nTEL;VALUE=uri:tel:+1-555-0100\nFN:Byte Keeper\nUID:b1\nNOTE:seen on the phone\nEND:VCARD\n';
    await push([put('b1', serverCard)]);
    const [seeded] = await push([put('b1', deviceCard, { reseed: true, baseRevision: 42 })]);
    expect(seeded.status).toBe('applied');
    expect((await inject('GET', '/v1/items/b1')).json().content).toBe(deviceCard);

    // A server copy with an e-mail the device lacks: the device's text, with that one line added.
    const richer = serverCard.replace('END:VCARD', 'EMAIL;TYPE=work:byte@example.com\r\nEND:VCARD');
    await push([put('b2', richer)]);
    const deviceB2 = deviceCard.replace('UID:b1', 'UID:b2');
    await push([put('b2', deviceB2, { reseed: true })]);
    expect((await inject('GET', '/v1/items/b2')).json().content).toBe(
      deviceB2.replace('END:VCARD', 'EMAIL;TYPE=work:byte@example.com\nEND:VCARD'),
    );
  });

  it('records a completed re-seed in the user-visible, hash-chained ledger', async () => {
    const done = await inject('POST', '/v1/reseed/complete', {
      previousGeneration: 'oldLineage',
      collectionsRecreated: 1,
      itemsUploaded: 2,
      blobsUploaded: 0,
    });
    expect(done.statusCode).toBe(200);
    const ledger = (await inject('GET', '/v1/ledger')).json().entries;
    const entry = ledger.find((e: { kind: string }) => e.kind === 'reseed');
    expect(entry).toMatchObject({ userId: alice.userId, details: { itemsUploaded: 2, deviceId: alice.deviceId } });
    expect(entry.details.reseededRevisionsFromDevice).toBeGreaterThanOrEqual(2);
    const other = await addUser(server, `other-reseed-${engine}`);
    const theirs = (await server.app.inject({ method: 'GET', url: '/v1/ledger', headers: other.auth })).json().entries;
    expect(theirs.find((e: { kind: string }) => e.kind === 'reseed')).toBeUndefined();
    expect(await verifyLedger(server.ctx.db.kysely)).toMatchObject({ ok: true });
  });
});

describe('rollback detection (SQLite file replaced by an older copy)', () => {
  it('starts a new generation and records the lost range when the database comes back older', async () => {
    const first = await startTestServer('sqlite');
    const alice = await addUser(first, 'rollback-alice');
    const auth = alice.auth;
    const col = (
      await first.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: auth,
        payload: { type: 'notes', name: 'n' },
      })
    ).json().id;
    const note = (id: string) => ({
      clientChangeId: id,
      collectionId: col,
      itemId: id,
      op: 'put',
      baseRevision: null,
      content: { title: id, body: '' },
    });
    await first.app.inject({ method: 'POST', url: '/v1/push', headers: auth, payload: { changes: [note('early')] } });
    const before = (await first.app.inject({ method: 'GET', url: '/v1/me', headers: auth })).json();
    // An older copy of the database, taken consistently.
    const dbPath = join(first.dataDir, 'holdfast.db');
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(first.ctx.db.kysely);
    await copyFile(dbPath, `${dbPath}.old`);
    await first.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: auth,
      payload: { changes: [note('late1'), note('late2')] },
    });
    const dataDir = first.dataDir;
    // Stop without deleting the data dir, then swap in the old copy.
    await first.app.close();
    const { closeContext } = await import('../main.js');
    await closeContext(first.ctx);
    await rm(`${dbPath}-wal`, { force: true });
    await rm(`${dbPath}-shm`, { force: true });
    await copyFile(`${dbPath}.old`, dbPath);

    const { loadConfig } = await import('../config.js');
    const { createContext, createLogger } = await import('../main.js');
    const { buildApp } = await import('./app.js');
    const config = loadConfig({ flags: { data: dataDir, 'log-level': 'silent' }, env: {} });
    const ctx = await createContext(config, createLogger(config));
    const app = await buildApp(ctx);
    try {
      const after = (await app.inject({ method: 'GET', url: '/v1/me', headers: auth })).json();
      expect(after.generation).not.toBe(before.generation);
      const ledger = (await app.inject({ method: 'GET', url: '/v1/ledger', headers: auth })).json().entries;
      expect(ledger[0]).toMatchObject({
        kind: 'rollback_detected',
        userId: null,
        details: {
          previousGeneration: before.generation,
          generation: after.generation,
          lostFrom: before.head + 1,
          lostTo: before.head + 2,
        },
      });
    } finally {
      await app.close();
      await closeContext(ctx);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
