import { randomUUID } from 'node:crypto';
import { adminOverviewSchema, adminUsersResponseSchema } from '@holdfast/protocol';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserAdmin } from '../auth/accounts.js';
import { recordIncident } from '../ledger/ledger.js';
import { holdAllAccounts } from '../store/recovery-holds.js';
import { pushNotes, pushPhoto } from '../test-support/backups.js';

/** The operators' API over real HTTP: who may use it, and what each route answers. */
describe.each(engines)('admin API on %s', (engine) => {
  let server: TestServer;
  let base: string;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;

  const call = async (user: TestUser, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...user.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : JSON.parse(text) };
  };

  beforeAll(async () => {
    server = await startTestServer(engine);
    base = await server.app.listen({ host: '127.0.0.1', port: 0 });
    admin = await addUser(server, `root-${engine}`);
    await setUserAdmin(server.ctx, admin.username, true);
    alice = await addUser(server, `alice-adm-${engine}`);
    bob = await addUser(server, `bob-adm-${engine}`);
  });
  afterAll(async () => server?.close());

  const adminRoutes: [string, string][] = [
    ['GET', '/v1/admin/overview'],
    ['GET', '/v1/admin/users'],
    ['POST', '/v1/admin/users/ID/disable'],
    ['POST', '/v1/admin/users/ID/enable'],
    ['GET', '/v1/admin/incidents'],
    ['GET', '/v1/admin/reports'],
    ['POST', '/v1/admin/backup'],
    ['POST', '/v1/admin/drill'],
  ];

  it('answers 403 forbidden to a non-admin on every admin route, and changes nothing', async () => {
    for (const [method, path] of adminRoutes) {
      const response = await call(alice, method, path.replace('ID', bob.userId));
      expect(response.status, `${method} ${path}`).toBe(403);
      expect(response.body.code).toBe('forbidden');
    }
    expect((await call(bob, 'GET', '/v1/me')).status).toBe(200);
    // The same routes do answer an admin (the 403 above is about who asks).
    for (const [method, path] of adminRoutes.filter(([m]) => m === 'GET')) {
      expect((await call(admin, method, path)).status, path).toBe(200);
    }
  });

  it('shows the admin flag in /v1/me, and it follows user admin on|off at once', async () => {
    expect((await call(admin, 'GET', '/v1/me')).body).toMatchObject({ username: admin.username, admin: true });
    expect((await call(alice, 'GET', '/v1/me')).body).toMatchObject({ username: alice.username, admin: false });
    await setUserAdmin(server.ctx, alice.username, true);
    expect((await call(alice, 'GET', '/v1/me')).body.admin).toBe(true);
    expect((await call(alice, 'GET', '/v1/admin/users')).status).toBe(200);
    await setUserAdmin(server.ctx, alice.username, false);
    expect((await call(alice, 'GET', '/v1/admin/users')).status).toBe(403);
  });

  it('lists users with their storage, quotas, role and last use', async () => {
    const notes = await pushNotes(server, alice, 12);
    expect(notes).toBeTruthy();
    const photos = (await call(alice, 'POST', '/v1/collections', { type: 'photos', name: 'Photos' })).body.id;
    await pushPhoto(server, alice, photos, 'p1');
    const usage = (await call(alice, 'GET', '/v1/account/usage')).body;
    const { users } = adminUsersResponseSchema.parse((await call(admin, 'GET', '/v1/admin/users')).body);
    const row = users.find((u) => u.username === alice.username);
    if (!row) throw new Error('alice is not listed');
    expect(row).toMatchObject({
      id: alice.userId,
      admin: false,
      disabled: false,
      items: 13,
      bytes: usage.bytes,
      quotaItems: usage.quotaItems,
      quotaBytes: usage.quotaBytes,
    });
    expect(row.bytes).toBeGreaterThan(0);
    expect(Date.parse(row.createdAt)).not.toBeNaN();
    expect(Date.parse(row.lastSeenAt ?? '')).not.toBeNaN();
    expect(users.find((u: { username: string }) => u.username === admin.username)).toMatchObject({ admin: true });
    expect(users.find((u: { username: string }) => u.username === bob.username)).toMatchObject({ items: 0, bytes: 0 });
  });

  it('disables a user: their token and event stream end at once, and both actions are on the ledger', async () => {
    const stream = await fetch(`${base}/v1/events`, { headers: bob.auth });
    const reader = stream.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
    let text = '';
    while (!text.includes('event: ready')) text += new TextDecoder().decode((await reader.read()).value);
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return Date.now();
    })();

    const started = Date.now();
    expect((await call(admin, 'POST', `/v1/admin/users/${bob.userId}/disable`)).status).toBe(204);
    // Well before the stream's periodic check (eventStreamCheckMs, 15 s by default).
    expect((await ended) - started).toBeLessThan(5000);
    expect((await call(bob, 'GET', '/v1/me')).status).toBe(401);
    const listed = (await call(admin, 'GET', '/v1/admin/users')).body.users;
    expect(listed.find((u: { id: string }) => u.id === bob.userId).disabled).toBe(true);
    expect((await call(admin, 'GET', '/v1/admin/overview')).body.users).toMatchObject({ disabled: 1 });
    // Asking again changes nothing and records nothing.
    expect((await call(admin, 'POST', `/v1/admin/users/${bob.userId}/disable`)).status).toBe(204);

    expect((await call(admin, 'POST', `/v1/admin/users/${bob.userId}/enable`)).status).toBe(204);
    expect((await call(bob, 'GET', '/v1/me')).status).toBe(200);

    const ledger = (await call(admin, 'GET', '/v1/ledger?limit=1000')).body.entries;
    const actions = ledger.filter((e: { kind: string }) => e.kind === 'admin_action');
    expect(actions.map((e: { details: { action: string } }) => e.details.action)).toEqual([
      'disable_user',
      'enable_user',
    ]);
    expect(actions[0]).toMatchObject({
      userId: admin.userId,
      details: { admin: admin.username, targetUserId: bob.userId, targetUsername: bob.username },
    });
    expect(actions[0].summary).toContain(admin.username);
    // Only the admin's ledger holds them.
    const bobLedger = (await call(bob, 'GET', '/v1/ledger?limit=1000')).body.entries;
    expect(bobLedger.some((e: { kind: string }) => e.kind === 'admin_action')).toBe(false);
  });

  it('disabling through the API ends the user browser sessions for good, and keeps their device token', async () => {
    const signIn = await fetch(`${base}/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: bob.username, password: bob.password }),
    });
    expect(signIn.status).toBe(200);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const session = async () => {
      const response = await fetch(`${base}/v1/session`, { headers: { cookie } });
      return { status: response.status, code: ((await response.json()) as { code?: string }).code };
    };
    expect((await session()).status).toBe(200);

    expect((await call(admin, 'POST', `/v1/admin/users/${bob.userId}/disable`)).status).toBe(204);
    expect(await session()).toEqual({ status: 403, code: 'account_disabled' });
    expect((await call(bob, 'GET', '/v1/me')).status).toBe(401);
    expect((await call(admin, 'POST', `/v1/admin/users/${bob.userId}/enable`)).status).toBe(204);
    expect(await session()).toEqual({ status: 401, code: 'session_revoked' });
    expect((await call(bob, 'GET', '/v1/me')).status).toBe(200);
  });

  it('refuses to disable the admin themself or an unknown user', async () => {
    const self = await call(admin, 'POST', `/v1/admin/users/${admin.userId}/disable`);
    expect(self.status).toBe(400);
    expect((await call(admin, 'GET', '/v1/me')).status).toBe(200);
    const unknown = await call(admin, 'POST', `/v1/admin/users/${randomUUID()}/disable`);
    expect(unknown.status).toBe(404);
  });

  it('takes a user report to the operators and to the user own ledger, and no one else sees it', async () => {
    const collectionId = (await call(bob, 'POST', '/v1/collections', { type: 'contacts', name: 'Friends' })).body.id;
    const filed = await call(bob, 'POST', '/v1/reports', { text: 'My numbers are blank\nsince Tuesday', collectionId });
    expect(filed.status).toBe(201);
    expect(filed.body.seq).toBeGreaterThan(0);

    const { reports } = (await call(admin, 'GET', '/v1/admin/reports')).body;
    expect(reports[0]).toMatchObject({
      seq: filed.body.seq,
      username: bob.username,
      text: 'My numbers are blank\nsince Tuesday',
      collectionId,
    });
    expect(Date.parse(reports[0].at)).not.toBeNaN();
    expect((await call(admin, 'GET', '/v1/admin/overview')).body.openReports).toBe(1);

    const own = (await call(bob, 'GET', '/v1/ledger?limit=1000')).body.entries;
    expect(own.find((e: { seq: number }) => e.seq === filed.body.seq)).toMatchObject({
      kind: 'user_report',
      userId: bob.userId,
    });
    const others = (await call(alice, 'GET', '/v1/ledger?limit=1000')).body.entries;
    expect(others.some((e: { seq: number }) => e.seq === filed.body.seq)).toBe(false);
    expect((await call(alice, 'GET', '/v1/admin/reports')).status).toBe(403);
  });

  it('refuses a report that is empty, too long, or about another user collection', async () => {
    expect((await call(alice, 'POST', '/v1/reports', { text: '   ' })).status).toBe(400);
    expect((await call(alice, 'POST', '/v1/reports', { text: 'x'.repeat(4001) })).status).toBe(400);
    expect((await call(alice, 'POST', '/v1/reports', { text: 'x'.repeat(4000) })).status).toBe(201);
    const bobs = (await call(bob, 'GET', '/v1/collections')).body.collections[0].id;
    const foreign = await call(alice, 'POST', '/v1/reports', { text: 'look at this', collectionId: bobs });
    expect(foreign.status).toBe(404);
  });

  it('shows at_risk with no backup target, and refuses to start backups the server does not run', async () => {
    const overview = adminOverviewSchema.parse((await call(admin, 'GET', '/v1/admin/overview')).body);
    expect(overview).toMatchObject({
      status: 'at_risk',
      reasons: ['no backup target configured: the server copy is the only copy'],
      targets: [],
      users: { total: 3, disabled: 0 },
      openIncidents: 0,
    });
    expect(overview.head.revision).toBeGreaterThan(0);
    expect(typeof overview.head.generation).toBe('string');
    expect((await call(admin, 'POST', '/v1/admin/backup')).body.code).toBe('precondition_failed');
    expect((await call(admin, 'POST', '/v1/admin/drill')).body.code).toBe('precondition_failed');
  });

  it('lists incidents with their impact per user and what came back since', async () => {
    const before = (await call(admin, 'GET', '/v1/admin/incidents?limit=100')).body.entries;
    const after = before.at(-1)?.seq ?? 0;
    const restore = await recordIncident(server.ctx.db, {
      kind: 'restore',
      userId: null,
      summary: 'The deployment was restored from backup.',
      details: { users: { [alice.userId]: { items: 13, collections: 2 }, [bob.userId]: { items: 0, collections: 1 } } },
    });
    await recordIncident(server.ctx.db, {
      kind: 'reseed',
      userId: alice.userId,
      summary: 'A device re-seeded 3 items.',
      details: { items: 3 },
    });
    const { entries } = (await call(admin, 'GET', `/v1/admin/incidents?after=${after}`)).body;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ seq: restore.seq, kind: 'restore', affectedUsers: 2, pending: [] });
    expect(entries[0].users).toEqual(
      expect.arrayContaining([
        { username: alice.username, items: 13, collections: 2 },
        { username: bob.username, items: 0, collections: 1 },
      ]),
    );
    expect(entries[0].recovered).toEqual([
      expect.objectContaining({ username: alice.username, kind: 'reseed', summary: 'A device re-seeded 3 items.' }),
    ]);
    expect((await call(alice, 'GET', '/v1/admin/incidents')).status).toBe(403);
  });

  it('counts every account a rollback touched and the ones still waiting for their devices', async () => {
    const at = Date.now();
    await holdAllAccounts(server.ctx.db, { reason: 'rollback_detected', generation: 'gen-after-loss', since: at });
    const loss = await recordIncident(
      server.ctx.db,
      {
        kind: 'rollback_detected',
        userId: null,
        summary: 'The database came back older.',
        details: { previousGeneration: 'gen-before', generation: 'gen-after-loss', lostFrom: 3, lostTo: 4 },
      },
      at,
    );
    const { entries } = (await call(admin, 'GET', `/v1/admin/incidents?after=${loss.seq - 1}`)).body;
    expect(entries[0]).toMatchObject({ seq: loss.seq, kind: 'rollback_detected', affectedUsers: 3, users: [] });
    expect(entries[0].pending).toEqual(
      expect.arrayContaining([
        { username: alice.username, devices: 1 },
        { username: bob.username, devices: 1 },
        { username: admin.username, devices: 1 },
      ]),
    );
    expect((await call(admin, 'GET', '/v1/admin/overview')).body.openIncidents).toBe(1);
  });
});
