import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type HoldfastClient, openSqliteStore } from '@holdfast/client';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';

const card = (id: string, name: string, tels: string[]) =>
  [
    'BEGIN:VCARD',
    'VERSION:3.0',
    `UID:${id}`,
    `FN:${name}`,
    `N:${name};;;;`,
    ...tels.map((t) => `TEL;TYPE=CELL:${t}`),
    `EMAIL:${id}@example.com`,
    'END:VCARD',
    '',
  ].join('\r\n');
const tels = (content: unknown) =>
  [...String(content).matchAll(/^TEL[^:]*:(.*)$/gm)].map((m) => (m[1] ?? '').trim()).sort();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * The 2009 failure, replayed: devices sync; the server's database is replaced
 * by an older copy of itself (or by an empty one) and restarted. Devices must
 * keep every local item, notice, and re-seed the server, so that afterwards
 * the server holds every change made after the old copy and no device lost
 * anything.
 */
describe.each(['sqlite', 'postgres'] as const)('the Sidekick scenario on %s', (engine) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  async function setup() {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-sidekick-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const dataDir = join(dir, 'server');
    const port = String(await freePort());
    const db = engine === 'postgres' ? await createTestDatabase() : undefined;
    if (db) cleanups.push(db.drop);
    const args = (database = db?.url) => [
      '--data',
      dataDir,
      '--port',
      port,
      ...(database ? ['--database', database] : []),
    ];
    expect((await runCli(['user', 'add', 'sam', ...args()], { stdin: 'sam-password\n' })).code).toBe(0);
    let server: ServerProcess = await startServerProcess(args());
    cleanups.push(() => server.stop());
    const devices: HoldfastClient[] = [];
    for (const name of ['phone', 'laptop', 'tablet']) {
      const store = openSqliteStore(join(dir, `${name}.db`));
      const client = createClient({ store, serverUrl: server.url });
      cleanups.push(async () => client.close());
      await client.login('sam', 'sam-password', name);
      devices.push(client);
    }
    const restart = async (database?: string) => {
      await server.stop();
      server = await startServerProcess(args(database));
    };
    return { dir, dataDir, db, devices, restart, server: () => server };
  }

  const syncAll = async (devices: HoldfastClient[], rounds = 2) => {
    const results = [];
    for (let round = 0; round < rounds; round++) for (const device of devices) results.push(await device.sync());
    return results;
  };

  const liveContents = (device: HoldfastClient, collectionId: string) =>
    new Map(device.listItems(collectionId).map((i) => [i.id, i.content]));

  it('rolled back to an older copy: every later change comes back from the devices', async () => {
    const { dataDir, db, devices, restart, server } = await setup();
    const [phone, laptop, tablet] = devices as [HoldfastClient, HoldfastClient, HoldfastClient];
    phone.createCollection({ id: 'contacts', type: 'contacts', name: 'Contacts' });
    for (let i = 0; i < 20; i++)
      phone.createItem('contacts', card(`c${i}`, `Person ${i}`, [`+1 555 010${i}`]), { id: `c${i}` });
    await syncAll(devices, 1);
    expect(tablet.listItems('contacts')).toHaveLength(20);

    // The "backup": an older copy of the server's database.
    let oldCopy: string | undefined;
    if (engine === 'sqlite') {
      await server().stop();
      await copyFile(join(dataDir, 'holdfast.db'), join(dataDir, 'old-copy.db'));
      await restart();
    } else {
      await server().stop();
      const admin = new pg.Client({ connectionString: inject('postgresUrl') });
      await admin.connect();
      const name = `${new URL(db!.url).pathname.slice(1)}_old`;
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${new URL(db!.url).pathname.slice(1)}`);
      await admin.end();
      const url = new URL(db!.url);
      url.pathname = `/${name}`;
      oldCopy = url.toString();
      cleanups.push(async () => {
        const c = new pg.Client({ connectionString: inject('postgresUrl') });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      });
      await restart();
    }

    // Life goes on after the copy was taken.
    for (let i = 20; i < 25; i++)
      phone.createItem('contacts', card(`c${i}`, `Person ${i}`, [`+1 555 020${i}`]), { id: `c${i}` });
    phone.createCollection({ id: 'photos', type: 'photos', name: 'Camera' });
    const photo = await phone.addBlob(
      new Uint8Array(Buffer.from('not really a jpeg, but bytes all the same')),
      'image/jpeg',
    );
    phone.createItem('photos', { filename: 'beach.jpg' }, { id: 'p1', blob: photo });
    for (const i of [1, 2, 3])
      laptop.updateItem(`c${i}`, card(`c${i}`, `Person ${i}`, [`+1 555 010${i}`, `+44 20 7946 000${i}`]));
    tablet.deleteItem('c7');
    await syncAll(devices);
    const truth = liveContents(phone, 'contacts');
    expect(truth.size).toBe(24);
    expect(truth.has('c7')).toBe(false);

    // The disaster: the database comes back as the older copy.
    if (engine === 'sqlite') {
      await server().stop();
      for (const suffix of ['', '-wal', '-shm']) await rm(join(dataDir, `holdfast.db${suffix}`), { force: true });
      await copyFile(join(dataDir, 'old-copy.db'), join(dataDir, 'holdfast.db'));
      await restart();
    } else {
      await restart(oldCopy);
    }

    const results = await syncAll(devices);
    expect(results.filter((r) => r.reseeded).length).toBeGreaterThanOrEqual(1);
    expect(results.find((r) => r.reseeded)?.reseeded?.reason).toBe('generation_changed');

    // Every device kept everything, and all three agree.
    for (const device of devices) {
      const live = liveContents(device, 'contacts');
      expect([...live.keys()].sort()).toEqual([...truth.keys()].sort());
      for (const [id, content] of truth) expect(tels(live.get(id)), id).toEqual(tels(content));
      expect(device.getItem('p1')?.blob?.sha256).toBe(photo.sha256);
    }
    // The server holds every change made after the copy: new contacts, edits, the delete and the photo.
    const token = (
      await api(server().url, 'POST', '/v1/auth/login', { body: { username: 'sam', password: 'sam-password' } })
    ).body.token;
    for (const [id, content] of truth) {
      const item = await api(server().url, 'GET', `/v1/items/${id}`, { token });
      expect(item.status, id).toBe(200);
      expect(tels(item.body.content), id).toEqual(tels(content));
    }
    expect((await api(server().url, 'GET', '/v1/items/c7', { token })).status).toBe(404);
    const blob = await fetch(`${server().url}/v1/blobs/${photo.sha256}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(blob.status).toBe(200);
    const ledger = (await api(server().url, 'GET', '/v1/ledger', { token })).body.entries.map(
      (e: { kind: string }) => e.kind,
    );
    expect(ledger).toContain('rollback_detected');
    expect(ledger).toContain('reseed');
    if (engine === 'sqlite') {
      // The admin's per-user listing shows the same incident, and what came back for that user.
      const listed = await runCli(['ledger', 'list', '--user', 'sam', '--data', dataDir]);
      expect(listed.stdout).toMatch(/\trollback_detected\tall users\t/);
      expect(listed.stdout).toMatch(/came back \(entry \d+, reseed\): Device re-uploaded/);
    }
  }, 240_000);

  it('replaced by an empty database: devices refill it once the account exists again', async () => {
    const { dataDir, devices, restart, server } = await setup();
    const [phone] = devices as [HoldfastClient];
    phone.createCollection({ id: 'contacts', type: 'contacts', name: 'Contacts' });
    for (let i = 0; i < 10; i++)
      phone.createItem('contacts', card(`e${i}`, `Person ${i}`, [`+1 555 030${i}`]), { id: `e${i}` });
    await syncAll(devices);
    const truth = liveContents(phone, 'contacts');

    await server().stop();
    let emptyUrl: string | undefined;
    if (engine === 'sqlite') {
      for (const suffix of ['', '-wal', '-shm']) await rm(join(dataDir, `holdfast.db${suffix}`), { force: true });
    } else {
      const fresh = await createTestDatabase();
      cleanups.push(fresh.drop);
      emptyUrl = fresh.url;
    }
    const args = ['--data', dataDir, ...(emptyUrl ? ['--database', emptyUrl] : [])];
    expect((await runCli(['user', 'add', 'sam', ...args], { stdin: 'sam-password\n' })).code).toBe(0);
    await restart(emptyUrl);

    for (const device of devices) {
      // Old tokens died with the database: an auth error, never "zero items".
      await expect(device.sync()).rejects.toMatchObject({ code: 'unauthorized' });
      expect(device.listItems('contacts')).toHaveLength(10);
      await device.login('sam', 'sam-password', 'again');
    }
    await syncAll(devices);
    const token = (
      await api(server().url, 'POST', '/v1/auth/login', { body: { username: 'sam', password: 'sam-password' } })
    ).body.token;
    for (const [id, content] of truth) {
      const item = await api(server().url, 'GET', `/v1/items/${id}`, { token });
      expect(item.status, id).toBe(200);
      expect(tels(item.body.content)).toEqual(tels(content));
    }
    for (const device of devices) expect(liveContents(device, 'contacts').size).toBe(10);
  }, 240_000);
});
