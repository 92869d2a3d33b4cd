import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { checkRepository, DirectoryTarget, initRepository, openRepository } from '@holdfast/backup';
import {
  backupNow,
  backupTargetLocations,
  type Config,
  closeContext,
  createContext,
  createUser,
  databaseLocation,
  loadConfig,
  openDatabase,
  pruneTargets,
  readBackupStatus,
  readHead,
  restoreToNewDeployment,
  startServer,
  verifyTargets,
} from '@holdfast/server';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;

/**
 * Starts `holdfast ARGS` and SIGKILLs it as soon as `when()` holds (polled),
 * so the kill lands inside the step under test, not during process start-up.
 */
function killWhen(
  args: string[],
  env: Record<string, string>,
  when: () => Promise<boolean>,
): Promise<{ killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', tsx, `${root}packages/cli/src/main.ts`, ...args],
      {
        cwd: root,
        env: { ...process.env, HOLDFAST_LOG_LEVEL: 'warn', ...env },
        stdio: 'ignore',
      },
    );
    let killed = false;
    let done = false;
    const poll = async () => {
      while (!done) {
        if (await when()) {
          killed = child.kill('SIGKILL');
          return;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    void poll();
    child.on('error', reject);
    child.on('exit', () => {
      done = true;
      resolve({ killed });
    });
  });
}

async function count(dir: string): Promise<number> {
  try {
    return (await readdir(dir, { recursive: true })).filter((name) => !String(name).startsWith('.')).length;
  } catch {
    return 0;
  }
}

