import { randomUUID } from 'node:crypto';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { listAccountStates, listJournalSegments, readJournalSegment } from '@holdfast/backup';
import { addUser, startTestServer, type TestServer, type TestUser, vcard } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import { createUser } from '../auth/accounts.js';
import { listLedger } from '../ledger/ledger.js';
import { cleanupAfterEach, openTestRepository, startBackedUpServer } from '../test-support/backups.js';
import { addDavUser, davClient } from '../test-support/dav.js';
import { backupAckHealth } from './ack-gate.js';
import { startServerBackups } from './server-backups.js';

const defer = cleanupAfterEach();

/** A server shipping to `targets` directory targets, with its backup service running as `serve` runs it. */
async function backedUp(targets: number, settings: Record<string, string> = {}) {
  // An hour between timed passes: only commits make shipping happen.
  const setup = await startBackedUpServer('sqlite', targets, { 'backup-ship-interval-ms': '3600000', ...settings });
  defer(setup.close);
  const service = startServerBackups(setup.server.ctx);
  defer(async () => service?.stop());
  const deadline = Date.now() + 10_000;
  while (!(service?.health().every((h) => h.connected) ?? false)) {
    if (Date.now() > deadline) throw new Error('targets did not connect');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ...setup, service };
}

async function createNotes(server: TestServer, user: TestUser): Promise<string> {
  const created = await server.app.inject({
    method: 'POST',
    url: '/v1/collections',
    headers: user.auth,
    payload: { type: 'notes', name: 'Notes' },
  });
  return (created.json() as { id: string }).id;
}

function pushOne(server: TestServer, user: TestUser, collectionId: string, clientChangeId = randomUUID()) {
  return server.app.inject({
    method: 'POST',
    url: '/v1/push',
    headers: user.auth,
    payload: {
      changes: [
        {
          clientChangeId,
          collectionId,
          itemId: randomUUID(),
          op: 'put',
          baseRevision: null,
          content: { title: 'acknowledged', body: randomUUID() },
        },
      ],
    },
  });
}

async function head(server: TestServer, user: TestUser): Promise<number> {
  const me = await server.app.inject({ method: 'GET', url: '/v1/me', headers: user.auth });
  return (me.json() as { head: number }).head;
}

/** A DAV user with an address book `book`, and a DAV client of theirs. */
async function davUserWithBook(server: TestServer, username = 'alice', book = 'book') {
  const user = await addDavUser(server, username);
  await server.app.inject({
    method: 'POST',
    url: '/v1/collections',
    headers: user.auth,
    payload: { id: book, type: 'contacts', name: book },
  });
  return { user, dav: davClient(server, user) };
}

/** The highest seq of any journal segment stored in the directory repository. */
async function journalHead(dir: string): Promise<number> {
  const repo = await openTestRepository(dir, defer);
  let head = 0;
  for (const object of await listJournalSegments(repo)) {
    head = Math.max(head, (await readJournalSegment(repo, object)).toSeq);
  }
  return head;
}

