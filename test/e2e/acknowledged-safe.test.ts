import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, initRepository } from '@holdfast/backup';
import { closeContext, createAppPassword, createContext, createUser, loadConfig } from '@holdfast/server';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const PASSPHRASE = 'a long backup passphrase';
const CONTACTS = 2000;
const DAV_PUTS = 40;

function vcard(uid: string): string {
  return ['BEGIN:VCARD', 'VERSION:4.0', `UID:${uid}`, `FN:Contact ${uid}`, 'END:VCARD', ''].join('\r\n');
}

type Engine = 'sqlite' | 'postgres';

/** A database for `engine`: its flags, and how to destroy it (a SQLite file goes with the data directory). */
async function database(engine: Engine): Promise<{ args: string[]; destroy: () => Promise<void> }> {
  if (engine === 'sqlite') return { args: [], destroy: async () => {} };
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  return { args: ['--database', db.url], destroy: db.drop };
}

/** One directory repository and a database with user alice and a DAV app password. */
async function setup(engine: Engine) {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-ack-'));
  cleanups.push(() => rm(base, { recursive: true, force: true }));
  const dataDir = join(base, 'data');
  const target = join(base, 'target');
  await mkdir(target);
  const dir = new DirectoryTarget(target);
  await initRepository(dir, { passphrase: PASSPHRASE }, { kdf: { N: 1024 } });
  await dir.close();
  const env = {
    HOLDFAST_BACKUP_TARGETS: target,
    HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
    HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
  };
  const db = await database(engine);
  const flags: Record<string, string> = { data: dataDir };
  if (db.args[1]) flags.database = db.args[1];
  const ctx = await createContext(loadConfig({ flags, env }));
  await createUser(ctx, 'alice', 'alice-password-123');
  const app = await createAppPassword(ctx, 'alice', 'phone');
  await closeContext(ctx);
  const basic = `Basic ${Buffer.from(`alice:${app.password}`).toString('base64')}`;
  return { dataDir, env, basic, args: ['--data', dataDir, ...db.args], destroy: db.destroy };
}

async function davPut(url: string, basic: string, path: string, body: string) {
  const response = await fetch(`${url}${path}`, {
    method: 'PUT',
    headers: { authorization: basic, 'content-type': 'text/vcard; charset=utf-8' },
    body,
  });
  await response.arrayBuffer();
  return response;
}

async function allItemIds(url: string, token: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const query = cursor ? `?limit=1000&cursor=${encodeURIComponent(cursor)}` : '?limit=1000';
    const page = await api(url, 'GET', `/v1/changes${query}`, { token });
    expect(page.status).toBe(200);
    for (const change of page.body.changes as { itemId?: string; deleted?: boolean }[]) {
      if (change.itemId) ids.add(change.itemId);
    }
    cursor = page.body.cursor;
    if (!page.body.hasMore) return ids;
  }
}

describe.each(['sqlite', 'postgres'] as const)('acknowledged means safe on %s', (engine) => {
  it('brings back every acknowledged write when the server is killed at once and its data deleted', async () => {
    const { dataDir, env, basic, args, destroy } = await setup(engine);
    const server = await startServerProcess(args, env);
    cleanups.push(() => server.kill());
    const login = await api(server.url, 'POST', '/v1/auth/login', {
      body: { username: 'alice', password: 'alice-password-123', deviceName: 'script' },
    });
    const token = login.body.token as string;
    const book = await api(server.url, 'POST', '/v1/collections', {
      token,
      body: { id: 'book', type: 'contacts', name: 'Contacts' },
    });
    expect(book.status).toBe(201);

    const acknowledged: string[] = [];
    const pushes = Array.from({ length: CONTACTS / 100 }, async (_, batch) => {
      const changes = Array.from({ length: 100 }, (_, i) => ({
        clientChangeId: `c-${batch}-${i}`,
        collectionId: 'book',
        itemId: `contact-${batch}-${i}`,
        op: 'put',
        baseRevision: null,
        content: vcard(`contact-${batch}-${i}`),
      }));
      const response = await api(server.url, 'POST', '/v1/push', { token, body: { changes } });
      expect(response.status).toBe(200);
      expect(response.body.durability).toBe('target');
      for (const result of response.body.results) {
        expect(result.status).toBe('applied');
        acknowledged.push(result.clientChangeId.replace(/^c-/, 'contact-'));
      }
    });
    // One PUT first, so the app password is verified once and the rest use the credential cache.
    const put = async (i: number) => {
      const response = await davPut(server.url, basic, `/dav/addressbooks/alice/book/dav-${i}.vcf`, vcard(`dav-${i}`));
      expect(response.status).toBe(201);
      expect(response.headers.get('holdfast-durability')).toBe('target');
      return `/dav/addressbooks/alice/book/dav-${i}.vcf`;
    };
    const first = await put(0);
    const puts = Array.from({ length: DAV_PUTS - 1 }, (_, i) => put(i + 1));
    const [, others] = await Promise.all([Promise.all(pushes), Promise.all(puts)]);
    const davPaths = [first, ...others];
    // SIGKILL the moment the last acknowledgement arrived: nothing flushes on the way out.
    await server.kill();
    await rm(dataDir, { recursive: true, force: true });
    await destroy();
    expect(acknowledged).toHaveLength(CONTACTS);

    const restoredDir = `${dataDir}-restored`;
    const into = await database(engine);
    const toDatabase = into.args[1] ? ['--to-database', into.args[1]] : [];
    const restored = await runCli(
      ['backup', 'restore', '--target', '1', '--to-data', restoredDir, ...toDatabase, '--data', dataDir],
      { env },
    );
    expect(restored.code, restored.stderr).toBe(0);

    const revived = await startServerProcess(['--data', restoredDir, ...into.args], {
      ...env,
      HOLDFAST_BACKUP_TARGETS: '',
    });
    cleanups.push(() => revived.kill());
    const ids = await allItemIds(revived.url, token);
    expect(acknowledged.filter((id) => !ids.has(id))).toEqual([]);
    const missing: string[] = [];
    for (const path of davPaths) {
      const response = await fetch(`${revived.url}${path}`, { headers: { authorization: basic } });
      await response.arrayBuffer();
      if (response.status !== 200) missing.push(path);
    }
    expect(missing).toEqual([]);
    await revived.stop();
  }, 180_000);
});
