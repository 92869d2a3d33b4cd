import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, initRepository } from '@holdfast/backup';
import { closeContext, createAppPassword, createContext, createUser, loadConfig, openDatabase } from '@holdfast/server';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Fault drills with server processes and a directory backup target: what a
 * server acknowledged survives repeated crashes and the loss of its disk, and
 * a target that goes away and comes back loses nothing.
 */

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const PASSPHRASE = 'a long backup passphrase';
/**
 * SIGKILLs in the crash drill. Each restart of a server process costs a few
 * seconds on a loaded 2-core machine, so the default keeps the drill under
 * about a minute; a longer run sets HOLDFAST_DRILL_KILLS=200.
 */
const KILLS = Number(process.env.HOLDFAST_DRILL_KILLS ?? 5);

const card = (uid: string, note = '') =>
  [
    'BEGIN:VCARD',
    'VERSION:4.0',
    `UID:${uid}`,
    `FN:Contact ${uid}`,
    ...(note ? [`NOTE:${note}`] : []),
    'END:VCARD',
    '',
  ].join('\r\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Deployment {
  base: string;
  dataDir: string;
  target: string;
  env: Record<string, string>;
  basic: string;
}

/** A data directory with user alice (and a DAV app password) beside one directory repository. */
async function deployment(settings: Record<string, string> = {}): Promise<Deployment> {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-drill-'));
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
    HOLDFAST_BACKUP_SHIP_INTERVAL_MS: '200',
    ...settings,
  };
  const ctx = await createContext(loadConfig({ flags: { data: dataDir, 'log-level': 'silent' }, env }));
  await createUser(ctx, 'alice', 'alice-password-123');
  const app = await createAppPassword(ctx, 'alice', 'phone');
  await closeContext(ctx);
  const basic = `Basic ${Buffer.from(`alice:${app.password}`).toString('base64')}`;
  return { base, dataDir, target, env, basic };
}

async function serve(d: Deployment, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess(['--data', d.dataDir], { ...d.env, ...env });
  cleanups.push(() => server.kill());
  return server;
}

async function login(url: string): Promise<string> {
  const response = await api(url, 'POST', '/v1/auth/login', {
    body: { username: 'alice', password: 'alice-password-123', deviceName: 'drill' },
  });
  expect(response.status).toBe(200);
  return response.body.token as string;
}

/** The newest revision of every item in the change feed. */
async function heads(url: string, token: string): Promise<Map<string, { revision: number; op: string }>> {
  const out = new Map<string, { revision: number; op: string }>();
  let cursor: string | undefined;
  for (;;) {
    const query = cursor ? `?limit=1000&cursor=${encodeURIComponent(cursor)}` : '?limit=1000';
    const page = await api(url, 'GET', `/v1/changes${query}`, { token });
    expect(page.status).toBe(200);
    for (const change of page.body.changes as { itemId: string | null; revision: number; op: string }[]) {
      if (change.itemId) out.set(change.itemId, { revision: change.revision, op: change.op });
    }
    cursor = page.body.cursor;
    if (!page.body.hasMore) return out;
  }
}

/** Deletes the data directory and restores it from the target; returns a server on the restored copy. */
async function loseDiskAndRestore(d: Deployment): Promise<ServerProcess> {
  await rm(d.dataDir, { recursive: true, force: true });
  const restoredDir = `${d.dataDir}-restored`;
  const restored = await runCli(['backup', 'restore', '--target', '1', '--to-data', restoredDir, '--data', d.dataDir], {
    env: d.env,
  });
  expect(restored.code, restored.stderr).toBe(0);
  const revived = await startServerProcess(['--data', restoredDir], { ...d.env, HOLDFAST_BACKUP_TARGETS: '' });
  cleanups.push(() => revived.kill());
  return revived;
}