interface Setup {
  dataDir: string;
  targets: string[];
  env: Record<string, string>;
  args: string[];
  config: Config;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const PASSPHRASE = 'a long backup passphrase';

/** Two directory repositories (a cheap KDF keeps the test fast) and a database with user alice. */
async function setup(database?: string): Promise<Setup> {
  const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-backup-'));
  cleanups.push(() => rm(base, { recursive: true, force: true }));
  const dataDir = join(base, 'data');
  const targets = [join(base, 'target-a'), join(base, 'target-b')];
  for (const target of targets) {
    await mkdir(target);
    const dir = new DirectoryTarget(target);
    await initRepository(dir, { passphrase: PASSPHRASE }, { kdf: { N: 1024 } });
    await dir.close();
  }
  const env = {
    HOLDFAST_BACKUP_TARGETS: targets.join(','),
    HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
    HOLDFAST_BACKUP_SHIP_INTERVAL_MS: '200',
    HOLDFAST_BACKUP_PRUNE_MARGIN_MS: '0',
    HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
  };
  const config = loadConfig({ flags: { data: dataDir, ...(database ? { database } : {}) }, env });
  const ctx = await createContext(config);
  await createUser(ctx, 'alice', 'alice-password-123');
  await closeContext(ctx);
  return { dataDir, targets, env, args: ['--data', dataDir, ...(database ? ['--database', database] : [])], config };
}

async function login(url: string) {
  const response = await api(url, 'POST', '/v1/auth/login', {
    body: { username: 'alice', password: 'alice-password-123', deviceName: 'phone' },
  });
  const token = response.body.token as string;
  const collection = await api(url, 'POST', '/v1/collections', { token, body: { type: 'notes', name: 'n' } });
  return { token, collectionId: collection.body.id as string };
}

async function push(url: string, token: string, collectionId: string, ids: string[]) {
  const changes = ids.map((itemId) => ({
    clientChangeId: `cc-${itemId}`,
    collectionId,
    itemId,
    op: 'put',
    baseRevision: null,
    content: { title: itemId, body: `note ${itemId} ${'x'.repeat(200)}` },
  }));
  const response = await api(url, 'POST', '/v1/push', { token, body: { changes } });
  expect(response.status).toBe(200);
  return response.body.durability as string;
}

/**
 * The recovery point this test holds the running server to. The target is 1 s
 * (`npm run bench:backup` prints the measured figure); a test machine running
 * many suites at once is given 3 s before a change counts as overdue.
 */
const RPO_BOUND_MS = 3000;

/** Waits until every target can restore everything committed so far, read beside the running servers. */
async function waitRestorable(config: Config) {
  const db = openDatabase(databaseLocation(config));
  try {
    const seq = await readHead(db.kysely);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const statuses = await readBackupStatus(config, db);
      if (statuses.every((s) => (s.restorableSeq ?? -1) >= seq)) return;
      if (Date.now() > deadline) throw new Error(`targets at ${statuses.map((s) => s.restorableSeq)}, want ${seq}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await db.close();
  }
}

/** Loads notes through an in-process server that does not back up by itself. */
async function load(config: Config, prefix: string, batches: number) {
  const server = await startServer(
    loadConfig({ flags: { data: config.dataDir, port: '0', 'backup-targets': '' }, env: {} }),
  );
  try {
    const { token, collectionId } = await login(server.url);
    for (let batch = 0; batch < batches; batch++) {
      await push(
        server.url,
        token,
        collectionId,
        Array.from({ length: 100 }, (_, i) => `${prefix}${batch}-${i}`),
      );
    }
  } finally {
    await server.close();
  }
}

function targetsOf(env: Record<string, string>): string[] {
  return (env.HOLDFAST_BACKUP_TARGETS ?? '').split(',');
}

async function expectSound(config: Config) {
  const drills = await verifyTargets(config, null);
  for (const drill of drills) {
    expect(drill.ok && drill.value.verification.record.errors).toEqual([]);
    expect(drill.ok && drill.value.verification.record.ok).toBe(true);
  }
  for (const location of backupTargetLocations(config)) {
    const target = new DirectoryTarget(location);
    const report = await checkRepository(await openRepository(target, { passphrase: PASSPHRASE }));
    await target.close();
    expect(report.problems).toEqual([]);
  }
}

describe('backups end to end', () => {
  it('brings back every acknowledged change older than the RPO after the primary is destroyed', async () => {
    const { dataDir, env, args } = await setup();
    const server = await startServerProcess(args, env);
    cleanups.push(() => server.kill());
    const { token, collectionId } = await login(server.url);
    const acked: { id: string; at: number }[] = [];
    const until = Date.now() + RPO_BOUND_MS + 3000;
    for (let batch = 0; Date.now() < until; batch++) {
      const ids = Array.from({ length: 10 }, (_, i) => `b${batch}-${i}`);
      await push(server.url, token, collectionId, ids);
      const at = Date.now();
      for (const id of ids) acked.push({ id, at });
    }
    // SIGKILL right after the last acknowledgement: nothing gets to flush on the way out.
    const killedAt = Date.now();
    await server.kill();
    await rm(dataDir, { recursive: true, force: true });

    const restoredDir = `${dataDir}-restored`;
    const restored = await runCli(['backup', 'restore', '--target', '2', '--to-data', restoredDir, ...args], { env });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/new generation/);

    const db = openDatabase(join(restoredDir, 'holdfast.db'));
    try {
      const items = new Set(
        (await db.kysely.selectFrom('items').select('id').where('deleted', '=', 0).execute()).map((row) => row.id),
      );
      const due = acked.filter((a) => a.at < killedAt - RPO_BOUND_MS);
      expect(due.length).toBeGreaterThan(100);
      expect(due.filter((a) => !items.has(a.id))).toEqual([]);
      const ledger = await db.kysely.selectFrom('ledger_entries').select(['kind']).execute();
      expect(ledger.map((e) => e.kind)).toContain('restore');
    } finally {
      await db.close();
    }
    // The restored deployment is one people can use: alice logs in with her password, the phone keeps its token.
    const revived = await startServer(
      loadConfig({ flags: { data: restoredDir, port: '0', 'backup-targets': '', 'log-level': 'warn' }, env: {} }),
    );
    try {
      const again = await api(revived.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: 'alice-password-123', deviceName: 'laptop' },
      });
      expect(again.status).toBe(200);
      expect((await api(revived.url, 'GET', '/v1/me', { token })).status).toBe(200);
    } finally {
      await revived.close();
    }
    const second = await mkdtemp(join(tmpdir(), 'holdfast-e2e-restore-'));
    cleanups.push(() => rm(second, { recursive: true, force: true }));
    await writeFile(join(second, 'keep'), '');
    const target = new DirectoryTarget(targetsOf(env)[0] as string);
    await expect(
      restoreToNewDeployment(await openRepository(target, { passphrase: PASSPHRASE }), { dataDir: second }),
    ).rejects.toThrow(/not empty/);
    await target.close();
  });

  it('lets one of two servers on one database ship while the other stands by, and takes over when it dies', async () => {
    // Several servers share a PostgreSQL database; an SQLite data directory takes one server.
    const database = await createTestDatabase();
    cleanups.push(database.drop);
    const { env, args, config } = await setup(database.url);
    const first = await startServerProcess(args, env);
    cleanups.push(() => first.kill());
    const second = await startServerProcess(args, env);
    cleanups.push(() => second.kill());
    const { token, collectionId } = await login(first.url);
    // Acknowledged once on a target by both: the one that ships and the one that follows it.
    expect(await push(first.url, token, collectionId, ['before-1', 'before-2'])).toBe('target');
    expect(await push(second.url, token, collectionId, ['before-3'])).toBe('target');
    // A device login on either server is acknowledged once an account state holding it is on the target:
    // the holder ships it, the one standing by waits until it finds it there.
    for (const url of [first.url, second.url]) {
      const response = await fetch(`${url}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: 'alice-password-123', deviceName: 'laptop' }),
      });
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      expect(response.headers.get('holdfast-durability')).toBe('target');
    }
    await waitRestorable(config);

    // SIGKILL leaves the lock of whichever server held it; a dead holder's lock is taken over at once.
    await first.kill();
    await push(second.url, token, collectionId, ['after-1']);
    await waitRestorable(config);
    await second.kill();

    const db = openDatabase(databaseLocation(config));
    try {
      const kinds = (await db.kysely.selectFrom('ledger_entries').select('kind').execute()).map((e) => e.kind);
      // Standing by is not a failure: nobody is alerted, and nothing went unshipped.
      expect(kinds).not.toContain('backup_failed');
      expect(kinds).not.toContain('journal_lag');
      expect(kinds).not.toContain('backup_ack_degraded');
    } finally {
      await db.close();
    }
  });

  it('resumes cleanly after SIGKILL during a snapshot, during journal shipping and during a prune', async () => {
    const { env, args, config, targets } = await setup();
    const [a] = targets as [string, string];
    // A snapshot of a small account can finish between two polls; then it is tried again on more data.
    let midSnapshot = { killed: false };
    for (let attempt = 0; attempt < 3 && !midSnapshot.killed; attempt++) {
      await load(config, `k${attempt}-`, 20 * (attempt + 1));
      if ((await count(join(a, 'snapshots'))) > 0) break;
      midSnapshot = await killWhen(
        ['backup', 'run', ...args],
        env,
        async () => (await count(join(a, 'data'))) > 0 && (await count(join(a, 'snapshots'))) === 0,
      );
    }
    expect(midSnapshot.killed).toBe(true);
    const first = openDatabase(join(config.dataDir, 'holdfast.db'));
    expect((await backupNow(config, first)).every((r) => r.ok)).toBe(true);
    await first.close();
    await expectSound(config);

    await load(config, 'j', 30);
    const journal = await count(join(a, 'journal'));
    const midJournal = await killWhen(
      ['backup', 'run', ...args],
      env,
      async () => (await count(join(a, 'journal'))) > journal,
    );
    expect(midJournal.killed).toBe(true);
    const db = openDatabase(join(config.dataDir, 'holdfast.db'));
    try {
      expect((await backupNow(config, db)).every((r) => r.ok)).toBe(true);
      await expectSound(config);
      await backupNow(config, db);
      const midPrune = await killWhen(['backup', 'prune', ...args], env, async () =>
        (await readdir(join(a, 'locks')).catch(() => [])).some((name) => name.startsWith('prune-')),
      );
      expect(midPrune.killed).toBe(true);
      const pruned = await pruneTargets(config, db);
      expect(pruned.map((p) => p.ok)).toEqual([true, true]);
      await expectSound(config);
      const status = await readBackupStatus(config, db);
      expect(status.map((s) => s.lagRevisions)).toEqual([0, 0]);
    } finally {
      await db.close();
    }
  }, 120_000);

  it('creates repositories with backup init, and says plainly when the passphrase is wrong', async () => {
    const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-init-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    await mkdir(join(base, 't'));
    const env = { HOLDFAST_BACKUP_TARGETS: join(base, 't'), HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE };
    const init = await runCli(['backup', 'init', '--data', join(base, 'd')], { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/target 1 .*created repository/);
    const wrong = await runCli(['backup', 'list', '--data', join(base, 'd')], {
      env: { ...env, HOLDFAST_BACKUP_PASSPHRASE: 'not the passphrase' },
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/wrong passphrase or key file/);
  });
});
