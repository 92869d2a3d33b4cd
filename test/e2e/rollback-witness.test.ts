import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DirectoryTarget,
  initRepository,
  listJournalSegments,
  openRepository,
  readJournalSegment,
} from '@holdfast/backup';
import { closeContext, createContext, createUser, loadConfig, openDatabase } from '@holdfast/server';
import { api, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const PASSPHRASE = 'a long backup passphrase';

interface Deployment {
  base: string;
  dataDir: string;
  target: string | null;
  env: Record<string, string>;
}

async function deployment(withTarget: boolean): Promise<Deployment> {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-rollback-'));
  cleanups.push(() => rm(base, { recursive: true, force: true }));
  const dataDir = join(base, 'data');
  let target: string | null = null;
  let env: Record<string, string> = {};
  if (withTarget) {
    target = join(base, 'target');
    await mkdir(target);
    const dir = new DirectoryTarget(target);
    await initRepository(dir, { passphrase: PASSPHRASE }, { kdf: { N: 1024 } });
    await dir.close();
    env = {
      HOLDFAST_BACKUP_TARGETS: target,
      HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
      HOLDFAST_BACKUP_SHIP_INTERVAL_MS: '100',
      HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
    };
  }
  const ctx = await createContext(loadConfig({ flags: { data: dataDir, 'log-level': 'silent' }, env }));
  await createUser(ctx, 'alice', 'alice-password-123');
  await closeContext(ctx);
  return { base, dataDir, target, env };
}

const serve = (d: Deployment, extra: string[] = []) => startServerProcess(['--data', d.dataDir, ...extra], d.env);

async function login(url: string) {
  const response = await api(url, 'POST', '/v1/auth/login', {
    body: { username: 'alice', password: 'alice-password-123', deviceName: 'phone' },
  });
  return response.body.token as string;
}

/** Pushes one note per revision until the log head is `upto`; returns the head. */
async function writeUntil(url: string, token: string, upto: number, label: string): Promise<number> {
  let head = (await api(url, 'GET', '/v1/me', { token })).body.head as number;
  let collectionId = (await api(url, 'GET', '/v1/collections', { token })).body.collections[0]?.id as
    | string
    | undefined;
  while (head < upto) {
    if (!collectionId) {
      collectionId = (await api(url, 'POST', '/v1/collections', { token, body: { type: 'notes', name: 'n' } })).body
        .id as string;
    } else {
      const itemId = `${label}-${head + 1}`;
      const response = await api(url, 'POST', '/v1/push', {
        token,
        body: {
          changes: [
            {
              clientChangeId: `cc-${itemId}`,
              collectionId,
              itemId,
              op: 'put',
              baseRevision: null,
              content: { title: itemId, body: label },
            },
          ],
        },
      });
      expect(response.status).toBe(200);
    }
    head = (await api(url, 'GET', '/v1/me', { token })).body.head as number;
  }
  expect(head).toBe(upto);
  return head;
}

/** The raw cursor the server hands out for `seq`, read from the change feed after an older position. */
async function cursorAt(url: string, token: string, seq: number): Promise<string> {
  let cursor: string | undefined;
  for (;;) {
    const page = await api(url, 'GET', `/v1/changes?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token });
    expect(page.status).toBe(200);
    cursor = page.body.cursor as string;
    const last = page.body.changes.at(-1);
    if (last && last.revision === seq) return cursor;
    if (!page.body.hasMore) throw new Error(`no revision ${seq} in the feed`);
  }
}

async function journalHead(target: string): Promise<number> {
  const dir = new DirectoryTarget(target);
  try {
    const repo = await openRepository(dir, { passphrase: PASSPHRASE });
    let head = 0;
    for (const name of await listJournalSegments(repo))
      head = Math.max(head, (await readJournalSegment(repo, name)).toSeq);
    return head;
  } finally {
    await dir.close();
  }
}

/** Waits until the target's journal reaches `seq` (shipping runs beside the server, on a busy machine slowly). */
async function shipped(target: string, seq: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  while ((await journalHead(target)) < seq) {
    if (Date.now() > deadline) throw new Error(`the target's journal did not reach ${seq}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function restoreCopy(d: Deployment, copy: string): Promise<void> {
  await rm(d.dataDir, { recursive: true, force: true });
  await cp(copy, d.dataDir, { recursive: true });
}

async function ledgerKinds(dataDir: string) {
  const db = openDatabase(join(dataDir, 'holdfast.db'));
  try {
    return await db.kysely.selectFrom('ledger_entries').select(['kind', 'details']).execute();
  } finally {
    await db.close();
  }
}

describe('a whole data directory rolled back to an older copy', () => {
  let running: ServerProcess | null = null;
  afterAll(async () => running?.stop());

  it('is rolled forward from the backup target that holds the later revisions of the same history: same lineage, nothing skipped', async () => {
    const d = await deployment(true);
    running = await serve(d);
    const token = await login(running.url);
    await writeUntil(running.url, token, 10, 'before');
    const cursor10 = await cursorAt(running.url, token, 10);
    await running.stop();
    const copy = join(d.base, 'copy');
    await cp(d.dataDir, copy, { recursive: true });

    running = await serve(d);
    const generation = (await api(running.url, 'GET', '/v1/me', { token })).body.generation as string;
    await writeUntil(running.url, token, 17, 'shipped');
    const cursor12 = await cursorAt(running.url, token, 12);
    // backupAck=target (the default): each push above was answered once its revision was on the target.
    expect(await journalHead(d.target as string)).toBe(17);
    // SIGKILL: nothing is flushed or shipped on the way down.
    await running.kill();

    await restoreCopy(d, copy);
    running = await serve(d);
    const me = (await api(running.url, 'GET', '/v1/me', { token })).body;
    expect(me).toMatchObject({ head: 17, generation });
    const after10 = await api(running.url, 'GET', `/v1/changes?cursor=${cursor10}&limit=100`, { token });
    expect(after10.status).toBe(200);
    expect(after10.body.changes.map((c: { revision: number }) => c.revision)).toEqual([11, 12, 13, 14, 15, 16, 17]);
    const after12 = await api(running.url, 'GET', `/v1/changes?cursor=${cursor12}&limit=100`, { token });
    expect(after12.status).toBe(200);
    expect(after12.body.changes.map((c: { revision: number }) => c.revision)).toEqual([13, 14, 15, 16, 17]);
    await running.stop();
    running = null;

    const entries = await ledgerKinds(d.dataDir);
    expect(entries.map((e) => e.kind)).not.toContain('rollback_detected');
    const forward = entries.find((e) => e.kind === 'rolled_forward');
    expect(JSON.parse(forward?.details as string)).toMatchObject({ head: 10, from: 11, to: 17 });
  }, 240_000);

  it('is caught without any backup target when the log was written again: the old cursor gets 409 cursor_diverged', async () => {
    const d = await deployment(false);
    running = await serve(d);
    const token = await login(running.url);
    await writeUntil(running.url, token, 10, 'before');
    await running.stop();
    const copy = join(d.base, 'copy');
    await cp(d.dataDir, copy, { recursive: true });

    running = await serve(d);
    await writeUntil(running.url, token, 17, 'lost');
    const cursor12 = await cursorAt(running.url, token, 12);
    await running.stop();

    await restoreCopy(d, copy);
    running = await serve(d);
    await writeUntil(running.url, token, 17, 'other');
    const refused = await api(running.url, 'GET', `/v1/changes?cursor=${cursor12}`, { token });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'cursor_diverged', details: { cursorSeq: 12, head: 17 } });
    await running.stop();
    running = null;
  }, 240_000);
});

describe('an empty data directory beside a backup target that holds data', () => {
  it('refuses to serve and names the restore command; --new-deployment starts empty on purpose', async () => {
    const d = await deployment(true);
    const first = await serve(d);
    const token = await login(first.url);
    await writeUntil(first.url, token, 3, 'kept');
    await shipped(d.target as string, 1);
    await first.stop();

    const empty = { ...d, dataDir: join(d.base, 'empty') };
    const refused = await serve(empty).then(
      async (server) => {
        await server.stop();
        return '';
      },
      (error: Error) => error.message,
    );
    expect(refused).toMatch(/server exited with [1-9]/);
    expect(refused).toContain(`holdfast backup restore --target 1 --to-data ${empty.dataDir}`);

    const started = await serve(empty, ['--new-deployment']);
    expect((await api(started.url, 'GET', '/healthz')).status).toBeLessThan(500);
    await started.stop();
  }, 240_000);
});
