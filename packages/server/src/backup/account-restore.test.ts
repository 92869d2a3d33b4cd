import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listAccountStates } from '@holdfast/backup';
import { addUser, vcard } from '@holdfast/test-support/harness';
import { startSmtpListener } from '@holdfast/test-support/smtp-listener';
import { describe, expect, it } from 'vitest';
import { createAppPassword } from '../auth/accounts.js';
import { loadConfig } from '../config.js';
import { startServer } from '../main.js';
import { openDatabase } from '../store/database.js';
import { listDevices } from '../store/devices.js';
import { migrateToLatest } from '../store/migrate.js';
import { readHead } from '../store/revision-log.js';
import { listUsers } from '../store/users.js';
import {
  cleanupAfterEach,
  openTestRepository,
  pushNotes,
  shipOnce,
  startBackedUpServer,
} from '../test-support/backups.js';
import { addDavUser } from '../test-support/dav.js';
import { restoreToNewDeployment } from './disaster-restore.js';
import { restoreRepository } from './restore.js';

const defer = cleanupAfterEach();
const openRepo = (dir: string) => openTestRepository(dir, defer);

async function scratchDir(): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-restored-'));
  defer(() => rm(base, { recursive: true, force: true }));
  return join(base, 'data');
}

function basic(username: string, password: string) {
  return { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` };
}

describe('a disaster restore brings back a deployment people can use', () => {
  it('restores users, device tokens, app passwords and DAV names, including account changes after the last snapshot', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server, dirs } = setup;
    const alice = await addDavUser(server, 'alice');
    const phone = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'alice', password: alice.password, deviceName: 'phone' },
    });
    const phoneDevice = phone.json() as { token: string; deviceId: string };
    const book = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { id: 'book', type: 'contacts', name: 'Book' },
    });
    expect(book.statusCode).toBe(201);
    // A name the DAV client chose that is not an item id, so only the dav_names table knows it.
    const card = vcard('c1@example.org', 'Zoë Example');
    const put = await server.app.inject({
      method: 'PUT',
      url: '/dav/addressbooks/alice/book/c1@example.org.vcf',
      headers: { ...alice.basic, 'content-type': 'text/vcard' },
      payload: card,
    });
    expect(put.statusCode).toBe(201);
    // Where alice is told about incidents, above all about this restore.
    const email = await server.app.inject({
      method: 'PATCH',
      url: '/v1/me',
      headers: alice.auth,
      payload: { email: 'alice@example.org' },
    });
    expect(email.statusCode).toBe(200);
    const oldGeneration = (await server.app.inject({ method: 'GET', url: '/v1/me', headers: alice.auth })).json()
      .generation as string;
    await shipOnce(server);

    // After the last snapshot only account tables change: the phone is revoked and a new app password is made.
    const head = await readHead(server.ctx.db.kysely);
    const revoke = await server.app.inject({
      method: 'DELETE',
      url: `/v1/devices/${phoneDevice.deviceId}`,
      headers: alice.auth,
    });
    expect(revoke.statusCode).toBeLessThan(300);
    const late = await createAppPassword(server.ctx, 'alice', 'late client');
    await shipOnce(server);
    expect(await readHead(server.ctx.db.kysely)).toBe(head);

    const dataDir = await scratchDir();
    const repo = await openRepo(dirs[0] as string);
    const restored = await restoreToNewDeployment(repo, { dataDir });
    expect(restored.accounts?.users).toBe(1);
    const smtp = await startSmtpListener();
    defer(() => smtp.close());
    const config = loadConfig({
      flags: {
        data: dataDir,
        port: '0',
        'log-level': 'silent',
        'backup-targets': '',
        'smtp-url': smtp.url,
        'notify-poll-ms': '100',
      },
      env: {},
    });
    const running = await startServer(config);
    defer(() => running.close());
    const call = (path: string, init: RequestInit = {}) => fetch(`${running.url}${path}`, init);
    // The address came back with the account, so alice is told about the restore that brought it back.
    for (let waited = 0; smtp.mails.length === 0 && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(smtp.mails.map((m) => [m.to, m.subject])).toEqual([
      [['alice@example.org'], 'Holdfast: The server was restored from a backup'],
    ]);
    expect(smtp.mails[0]?.text).toContain('Your account was in it: 1 item in 1 collection.');

    const login = await call('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: alice.password, deviceName: 'laptop' }),
    });
    expect(login.status).toBe(200);
    // Devices keep their tokens and find a new generation, which makes them re-seed.
    const me = await call('/v1/me', { headers: alice.auth });
    expect(me.status).toBe(200);
    const restoredMe = (await me.json()) as { generation: string; email: string | null };
    expect(restoredMe.generation).not.toBe(oldGeneration);
    expect(restoredMe.email).toBe('alice@example.org');
    const revoked = await call('/v1/me', { headers: { authorization: `Bearer ${phoneDevice.token}` } });
    expect(revoked.status).toBe(401);
    for (const password of [alice.appPassword, late.password]) {
      const get = await call('/dav/addressbooks/alice/book/c1@example.org.vcf', { headers: basic('alice', password) });
      expect(get.status).toBe(200);
      expect(await get.text()).toBe(card);
    }
    const wrong = await call('/dav/addressbooks/alice/book/c1@example.org.vcf', {
      headers: basic('alice', 'not-the-password'),
    });
    expect(wrong.status).toBe(401);
  });

  it('never brings back a credential that was revoked after the restore point', async () => {
    const setup = await startBackedUpServer('sqlite', 1);
    defer(setup.close);
    const { server, dirs } = setup;
    const alice = await addUser(server, 'alice');
    const notes = await pushNotes(server, alice, 5);
    await shipOnce(server);
    const point = await readHead(server.ctx.db.kysely);
    await pushNotes(server, alice, 5, { collectionId: notes, prefix: 'later' });
    await server.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: alice.auth });
    await shipOnce(server);

    const repo = await openRepo(dirs[0] as string);
    const states = await listAccountStates(repo);
    expect(states.map((s) => s.state.devices[0]?.revoked_at === null)).toEqual([true, false]);
    const db = openDatabase(join(await scratchDir(), '..', 'restored.db'));
    await migrateToLatest(db);
    try {
      const result = await restoreRepository(repo, db, { point: { seq: point }, blobs: { mode: 'hash' } });
      expect(result.seq).toBe(point);
      expect(result.accounts?.object).toBe(states[0]?.object);
      const devices = (await listDevices(db.kysely)).map(({ id, revoked_at }) => ({ id, revoked_at }));
      expect(devices).toEqual([{ id: alice.deviceId, revoked_at: states[1]?.state.devices[0]?.revoked_at }]);
      const users = (await listUsers(db.kysely)).map(({ username, password_hash }) => ({ username, password_hash }));
      expect(users).toEqual([{ username: 'alice', password_hash: expect.stringMatching(/^\$argon2id\$/) }]);
    } finally {
      await db.close();
    }
  });
});