describe('acknowledgement once on a backup target', () => {
  it('answers a push only when its segment is on the target, and concurrent pushes share segments', async () => {
    const { server, dirs } = await backedUp(1);
    const alice = await addUser(server, 'alice');
    const notes = await createNotes(server, alice);
    const segmentsBefore = (await readdir(join(dirs[0] as string, 'journal'))).length;

    const pushes = 40;
    const responses = await Promise.all(Array.from({ length: pushes }, () => pushOne(server, alice, notes)));
    const onTarget = await journalHead(dirs[0] as string);
    for (const response of responses) {
      expect(response.statusCode).toBe(200);
      const body = response.json() as { durability: string; results: { status: string; revision: number }[] };
      expect(body.durability).toBe('target');
      expect(response.headers['holdfast-durability']).toBe('target');
      expect(body.results[0]?.revision).toBeLessThanOrEqual(onTarget);
    }
    const shipped = (await readdir(join(dirs[0] as string, 'journal'))).length - segmentsBefore;
    expect(shipped).toBeGreaterThan(0);
    expect(shipped).toBeLessThan(pushes);

    const changes = await server.app.inject({ method: 'GET', url: '/v1/changes', headers: alice.auth });
    expect((changes.json() as { backupWatermark: number }).backupWatermark).toBeGreaterThanOrEqual(
      Math.max(...responses.map((r) => (r.json() as { results: { revision: number }[] }).results[0]?.revision ?? 0)),
    );
    expect(backupAckHealth(server.ctx)).toMatchObject({ mode: 'target', required: 1, ok: true });
  });

  it('ships as soon as a write waits, whether or not the commit notification has arrived', async () => {
    const setup = await startBackedUpServer('sqlite', 1, {
      'backup-ship-interval-ms': '3600000',
      'backup-ack-timeout-ms': '3000',
    });
    defer(setup.close);
    const { server } = setup;
    // Commit notifications that never arrive (over PostgreSQL they come back through the database, later).
    server.ctx.notifier.subscribeAll = () => () => {};
    const service = startServerBackups(server.ctx);
    defer(async () => service?.stop());
    const deadline = Date.now() + 10_000;
    while (!(service?.health().every((h) => h.connected) ?? false)) {
      if (Date.now() > deadline) throw new Error('targets did not connect');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const alice = await addUser(server, 'alice');
    const notes = await createNotes(server, alice);
    const response = await pushOne(server, alice, notes);
    expect(response.statusCode).toBe(200);
    const body = response.json() as { durability: string; results: { revision: number }[] };
    expect(body.durability).toBe('target');
    expect(body.results[0]?.revision).toBeLessThanOrEqual(await journalHead(setup.dirs[0] as string));
  });

  it('answers a DAV PUT only once it is on the target, and says so in a header', async () => {
    const { server, dirs } = await backedUp(1);
    const { user: alice, dav } = await davUserWithBook(server);
    const id = randomUUID();
    const put = await dav('PUT', `/dav/addressbooks/alice/book/${id}.vcf`, { body: vcard(id, 'Safe Contact') });
    expect(put.statusCode).toBe(201);
    expect(put.headers['holdfast-durability']).toBe('target');
    expect(await journalHead(dirs[0] as string)).toBeGreaterThanOrEqual(await head(server, alice));
    const removed = await dav('DELETE', `/dav/addressbooks/alice/book/${id}.vcf`);
    expect(removed.statusCode).toBe(204);
    expect(removed.headers['holdfast-durability']).toBe('target');
    expect(await journalHead(dirs[0] as string)).toBeGreaterThanOrEqual(await head(server, alice));
  });

  it('waits for the target before answering any write route: a collection, an import and its undo', async () => {
    const { server, dirs } = await backedUp(1);
    const alice = await addUser(server, 'alice');
    const onTarget = async () =>
      expect(await journalHead(dirs[0] as string)).toBeGreaterThanOrEqual(await head(server, alice));
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { type: 'contacts', name: 'Imported' },
    });
    expect(created.headers['holdfast-durability']).toBe('target');
    await onTarget();
    const book = (created.json() as { id: string }).id;
    const imported = await server.app.inject({
      method: 'POST',
      url: `/v1/import?name=card.vcf&collection=${book}`,
      headers: { ...alice.auth, 'content-type': 'text/vcard' },
      payload: vcard(randomUUID(), 'Imported Contact'),
    });
    expect(imported.statusCode).toBe(200);
    expect(imported.headers['holdfast-durability']).toBe('target');
    await onTarget();
    const { importId } = imported.json() as { importId: string };
    const undone = await server.app.inject({
      method: 'POST',
      url: `/v1/imports/${importId}/undo`,
      headers: alice.auth,
    });
    expect(undone.statusCode).toBe(200);
    expect(undone.headers['holdfast-durability']).toBe('target');
    await onTarget();
  });

  it('says local, at once, without targets or with backupAck=local', async () => {
    const alone = await startTestServer('sqlite');
    defer(alone.close);
    const { server } = await backedUp(1, { 'backup-ack': 'local' });
    for (const [each, watermark] of [
      [alone, null],
      [server, 'number'],
    ] as const) {
      const alice = await addDavUser(each, 'alice');
      const response = await pushOne(each, alice, await createNotes(each, alice));
      expect((response.json() as { durability: string }).durability).toBe('local');
      expect(response.headers['holdfast-durability']).toBe('local');
      const changes = await each.app.inject({ method: 'GET', url: '/v1/changes', headers: alice.auth });
      const reported = (changes.json() as { backupWatermark: number | null }).backupWatermark;
      if (watermark === null) expect(reported).toBeNull();
      else expect(typeof reported).toBe('number');
    }
    expect(backupAckHealth(alone.ctx)).toMatchObject({ mode: 'none', ok: false });
    expect(backupAckHealth(server.ctx)).toMatchObject({ mode: 'local', ok: false });
  });

  it('waits for as many targets as backupAckTargets says', async () => {
    const { server, dirs } = await backedUp(2, { 'backup-ack-targets': '2' });
    const alice = await addUser(server, 'alice');
    const notes = await createNotes(server, alice);
    const response = await pushOne(server, alice, notes);
    const revision = (response.json() as { results: { revision: number }[] }).results[0]?.revision ?? 0;
    expect(revision).toBeGreaterThan(0);
    for (const dir of dirs) expect(await journalHead(dir)).toBeGreaterThanOrEqual(revision);
  });
});

