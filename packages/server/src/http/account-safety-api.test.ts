import { randomUUID } from 'node:crypto';
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
import { attachAckGate, closeAckGate, noteDurable } from '../backup/ack-gate.js';
import { recordIncident } from '../ledger/ledger.js';

describe.each(engines)('GET /v1/account/safety on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;

  const call = (method: 'GET' | 'POST', url: string, payload?: unknown, user: TestUser = alice) =>
    server.app.inject({
      method,
      url,
      headers: user.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const safety = async (user: TestUser = alice) => {
    const response = await call('GET', '/v1/account/safety', undefined, user);
    expect(response.statusCode).toBe(200);
    return response.json();
  };
  const put = (collectionId: string, itemId: string, content: unknown) => ({
    clientChangeId: randomUUID(),
    collectionId,
    itemId,
    op: 'put',
    baseRevision: null,
    content,
  });

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-safety-${engine}`);
    bob = await addUser(server, `bob-safety-${engine}`);
    for (const [id, type] of [
      ['book', 'contacts'],
      ['cal', 'calendar'],
      ['notes', 'notes'],
    ])
      expect((await call('POST', '/v1/collections', { id, type, name: id })).statusCode).toBe(201);
  });
  afterAll(async () => server?.close());

  it('counts what the person has, by kind and by contact field, and lists their devices', async () => {
    const noPhone = ['BEGIN:VCARD', 'VERSION:3.0', 'UID:np', 'FN:No Phone', 'END:VCARD', ''].join('\r\n');
    const push = await call('POST', '/v1/push', {
      changes: [
        put('book', 'a', vcard('a', 'Ada One', '+1 555 0001')),
        put('book', 'b', vcard('b', 'Bea Two', '+1 555 0002')),
        put('book', 'np', noPhone),
        put('cal', 'e1', vevent('e1', 'Standup')),
        put('notes', 'n1', { title: 'T', body: 'B' }),
      ],
    });
    expect(push.statusCode).toBe(200);
    const before = await safety();
    expect(before.counts).toEqual({ contacts: 3, events: 1, tasks: 0, notes: 1, photos: 0, messages: 0 });
    // vcard() writes one phone, one email and one address per card.
    expect(before.fields).toMatchObject({ phones: 2, emails: 2, addresses: 2, contactsWithPhone: 2 });
    expect(before.backup).toMatchObject({ state: 'no_target', watermark: null, lastOnTargetAt: null });
    expect(before.backup.head).toBe((await call('GET', '/v1/me')).json().head);
    expect(before.devices).toHaveLength(1);
    expect(before.devices[0]).toMatchObject({ id: alice.deviceId, current: true });
    expect(Date.parse(before.devices[0].lastSyncAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(before.openIncidents).toEqual([]);

    // Another person's account is theirs alone.
    const other = await safety(bob);
    expect(other.counts).toEqual({ contacts: 0, events: 0, tasks: 0, notes: 0, photos: 0, messages: 0 });
    expect(other.fields).toMatchObject({ phones: 0, emails: 0, addresses: 0 });
    expect(other.devices.map((d: { id: string }) => d.id)).toEqual([bob.deviceId]);
    expect(other.devices[0].lastSyncAt).toBeNull();
    expect(other.backup.head).toBe(0);
  });

  it('says whether the person’s newest revision is on a backup target', async () => {
    const gate = attachAckGate(server.ctx, 1);
    try {
      const behind = await safety();
      expect(behind.backup.state).toBe('behind');
      expect(behind.backup.watermark).toBe(0);
      // Their data was last all on a target just before their first revision was written.
      expect(Date.parse(behind.backup.lastOnTargetAt)).toBeLessThanOrEqual(Date.now());
      noteDurable(gate, 0, behind.backup.head);
      const safe = await safety();
      expect(safe.backup).toMatchObject({
        state: 'on_target',
        watermark: behind.backup.head,
        head: behind.backup.head,
      });
      expect(Date.parse(safe.backup.lastOnTargetAt)).toBeGreaterThan(Date.now() - 60_000);
    } finally {
      closeAckGate(gate);
    }
  });

  it('lists a deployment-wide loss as open until something comes back for the person', async () => {
    const loss = await recordIncident(server.ctx.db, {
      kind: 'database_replaced',
      userId: null,
      summary: 'The database was replaced.',
      details: {},
    });
    const open = (await safety()).openIncidents;
    expect(open).toEqual([
      {
        seq: loss.seq,
        at: new Date(Number(loss.at)).toISOString(),
        kind: 'database_replaced',
        summary: 'The database was replaced.',
      },
    ]);
    expect((await safety(bob)).openIncidents.map((i: { seq: number }) => i.seq)).toEqual([loss.seq]);
    await recordIncident(server.ctx.db, { kind: 'reseed', userId: alice.userId, summary: 'Re-seeded.', details: {} });
    expect((await safety()).openIncidents).toEqual([]);
    expect((await safety(bob)).openIncidents).toHaveLength(1);
  });
});
