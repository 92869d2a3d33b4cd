import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryTarget, initRepository, openRepository } from '@holdfast/backup';
import {
  buildApp,
  checkSqliteIntegrity,
  closeContext,
  createContext,
  createUser,
  loadConfig,
  openDatabase,
  restoreToNewDeployment,
  startBackupService,
} from '@holdfast/server';
import { api, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Fault drills on the machine under the server: its data disk fills up, its
 * clock is stepped backwards.
 */

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const PASSPHRASE = 'a long backup passphrase';
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

async function login(url: string): Promise<string> {
  const response = await api(url, 'POST', '/v1/auth/login', {
    body: { username: 'alice', password: 'alice-password-123', deviceName: 'drill' },
  });
  expect(response.status).toBe(200);
  return response.body.token as string;
}

interface FeedChange {
  itemId: string | null;
  revision: number;
  op: string;
  at: string;
}

/** Every change after `cursor`, in the order the feed gives them, and the cursor after the last. */
async function feed(url: string, token: string, after?: string): Promise<{ changes: FeedChange[]; cursor: string }> {
  const changes: FeedChange[] = [];
  let cursor = after;
  for (;;) {
    const query = cursor ? `?limit=1000&cursor=${encodeURIComponent(cursor)}` : '?limit=1000';
    const page = await api(url, 'GET', `/v1/changes${query}`, { token });
    expect(page.status).toBe(200);
    changes.push(...page.body.changes);
    cursor = page.body.cursor as string;
    if (!page.body.hasMore) return { changes, cursor };
  }
}

/** The newest revision of every item in the change feed. */
async function heads(url: string, token: string): Promise<Map<string, { revision: number; op: string }>> {
  const out = new Map<string, { revision: number; op: string }>();
  for (const change of (await feed(url, token)).changes) {
    if (change.itemId) out.set(change.itemId, { revision: change.revision, op: change.op });
  }
  return out;
}

async function pushContact(url: string, token: string, itemId: string, baseRevision: number | null = null) {
  return api(url, 'POST', '/v1/push', {
    token,
    body: {
      changes: [
        {
          clientChangeId: `cc-${itemId}-${Math.random()}`,
          collectionId: 'book',
          itemId,
          op: 'put',
          baseRevision,
          content: card(itemId, String(Math.random())),
        },
      ],
    },
  });
}

/** Whether this process may mount a small tmpfs (root on Linux): the disk-full drill needs one. */
function canMount(): boolean {
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

// Filling a disk needs a small file system of its own (tmpfs, mounted as root). CI runs as root, so there it always
// runs: with CI set and no mount, the test runs and fails instead of passing by being left out.
const diskDrillRuns = canMount() || process.env.CI === 'true';
if (!diskDrillRuns) console.log('the full-disk drill needs root to mount a tmpfs; it runs in CI');

describe('the data disk fills up', () => {
  it.runIf(diskDrillRuns)(
    'a full data disk: writes fail with a clear error, nothing acknowledged is lost or corrupt, and writes resume when space returns',
    async () => {
      const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-full-'));
      const dataDir = join(base, 'data');
      await mkdir(dataDir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', dataDir]);
      cleanups.push(async () => {
        execFileSync('umount', ['-l', dataDir]);
        await rm(base, { recursive: true, force: true });
      });
      const ctx = await createContext(loadConfig({ flags: { data: dataDir, 'log-level': 'silent' }, env: {} }));
      await createUser(ctx, 'alice', 'alice-password-123');
      await closeContext(ctx);
      const server = await startServerProcess(['--data', dataDir]);
      cleanups.push(() => server.kill());
      const token = await login(server.url);
      expect(
        (await api(server.url, 'POST', '/v1/collections', { token, body: { id: 'book', type: 'contacts', name: 'C' } }))
          .status,
      ).toBe(201);

      const acknowledged: string[] = [];
      let failure: { status: number; body: { code?: string; detail?: string; details?: unknown } } | null = null;
      for (let batch = 0; batch < 200 && !failure; batch++) {
        const changes = Array.from({ length: 10 }, (_, i) => {
          const itemId = `big-${batch}-${i}`;
          return {
            clientChangeId: `cc-${itemId}`,
            collectionId: 'book',
            itemId,
            op: 'put',
            baseRevision: null,
            content: card(itemId, 'x'.repeat(20_000)),
          };
        });
        const response = await api(server.url, 'POST', '/v1/push', { token, body: { changes } });
        if (response.status === 200) acknowledged.push(...changes.map((c) => c.itemId));
        else failure = response;
      }
      expect(failure, 'the disk never filled').not.toBeNull();
      expect(failure?.body).toMatchObject({ code: 'unavailable', details: { reason: 'disk_full' } });
      expect(failure?.status).toBe(503);
      expect(failure?.body.detail).toMatch(/disk is full/);
      // Reads go on, and the server is still up.
      const full = await heads(server.url, token);
      expect(acknowledged.filter((id) => !full.has(id))).toEqual([]);

      execFileSync('mount', ['-o', 'remount,size=64m', dataDir]);
      const resumed = await pushContact(server.url, token, 'after-space');
      expect(resumed.status).toBe(200);
      await server.stop();

      const db = openDatabase(join(dataDir, 'holdfast.db'));
      try {
        expect(await checkSqliteIntegrity(db)).toEqual({ integrity: ['ok'], foreignKeyViolations: 0 });
      } finally {
        await db.close();
      }
      const again = await startServerProcess(['--data', dataDir]);
      cleanups.push(() => again.kill());
      const after = await heads(again.url, token);
      expect([...acknowledged, 'after-space'].filter((id) => !after.has(id))).toEqual([]);
      await again.stop();
    },
    120_000,
  );
});

describe('the clock is stepped backwards', () => {
  it('keeps the order of the log, old cursors, conflict checks and the backup right', async () => {
    const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-clock-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const target = join(base, 'target');
    await mkdir(target);
    const dir = new DirectoryTarget(target);
    await initRepository(dir, { passphrase: PASSPHRASE }, { kdf: { N: 1024 } });
    await dir.close();
    const config = loadConfig({
      flags: { data: join(base, 'data'), 'log-level': 'silent' },
      env: {
        HOLDFAST_BACKUP_TARGETS: target,
        HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
        HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
        HOLDFAST_BACKUP_ACK: 'local',
      },
    });
    const ctx = await createContext(config);
    // The server's one clock: every timestamp it writes comes from here.
    let offset = 0;
    ctx.now = () => Date.now() + offset;
    await createUser(ctx, 'alice', 'alice-password-123');
    const app = await buildApp(ctx);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    cleanups.push(async () => {
      await app.close();
      await closeContext(ctx);
    });
    const token = await login(url);
    expect(
      (await api(url, 'POST', '/v1/collections', { token, body: { id: 'book', type: 'contacts', name: 'C' } })).status,
    ).toBe(201);

    const revisionOf = async (response: Awaited<ReturnType<typeof pushContact>>) => {
      expect(response.status).toBe(200);
      expect(response.body.results[0].status).toBe('applied');
      return response.body.results[0].revision as number;
    };
    const before = new Map<string, number>();
    for (const id of ['a0', 'a1', 'a2']) before.set(id, await revisionOf(await pushContact(url, token, id)));
    const { cursor, changes: early } = await feed(url, token);
    const lastEarly = early.at(-1) as FeedChange;

    // NTP steps the clock back two hours.
    offset = -2 * 3600_000;
    const updated = await revisionOf(await pushContact(url, token, 'a0', before.get('a0') as number));
    const created = await revisionOf(await pushContact(url, token, 'b0'));
    // A stale base is still a conflict, whatever the timestamps say.
    const stale = await pushContact(url, token, 'a0', before.get('a0') as number);
    expect(stale.body.results[0]).toMatchObject({ status: 'conflict', head: { revision: updated } });
    // ...and a day further back.
    offset = -26 * 3600_000;
    const deleted = await api(url, 'POST', '/v1/push', {
      token,
      body: {
        changes: [
          {
            clientChangeId: 'del-a1',
            collectionId: 'book',
            itemId: 'a1',
            op: 'delete',
            baseRevision: before.get('a1'),
          },
        ],
      },
    });
    expect(deleted.body.results[0].status).toBe('applied');
    offset = 0;
    const later = await revisionOf(await pushContact(url, token, 'c0'));

    // The old cursor sees exactly the later changes, in log order, though their times run backwards.
    const after = await feed(url, token, cursor);
    expect(after.changes.map((c) => [c.itemId, c.op])).toEqual([
      ['a0', 'put'],
      ['b0', 'put'],
      ['a1', 'delete'],
      ['c0', 'put'],
    ]);
    const revisions = after.changes.map((c) => c.revision);
    expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
    expect(revisions[0]).toBe(lastEarly.revision + 1);
    expect(Date.parse(after.changes[0]?.at as string)).toBeLessThan(Date.parse(lastEarly.at));
    expect(Date.parse(after.changes[2]?.at as string)).toBeLessThan(Date.parse(after.changes[1]?.at as string));
    // Nothing new after the last cursor, and a cursor handed out while the clock was behind still works.
    expect((await feed(url, token, after.cursor)).changes).toEqual([]);

    // The backup taken after the jumps restores the same heads (ordering by revision, never by time).
    const service = startBackupService(
      { config: ctx.config, db: ctx.db, blobs: ctx.blobs, log: ctx.log, now: () => ctx.now() },
      { timers: false },
    );
    await service.runOnce();
    await service.stop();
    const live = await heads(url, token);
    expect(live.get('a0')).toEqual({ revision: updated, op: 'put' });
    expect(live.get('b0')).toEqual({ revision: created, op: 'put' });
    expect(live.get('c0')).toEqual({ revision: later, op: 'put' });
    expect(live.get('a1')?.op).toBe('delete');
    const restoredDir = join(base, 'restored');
    const repoTarget = new DirectoryTarget(target);
    try {
      const repo = await openRepository(repoTarget, { passphrase: PASSPHRASE });
      const result = await restoreToNewDeployment(repo, { dataDir: restoredDir });
      expect(result.seq).toBe(later);
    } finally {
      await repoTarget.close();
    }
    const revived = await startServerProcess(['--data', restoredDir]);
    cleanups.push(() => revived.kill());
    // A snapshot holds live entities only (a restore starts a new generation; tombstones are not carried).
    const livePuts = new Map([...live].filter(([, head]) => head.op === 'put'));
    expect(await heads(revived.url, token)).toEqual(livePuts);
    await revived.stop();
  }, 120_000);
});