/** Pushes one new contact; returns the answer. */
async function pushContact(url: string, token: string, itemId: string, clientChangeId = `cc-${itemId}`) {
  return api(url, 'POST', '/v1/push', {
    token,
    body: {
      changes: [{ clientChangeId, collectionId: 'book', itemId, op: 'put', baseRevision: null, content: card(itemId) }],
    },
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

async function ledgerKinds(dataDir: string): Promise<string[]> {
  const db = openDatabase(join(dataDir, 'holdfast.db'));
  try {
    return (await db.kysely.selectFrom('ledger_entries').select('kind').execute()).map((e) => e.kind);
  } finally {
    await db.close();
  }
}

/** What the client was told about one item: its last acknowledged revision, or uncertain after a cut-off request. */
interface Known {
  revision: number;
  op: 'put' | 'delete';
  /** A request about it got no answer: the server may hold a later revision than the last acknowledged one. */
  uncertain: boolean;
}

describe('fault drills with a directory backup target', () => {
  it(
    `${KILLS} SIGKILLs under mixed load, then the data directory is lost: the target holds every acknowledged write`,
    async () => {
      // The remove lane deletes steadily for the whole drill, more than the mass-change guard lets one device delete
      // unconfirmed in a minute once pushes are fast; this drill is about durability, and the guard has its own tests.
      const d = await deployment({ HOLDFAST_MASS_DELETE_MAX_ITEMS: '1000000' });
      let server = await serve(d);
      const token = await login(server.url);
      const book = await api(server.url, 'POST', '/v1/collections', {
        token,
        body: { id: 'book', type: 'contacts', name: 'Contacts' },
      });
      expect(book.status).toBe(201);

      const known = new Map<string, Known>();
      const davPaths: string[] = [];
      const durabilities = new Set<string>();
      let next = 0;
      let stop = false;
      let answered = 0;

      /** Pushes `changes`; records each acknowledged result, or marks every item uncertain when no answer came. */
      const push = async (changes: { itemId: string; op: 'put' | 'delete'; baseRevision: number | null }[]) => {
        const body = {
          changes: changes.map((c) => ({
            clientChangeId: `cc-${c.itemId}-${next++}`,
            collectionId: 'book',
            itemId: c.itemId,
            op: c.op,
            baseRevision: c.baseRevision,
            ...(c.op === 'put' ? { content: card(c.itemId, String(next)) } : {}),
          })),
        };
        // biome-ignore lint/suspicious/noExplicitAny: the response body is asserted field by field.
        let response: { status: number; body: any };
        try {
          response = await api(server.url, 'POST', '/v1/push', { token, body });
        } catch {
          for (const c of changes) {
            const was = known.get(c.itemId);
            known.set(c.itemId, { revision: was?.revision ?? 0, op: was?.op ?? 'put', uncertain: true });
          }
          return false;
        }
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        durabilities.add(response.body.durability);
        answered += 1;
        for (const [i, result] of (response.body.results as { status: string; revision: number }[]).entries()) {
          const change = changes[i] as (typeof changes)[number];
          expect(result.status, JSON.stringify(result)).toBe('applied');
          known.set(change.itemId, { revision: result.revision, op: change.op, uncertain: false });
        }
        return true;
      };
      /** Live items this lane may touch: settled ones, split between the lanes by parity so no two race. */
      const settled = (parity: number, count: number) =>
        [...known]
          .filter(([id, k]) => !k.uncertain && k.op === 'put' && Number(id.split('-')[1]) % 2 === parity)
          .slice(-count);

      const lanes = {
        create: async () => {
          while (!stop) {
            const ids = Array.from({ length: 10 }, () => `c-${next++}`);
            if (!(await push(ids.map((itemId) => ({ itemId, op: 'put', baseRevision: null }))))) return;
          }
        },
        update: async () => {
          while (!stop) {
            const picked = settled(0, 5);
            if (picked.length === 0) await sleep(20);
            else if (!(await push(picked.map(([itemId, k]) => ({ itemId, op: 'put', baseRevision: k.revision })))))
              return;
          }
        },
        remove: async () => {
          while (!stop) {
            const picked = settled(1, 2);
            if (picked.length === 0) await sleep(20);
            else if (!(await push(picked.map(([itemId, k]) => ({ itemId, op: 'delete', baseRevision: k.revision })))))
              return;
          }
        },
        dav: async () => {
          while (!stop) {
            const path = `/dav/addressbooks/alice/book/dav-${next++}.vcf`;
            let response: Response;
            try {
              response = await fetch(`${server.url}${path}`, {
                method: 'PUT',
                headers: { authorization: d.basic, 'content-type': 'text/vcard; charset=utf-8' },
                body: card(path),
              });
              await response.arrayBuffer();
            } catch {
              return;
            }
            expect(response.status).toBe(201);
            durabilities.add(response.headers.get('holdfast-durability') ?? 'none');
            davPaths.push(path);
            answered += 1;
          }
        },
      };

      for (let kill = 0; kill < KILLS; kill++) {
        stop = false;
        const running = Object.values(lanes).map((lane) => lane());
        // Under load: once this server has answered a few writes, at a random moment after.
        const since = answered;
        for (let waited = 0; answered < since + 4 && waited < 30_000; waited += 20) await sleep(20);
        await sleep(Math.random() * 400);
        await server.kill();
        stop = true;
        await Promise.all(running);
        server = await serve(d);
      }
      await server.kill();
      const acknowledged = [...known.values()].filter((k) => !k.uncertain).length;
      expect(answered).toBeGreaterThanOrEqual(KILLS * 4);
      expect(acknowledged).toBeGreaterThan(KILLS);
      expect(davPaths.length).toBeGreaterThan(0);
      // backupAck=target: every answer above waited for the target, none fell back to local.
      expect([...durabilities]).toEqual(['target']);

      const revived = await loseDiskAndRestore(d);
      const restored = await heads(revived.url, token);
      const wrong: string[] = [];
      for (const [itemId, k] of known) {
        const head = restored.get(itemId);
        if (k.uncertain) {
          // A write cut off mid-request may or may not have landed, but nothing acknowledged before it is missing.
          if (k.revision > 0 && (!head || head.revision < k.revision)) wrong.push(`${itemId}: ${JSON.stringify(head)}`);
        } else if (head?.revision !== k.revision || head.op !== k.op) {
          wrong.push(`${itemId}: acknowledged ${k.op}@${k.revision}, restored ${JSON.stringify(head)}`);
        }
      }
      expect(wrong).toEqual([]);
      const missing: string[] = [];
      for (const path of davPaths) {
        const response = await fetch(`${revived.url}${path}`, { headers: { authorization: d.basic } });
        await response.arrayBuffer();
        if (response.status !== 200) missing.push(path);
      }
      expect(missing).toEqual([]);
      await revived.stop();
    },
    60_000 + KILLS * 6_000,
  );
  it('a target that goes away and comes back: writes are acknowledged local after the timeout, nothing is lost', async () => {
    const d = await deployment({ HOLDFAST_BACKUP_ACK_TIMEOUT_MS: '1500' });
    const server = await serve(d);
    const token = await login(server.url);
    expect(
      (await api(server.url, 'POST', '/v1/collections', { token, body: { id: 'book', type: 'contacts', name: 'C' } }))
        .status,
    ).toBe(201);
    const written: string[] = [];
    const write = async (itemId: string) => {
      const response = await pushContact(server.url, token, itemId);
      expect(response.status).toBe(200);
      expect(response.body.results[0].status).toBe('applied');
      written.push(itemId);
      return response.body.durability as string;
    };
    expect(await write('before')).toBe('target');

    // The backup disk disappears (unmounted, pulled): the directory is gone, and a server never creates it.
    await rename(d.target, `${d.target}.away`);
    for (let i = 0; i < 3; i++) expect(await write(`during-${i}`)).toBe('local');
    expect(await metric(server.url, 'holdfast_backup_ack_degraded')).toBe(1);

    await rename(`${d.target}.away`, d.target);
    let durability = 'local';
    for (let i = 0, deadline = Date.now() + 60_000; durability !== 'target' && Date.now() < deadline; i++) {
      durability = await write(`after-${i}`);
      if (durability !== 'target') await sleep(200);
    }
    expect(durability).toBe('target');
    expect(await metric(server.url, 'holdfast_backup_ack_degraded')).toBe(0);
    await server.kill();
    const kinds = await ledgerKinds(d.dataDir);
    expect(kinds.filter((k) => k === 'backup_ack_degraded')).toHaveLength(1);
    expect(kinds).toContain('backup_failed');

    // Everything, including what was acknowledged local during the outage, reached the target once it was back.
    const revived = await loseDiskAndRestore(d);
    const restored = await heads(revived.url, token);
    expect(written.filter((id) => !restored.has(id))).toEqual([]);
    await revived.stop();
  }, 120_000);

  it('with backupAckOnTimeout=refuse a write is answered 503 while the target is away, and its retry is applied once', async () => {
    const d = await deployment({ HOLDFAST_BACKUP_ACK_TIMEOUT_MS: '1500', HOLDFAST_BACKUP_ACK_ON_TIMEOUT: 'refuse' });
    const server = await serve(d);
    const token = await login(server.url);
    expect(
      (await api(server.url, 'POST', '/v1/collections', { token, body: { id: 'book', type: 'contacts', name: 'C' } }))
        .status,
    ).toBe(201);
    expect((await pushContact(server.url, token, 'before')).body.durability).toBe('target');

    await rename(d.target, `${d.target}.away`);
    const refused = await pushContact(server.url, token, 'during', 'retry-me');
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('backup_unavailable');

    await rename(`${d.target}.away`, d.target);
    let retried = refused;
    for (const deadline = Date.now() + 60_000; retried.status !== 200 && Date.now() < deadline; ) {
      await sleep(200);
      retried = await pushContact(server.url, token, 'during', 'retry-me');
    }
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ durability: 'target', results: [{ status: 'applied' }] });
    const puts: number[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await api(server.url, 'GET', `/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
        token,
      });
      for (const c of page.body.changes) if (c.itemId === 'during') puts.push(c.revision);
      cursor = page.body.cursor;
      if (!page.body.hasMore) break;
    }
    expect(puts).toEqual([retried.body.results[0].revision]);
    await server.stop();
  }, 120_000);
});
