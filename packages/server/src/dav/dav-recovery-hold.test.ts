import { engines, startTestServer, type TestServer, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLedger } from '../ledger/ledger.js';
import { insertMeta, readGeneration } from '../store/meta.js';
import { readHead } from '../store/revision-log.js';
import { checkLineage, createHighWaterMark, startNewGeneration } from '../sync/lineage.js';
import { acceptLoss, listHolds } from '../sync/recovery.js';
import { addDavUser, type DavCall, type DavUser, davClient, propfindBody } from '../test-support/dav.js';

/** After a loss, DAV reads of every account wait (503 + Retry-After) until an operator accepts it. */
describe.each(engines)('DAV recovery hold on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let bob: DavUser;
  let dav: DavCall;
  const book = () => `/dav/addressbooks/${alice.username}/people/`;

  beforeAll(async () => {
    server = await startTestServer(engine, { 'dav-recovery-retry-after-seconds': '42' });
    alice = await addDavUser(server);
    bob = await addDavUser(server);
    dav = davClient(server, alice);
    const made = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { id: 'people', type: 'contacts', name: 'People' },
    });
    expect(made.statusCode).toBe(201);
    expect(
      (await dav('PUT', `${book()}ada.vcf`, { body: vcard('ada', 'Ada Lovelace'), contentType: 'text/vcard' }))
        .statusCode,
    ).toBe(201);
  });
  afterAll(async () => server?.close());

  it('serves DAV normally while nothing was lost', async () => {
    expect((await dav('PROPFIND', book(), { depth: '1', body: propfindBody('<d:getetag/>') })).statusCode).toBe(207);
    expect(await listHolds(server.ctx.db)).toEqual([]);
  });

  it('holds every account after a rollback: reads and deletes get 503, uploads go through', async () => {
    await startNewGeneration(server.ctx.db, await readGeneration(server.ctx.db), {
      summary: 'test rollback',
      details: {},
      now: Date.now(),
    });
    expect((await listHolds(server.ctx.db)).map((h) => h.user_id).sort()).toEqual([alice.userId, bob.userId].sort());
    for (const [method, request] of [
      ['PROPFIND', { depth: '1' as const, body: propfindBody('<d:getetag/>') }],
      [
        'REPORT',
        {
          body: '<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>',
        },
      ],
      ['GET', {}],
      ['DELETE', {}],
    ] as const) {
      const url = method === 'GET' || method === 'DELETE' ? `${book()}ada.vcf` : book();
      const response = await dav(method, url, request);
      expect(response.statusCode, method).toBe(503);
      expect(response.headers['retry-after']).toBe('42');
      expect(response.body).toContain('recovering lost data');
    }
    const put = await dav('PUT', `${book()}grace.vcf`, {
      body: vcard('grace', 'Grace Hopper'),
      contentType: 'text/vcard',
    });
    expect(put.statusCode).toBe(201);
    // The JSON API is not held: devices get its typed errors and re-seed.
    const items = await server.app.inject({ method: 'GET', url: '/v1/collections', headers: alice.auth });
    expect(items.statusCode).toBe(200);
  });

  it('ends for one account when an operator accepts the loss, recorded on the ledger', async () => {
    expect(await acceptLoss(server.ctx.db, { userId: alice.userId, operator: 'operator root' }, Date.now())).toEqual([
      alice.userId,
    ]);
    expect((await dav('PROPFIND', book(), { depth: '1', body: propfindBody('<d:getetag/>') })).statusCode).toBe(207);
    const bobBook = `/dav/addressbooks/${bob.username}/`;
    expect((await davClient(server, bob)('PROPFIND', bobBook, { depth: '0' })).statusCode).toBe(503);
    const entries = await listLedger(server.ctx.db.kysely, { limit: 1000 });
    const accepted = entries.filter((e) => e.kind === 'loss_accepted');
    expect(accepted.map((e) => [e.user_id, JSON.parse(e.details).operator])).toEqual([[alice.userId, 'operator root']]);
    expect(await acceptLoss(server.ctx.db, { operator: 'operator root' }, Date.now())).toEqual([bob.userId]);
    expect(await listHolds(server.ctx.db)).toEqual([]);
  });

  it("ends by itself once every one of the account's devices has re-seeded", async () => {
    const carol = await addDavUser(server);
    const tablet = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: carol.username, password: carol.password, deviceName: 'tablet' },
    });
    const tabletAuth = { authorization: `Bearer ${tablet.json().token}` };
    await startNewGeneration(server.ctx.db, await readGeneration(server.ctx.db), {
      summary: 'test rollback',
      details: {},
      now: Date.now(),
    });
    const complete = (headers: Record<string, string>) =>
      server.app.inject({
        method: 'POST',
        url: '/v1/reseed/complete',
        headers,
        payload: { previousGeneration: 'old', collectionsRecreated: 0, itemsUploaded: 0, blobsUploaded: 0 },
      });
    const carolDav = davClient(server, carol);
    expect((await complete(carol.auth)).statusCode).toBe(200);
    expect((await carolDav('PROPFIND', `/dav/addressbooks/${carol.username}/`, { depth: '0' })).statusCode).toBe(503);
    expect((await complete(tabletAuth)).statusCode).toBe(200);
    expect((await carolDav('PROPFIND', `/dav/addressbooks/${carol.username}/`, { depth: '0' })).statusCode).toBe(207);
    expect((await listHolds(server.ctx.db)).map((h) => h.user_id)).not.toContain(carol.userId);
    await acceptLoss(server.ctx.db, { operator: 'operator root' }, Date.now());
  });

  it('holds every account when the database was replaced by one that was not restored from backup', async () => {
    const mark = await createHighWaterMark(server.dataDir, 'a-lost-lineage', 1);
    await mark.close();
    expect((await checkLineage(server.ctx.db, server.dataDir, server.ctx.log)).replaced).toBe(true);
    expect(new Set((await listHolds(server.ctx.db)).map((h) => h.reason))).toEqual(new Set(['database_replaced']));
    expect((await dav('PROPFIND', book(), { depth: '0' })).statusCode).toBe(503);
    await acceptLoss(server.ctx.db, { operator: 'operator root' }, Date.now());
  });

  it('holds nothing when the database was replaced by a restore from backup', async () => {
    // The server last ran on another lineage: the database in place now is a restored one.
    const mark = await createHighWaterMark(server.dataDir, 'an-older-lineage', 1);
    await mark.close();
    await insertMeta(
      server.ctx.db,
      'restored_from',
      JSON.stringify({ repository: 'r', seq: await readHead(server.ctx.db) }),
    );
    const check = await checkLineage(server.ctx.db, server.dataDir, server.ctx.log);
    expect(check.replaced).toBe(true);
    expect(await listHolds(server.ctx.db)).toEqual([]);
  });
});
