import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor } from '@holdfast/protocol';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { openScratchDatabase } from '@holdfast/test-support/scratch-database';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from './database.js';
import { migrateTo, migrateToLatest } from './migrate.js';
import { type ChainedFields, GENESIS_CHAIN, nextChain } from './revision-chain.js';
import { readLogHead } from './revision-log.js';

/** Recomputes the whole chain from the rows and checks every stored value and the head. */
async function expectChainIntact(db: Db): Promise<number> {
  const rows = await db.kysely.selectFrom('revisions').selectAll().orderBy('seq').execute();
  let chain = GENESIS_CHAIN;
  for (const row of rows) {
    chain = nextChain(chain, row);
    expect(row.chain, `chain at seq ${row.seq}`).toBe(chain);
  }
  expect(await readLogHead(db)).toEqual({ seq: rows.at(-1)?.seq ?? 0, chain });
  return rows.length;
}

describe('nextChain', () => {
  it('hashes the previous value and each field as the chain has always defined them', () => {
    // Known answers: a log written by any release must verify under every later one.
    const put: ChainedFields = {
      seq: 7,
      user_id: 'u1',
      entity: 'item',
      op: 'put',
      collection_id: 'c1',
      item_id: 'i1',
      device_id: null,
      origin: 'client',
      content_type: 'text/vcard',
      content: 'BEGIN:VCARD\r\nFN:Zoë 😀 \ud800x\r\nEND:VCARD\r\n',
      blob_sha256: null,
      blob_content_type: null,
      meta: '{"uid":null}',
      content_hash: 'ab'.repeat(32),
      size: 42,
      base_seq: null,
      client_change_id: 'x',
      created_at: 1765000000123,
    };
    const first = nextChain(GENESIS_CHAIN, put);
    expect(first).toBe('aeda234fd870284beff0f099cfd7deedf10d1452d1b03820a79a72cbe56c8c5a');
    const deletion: ChainedFields = {
      ...put,
      seq: 8,
      op: 'delete',
      content: null,
      content_type: null,
      meta: null,
      content_hash: null,
      size: 0,
      base_seq: 7,
      item_id: '',
    };
    expect(nextChain(first, deletion)).toBe('d0caf696519b4a177974ff90affa364da82f71d03fbe8f89d290d487c07c8408');
  });
});

describe.each(engines)('revision chain on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let collectionId: string;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `chain-${engine}`);
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { type: 'notes', name: 'n' },
    });
    collectionId = created.json().id;
  });
  afterAll(async () => server?.close());

  const push = (itemId: string, title: string) =>
    server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: alice.auth,
      payload: {
        changes: [
          {
            clientChangeId: randomUUID(),
            collectionId,
            itemId,
            op: 'put',
            baseRevision: null,
            content: { title, body: '' },
          },
        ],
      },
    });

  it('chains every revision to the one before, also when writers commit as a group', async () => {
    // Pushes in flight together share one transaction (group commit).
    const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => push(`n${i}`, `note ${i}`)));
    expect(responses.every((r) => r.statusCode === 200)).toBe(true);
    expect(await expectChainIntact(server.ctx.db)).toBeGreaterThanOrEqual(10);
  });

  it('answers a cursor whose position now holds other revisions with 409 cursor_diverged, and still accepts old cursors', async () => {
    const first = (await server.app.inject({ method: 'GET', url: '/v1/changes', headers: alice.auth })).json();
    const position = decodeCursor(first.cursor);
    expect(position.chain).toMatch(/^[0-9a-f]{16}$/);

    const forged = encodeCursor({
      ...position,
      chain: position.chain === '0'.repeat(16) ? '1'.repeat(16) : '0'.repeat(16),
    });
    const diverged = await server.app.inject({
      method: 'GET',
      url: `/v1/changes?cursor=${forged}`,
      headers: alice.auth,
    });
    expect(diverged.statusCode).toBe(409);
    expect(diverged.json()).toMatchObject({ code: 'cursor_diverged', details: { cursorSeq: position.seq } });

    const older = encodeCursor({ generation: position.generation, seq: position.seq - 2 });
    const page = await server.app.inject({ method: 'GET', url: `/v1/changes?cursor=${older}`, headers: alice.auth });
    expect(page.statusCode).toBe(200);
    expect(page.json().changes.length).toBe(2);
    expect(decodeCursor(page.json().cursor)).toEqual(position);
  });
});

describe.each(engines)('migration 0005 on %s', (engine) => {
  let db: Db;
  let dispose: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ db, dispose } = await openScratchDatabase(engine));
  });
  afterAll(async () => {
    await dispose?.();
  });

  it('backfills the chain of a log written before it and keeps the log immutable', async () => {
    await migrateTo(db, 4);
    const k = db.kysely;
    await sql`INSERT INTO users (id, username, password_hash, disabled, created_at, updated_at) VALUES ('u', 'u', 'x', 0, 0, 0)`.execute(
      k,
    );
    const count = 1203; // more than two backfill pages
    for (let seq = 1; seq <= count; seq++) {
      await sql`INSERT INTO revisions (seq, user_id, entity, op, collection_id, item_id, device_id, origin, content_type,
        content, blob_sha256, blob_content_type, meta, content_hash, size, base_seq, client_change_id, created_at)
        VALUES (${seq}, 'u', 'item', 'put', 'c', ${`i${seq % 7}`}, NULL, 'test', 'text/plain', ${`body ${seq}`}, NULL, NULL,
        NULL, NULL, ${seq}, ${seq > 1 ? seq - 1 : null}, NULL, ${1_700_000_000_000 + seq})`.execute(k);
    }
    await sql`UPDATE log_head SET last_seq = ${count} WHERE id = 1`.execute(k);

    await migrateToLatest(db);
    expect(await expectChainIntact(db)).toBe(count);
    await expect(
      k.updateTable('revisions').set({ chain: GENESIS_CHAIN }).where('seq', '=', 5).execute(),
    ).rejects.toThrow(/immutable/);
    await expect(k.deleteFrom('revisions').where('seq', '=', 5).execute()).rejects.toThrow(/immutable/);
  });
});