describe('account changes acknowledged once on a backup target', () => {
  /** The newest account state on the directory target. */
  async function newestAccounts(dir: string) {
    const states = await listAccountStates(await openTestRepository(dir, defer));
    return states.at(-1)?.state;
  }

  it('answers a device login, an app password and their revocation only once an account state holds them', async () => {
    // Timed passes an hour apart and no revision written: only the waiting change makes the account state ship.
    const { server, dirs } = await backedUp(1);
    await createUser(server.ctx, 'carol', 'carol-password-1');
    const login = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'carol', password: 'carol-password-1', deviceName: 'phone' },
    });
    expect(login.statusCode).toBe(200);
    expect(login.headers['holdfast-durability']).toBe('target');
    const { deviceId, token } = login.json() as { deviceId: string; token: string };
    let state = await newestAccounts(dirs[0] as string);
    expect(state?.devices.find((d) => d.id === deviceId)).toMatchObject({ name: 'phone', revoked_at: null });
    const auth = { authorization: `Bearer ${token}` };

    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/app-passwords',
      headers: auth,
      payload: { label: 'desktop' },
    });
    expect(created.statusCode).toBe(201);
    const appPassword = (created.json() as { id: string }).id;
    state = await newestAccounts(dirs[0] as string);
    expect(state?.app_passwords.find((a) => a.id === appPassword)).toMatchObject({
      label: 'desktop',
      revoked_at: null,
    });

    const revoked = await server.app.inject({
      method: 'DELETE',
      url: `/v1/app-passwords/${appPassword}`,
      headers: auth,
    });
    expect(revoked.statusCode).toBe(204);
    expect(revoked.headers['holdfast-durability']).toBe('target');
    state = await newestAccounts(dirs[0] as string);
    expect(state?.app_passwords.find((a) => a.id === appPassword)?.revoked_at).not.toBeNull();

    const logout = await server.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: auth });
    expect(logout.statusCode).toBe(204);
    state = await newestAccounts(dirs[0] as string);
    expect(state?.devices.find((d) => d.id === deviceId)?.revoked_at).not.toBeNull();
  });

  it('answers a DAV PUT under a name that is not an item id, an import and its undo once their records are there', async () => {
    const { server, dirs } = await backedUp(1);
    const { user: alice, dav } = await davUserWithBook(server);
    const put = await dav('PUT', '/dav/addressbooks/alice/book/My%20Card%20(1).vcf', {
      body: vcard(randomUUID(), 'Named Contact'),
    });
    expect(put.statusCode).toBe(201);
    expect(put.headers['holdfast-durability']).toBe('target');
    let state = await newestAccounts(dirs[0] as string);
    expect(state?.dav_names.map((n) => n.name)).toContain('My Card (1).vcf');

    const imported = await server.app.inject({
      method: 'POST',
      url: '/v1/import?name=card.vcf&collection=book',
      headers: { ...alice.auth, 'content-type': 'text/vcard' },
      payload: vcard(randomUUID(), 'Imported Contact'),
    });
    expect(imported.statusCode).toBe(200);
    const { importId } = imported.json() as { importId: string };
    state = await newestAccounts(dirs[0] as string);
    expect(state?.imports.find((i) => i.id === importId)).toMatchObject({ undone_by: null });
    const undone = await server.app.inject({
      method: 'POST',
      url: `/v1/imports/${importId}/undo`,
      headers: alice.auth,
    });
    expect(undone.statusCode).toBe(200);
    state = await newestAccounts(dirs[0] as string);
    expect(state?.imports.find((i) => i.id === importId)?.undone_by).not.toBeNull();
  });

  it('answers a failed login without waiting for the target', async () => {
    const { server, dirs } = await backedUp(1, { 'backup-ack-timeout-ms': '300' });
    await rename(dirs[0] as string, `${dirs[0]}.away`);
    const refused = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'nobody', password: 'not-a-password', deviceName: 'phone' },
    });
    expect(refused.statusCode).toBe(401);
    // Had it waited, the missing target would have timed it out and opened a degradation episode.
    expect(refused.headers['holdfast-durability']).toBeUndefined();
    expect(backupAckHealth(server.ctx).degradedSince).toBeNull();
    await rename(`${dirs[0]}.away`, dirs[0] as string);
  });
});

