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
import { recordIncident } from '../ledger/ledger.js';

describe.each(engines)('notices and e-mail address over the API on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-notices-${engine}`);
    bob = await addUser(server, `bob-notices-${engine}`);
  });
  afterAll(async () => server?.close());

  const call = (method: 'GET' | 'POST' | 'PATCH', url: string, user: TestUser, payload?: unknown) =>
    server.app.inject({
      method,
      url,
      headers: user.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it('sets, shows and clears the address through PATCH /v1/me, refusing what is not an address', async () => {
    expect((await call('GET', '/v1/me', alice)).json().email).toBeNull();
    const set = await call('PATCH', '/v1/me', alice, { email: ' alice@example.org ' });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toMatchObject({ userId: alice.userId, username: alice.username, email: 'alice@example.org' });
    expect(set.json().generation).toBeTypeOf('string');
    expect((await call('GET', '/v1/me', alice)).json().email).toBe('alice@example.org');
    expect((await call('GET', '/v1/me', bob)).json().email).toBeNull();

    for (const bad of [{ email: 'not an address' }, { email: 42 }, { email: 'a@b.c', admin: true }, {}]) {
      const refused = await call('PATCH', '/v1/me', alice, bad);
      expect(refused.statusCode).toBe(400);
      expect(refused.json().code).toBe('invalid_request');
    }
    expect((await call('PATCH', '/v1/me', bob, { email: null })).json().email).toBeNull();
    expect((await call('GET', '/v1/me', alice)).json().email).toBe('alice@example.org');
  });

  it("lists what touched the caller until they dismiss it, and never another person's", async () => {
    const book = (await call('POST', '/v1/collections', alice, { type: 'contacts', name: 'Family' })).json().id;
    const push = (changes: object[]) => call('POST', '/v1/push', alice, { changes });
    const put = (itemId: string, content: string) => ({
      clientChangeId: randomUUID(),
      collectionId: book,
      itemId,
      op: 'put',
      baseRevision: null,
      content,
    });
    await push([put('ada', vcard('ada', 'Ada'))]);
    const good = (await call('GET', '/v1/me', alice)).json().head as number;
    await push([put('junk', vcard('junk', 'Junk'))]);
    expect((await call('POST', '/v1/restore', alice, { revision: good })).statusCode).toBe(200);
    const outage = await recordIncident(server.ctx.db, {
      kind: 'rollback_detected',
      userId: null,
      summary: 'The database came back at an older revision.',
      details: { head: 1, lostFrom: 2, lostTo: 3 },
    });
    // Routine entries are on the ledger but not in the banner.
    await recordIncident(server.ctx.db, { kind: 'journal_lag', userId: null, summary: 'Lag.', details: {} });

    const aliceNotices = (await call('GET', '/v1/notices', alice)).json().notices;
    expect(aliceNotices.map((n: { kind: string }) => n.kind)).toEqual(['rollback_detected', 'restore']);
    const restore = aliceNotices[1];
    expect(restore).toMatchObject({
      kind: 'restore',
      scope: 'user',
      summary: `Your data was restored as it was at revision ${good}`,
      yours: '0 items came back as they were then and 1 item added since was removed.',
    });
    expect(Date.parse(restore.at)).toBeGreaterThan(0);
    expect(restore.seq).toBeTypeOf('number');

    // Bob sees the deployment-wide incident, never Alice's restore, and cannot dismiss it for her.
    const bobNotices = (await call('GET', '/v1/notices', bob)).json().notices;
    expect(bobNotices.map((n: { seq: number }) => n.seq)).toEqual([outage.seq]);
    const probe = await call('POST', `/v1/notices/${restore.seq}/dismiss`, bob);
    expect(probe.statusCode).toBe(404);
    expect(probe.json().code).toBe('not_found');
    expect((await call('POST', '/v1/notices/999999/dismiss', alice)).statusCode).toBe(404);
    expect((await call('POST', '/v1/notices/abc/dismiss', alice)).statusCode).toBe(400);

    expect((await call('POST', `/v1/notices/${restore.seq}/dismiss`, alice)).statusCode).toBe(204);
    expect((await call('POST', `/v1/notices/${restore.seq}/dismiss`, alice)).statusCode).toBe(204);
    expect((await call('GET', '/v1/notices', alice)).json().notices.map((n: { seq: number }) => n.seq)).toEqual([
      outage.seq,
    ]);
    // Dismissing is Alice's alone, and the ledger keeps the entry.
    expect((await call('GET', '/v1/notices', bob)).json().notices).toHaveLength(1);
    const ledger = (await call('GET', '/v1/ledger', alice)).json().entries;
    expect(ledger.some((e: { seq: number }) => e.seq === restore.seq)).toBe(true);
  });

  it('leaves out deployment-wide incidents from before the account existed', async () => {
    const carol = await addUser(server, `carol-notices-${engine}`);
    expect((await call('GET', '/v1/notices', carol)).json().notices).toEqual([]);
  });
});