describe('when no backup target answers in time', () => {
  it('acknowledges with durability local within the bound and records one incident per episode', async () => {
    const { server, dirs } = await backedUp(1, { 'backup-ack-timeout-ms': '300', 'backup-ship-interval-ms': '200' });
    const alice = await addUser(server, 'alice');
    const notes = await createNotes(server, alice);
    await rename(dirs[0] as string, `${dirs[0]}.away`);

    const started = Date.now();
    const first = await pushOne(server, alice, notes);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(first.statusCode).toBe(200);
    expect((first.json() as { durability: string }).durability).toBe('local');
    const second = await pushOne(server, alice, notes);
    expect((second.json() as { durability: string }).durability).toBe('local');

    await new Promise((resolve) => setTimeout(resolve, 50));
    const incidents = (await listLedger(server.ctx.db.kysely, { limit: 100 })).filter(
      (e) => e.kind === 'backup_ack_degraded',
    );
    expect(incidents).toHaveLength(1);
    expect(await server.ctx.metrics.registry.metrics()).toMatch(/^holdfast_backup_ack_degraded 1$/m);
    expect(backupAckHealth(server.ctx)).toMatchObject({ ok: false });
    expect(backupAckHealth(server.ctx).degradedSince).not.toBeNull();

    // Back: the next pass ships the backlog, the episode closes, and writes wait for the target again.
    await rename(`${dirs[0]}.away`, dirs[0] as string);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const again = await pushOne(server, alice, notes);
      if ((again.json() as { durability: string }).durability === 'target') break;
      if (Date.now() > deadline) throw new Error('never acknowledged on the target again');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await server.ctx.metrics.registry.metrics()).toMatch(/^holdfast_backup_ack_degraded 0$/m);
  });

  it('with backupAckOnTimeout=refuse answers 503 backup_unavailable, and a retry is answered from its receipt', async () => {
    const { server, dirs } = await backedUp(1, {
      'backup-ack-timeout-ms': '300',
      'backup-ack-on-timeout': 'refuse',
      'backup-ship-interval-ms': '200',
    });
    const alice = await addUser(server, 'alice');
    const notes = await createNotes(server, alice);
    const { dav } = await davUserWithBook(server, 'bob', 'bobs');
    await rename(dirs[0] as string, `${dirs[0]}.away`);

    const clientChangeId = randomUUID();
    const refused = await pushOne(server, alice, notes, clientChangeId);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect((refused.json() as { code: string }).code).toBe('backup_unavailable');
    // A device login is refused too: its token would not survive a restore.
    const login = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'alice', password: alice.password, deviceName: 'second phone' },
    });
    expect(login.statusCode).toBe(503);
    expect((login.json() as { code: string }).code).toBe('backup_unavailable');
    const card = vcard(randomUUID(), 'Stored Here');
    const put = await dav('PUT', '/dav/addressbooks/bob/bobs/x.vcf', { body: card });
    expect(put.statusCode).toBe(503);
    expect(put.headers['holdfast-durability']).toBe('local');
    expect(put.headers.etag).toBeUndefined();
    expect((JSON.parse(put.body) as { code: string }).code).toBe('backup_unavailable');
    // The same PUT again writes nothing, and is still not acknowledged while the target is away.
    expect((await dav('PUT', '/dav/addressbooks/bob/bobs/x.vcf', { body: card })).statusCode).toBe(503);

    const committed = await head(server, alice);
    await rename(`${dirs[0]}.away`, dirs[0] as string);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const retry = await pushOne(server, alice, notes, clientChangeId);
      if (retry.statusCode === 200) {
        const body = retry.json() as { durability: string; results: { status: string }[] };
        expect(body.durability).toBe('target');
        expect(body.results[0]?.status).toBe('applied');
        break;
      }
      expect((retry.json() as { code: string }).code).toBe('backup_unavailable');
      if (Date.now() > deadline) throw new Error('the retry was never acknowledged');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await dav('PUT', '/dav/addressbooks/bob/bobs/x.vcf', { body: card })).headers['holdfast-durability']).toBe(
      'target',
    );
    // The retries wrote nothing: the refused writes were already committed.
    expect(await head(server, alice)).toBe(committed);
  });
});
