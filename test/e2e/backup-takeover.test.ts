import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Config,
  closeContext,
  createContext,
  createUser,
  loadConfig,
  openDatabase,
  readBackupStatus,
  readHead,
} from '@holdfast/server';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const PASSPHRASE = 'a long backup passphrase';

/** Waits until `config`'s own generation is restorable from every target up to its database head. */
async function waitShipped(config: Config, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const db = openDatabase(join(config.dataDir, 'holdfast.db'));
  try {
    const seq = await readHead(db.kysely);
    for (;;) {
      const statuses = await readBackupStatus(config, db);
      if (statuses.every((s) => (s.restorableSeq ?? -1) >= seq)) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`targets at ${statuses.map((s) => s.restorableSeq)}, want ${seq}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await db.close();
  }
}

describe('taking over shipping after a crash and a restore', () => {
  it('a server restored from a killed server’s backup ships within seconds, not after the lock expires', async () => {
    const base = await mkdtemp(join(tmpdir(), 'holdfast-e2e-takeover-'));
    cleanups.push(() => rm(base, { recursive: true, force: true }));
    const dataDir = join(base, 'data');
    // `backup init` creates a missing target directory, owner-only.
    const target = join(base, 'backups', 'target');
    const env = {
      HOLDFAST_BACKUP_TARGETS: target,
      HOLDFAST_BACKUP_PASSPHRASE: PASSPHRASE,
      HOLDFAST_BACKUP_SHIP_INTERVAL_MS: '200',
      HOLDFAST_BACKUP_DRILL_INTERVAL: '0',
    };
    const init = await runCli(['backup', 'init', '--data', dataDir], { env });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/created directory .*created repository/);
    expect((await stat(target)).mode & 0o777).toBe(0o700);

    const config = loadConfig({ flags: { data: dataDir }, env });
    const ctx = await createContext(config);
    await createUser(ctx, 'alice', 'alice-password-123');
    await closeContext(ctx);

    const first = await startServerProcess(['--data', dataDir], env);
    cleanups.push(() => first.kill());
    const login = await api(first.url, 'POST', '/v1/auth/login', {
      body: { username: 'alice', password: 'alice-password-123', deviceName: 'phone' },
    });
    const token = login.body.token as string;
    const collection = await api(first.url, 'POST', '/v1/collections', { token, body: { type: 'notes', name: 'n' } });
    const collectionId = collection.body.id as string;
    const push = async (url: string, ids: string[]) => {
      const changes = ids.map((itemId) => ({
        clientChangeId: `cc-${itemId}`,
        collectionId,
        itemId,
        op: 'put',
        baseRevision: null,
        content: { title: itemId, body: `note ${itemId}` },
      }));
      const response = await api(url, 'POST', '/v1/push', { token, body: { changes } });
      expect(response.status).toBe(200);
      expect(response.body.results.map((r: { status: string }) => r.status)).toEqual(ids.map(() => 'applied'));
    };
    await push(first.url, ['a', 'b', 'c']);
    await waitShipped(config, 30_000);
    await push(first.url, ['d', 'e']);
    await waitShipped(config, 30_000);

    // SIGKILL: the lock stays on the target, naming a process that no longer runs.
    await first.kill();
    expect((await readdir(join(target, 'locks'))).filter((name) => name.startsWith('backup-'))).toHaveLength(1);

    const restoredDir = join(base, 'restored');
    const restored = await runCli(['backup', 'restore', '--target', '1', '--to-data', restoredDir], { env });
    expect(restored.code, restored.stderr).toBe(0);

    // Another data directory, hence another database path and lock holder: the dead holder's lock is taken over.
    const second = await startServerProcess(['--data', restoredDir], env);
    cleanups.push(() => second.kill());
    const restoredConfig = loadConfig({ flags: { data: restoredDir }, env });
    // The dead holder's lock lasts ten minutes; a minute tells taking over from waiting it out even on a loaded machine.
    const took = await waitShipped(restoredConfig, 60_000);
    expect(took).toBeLessThan(60_000);
    await push(second.url, ['after-restore']);
    await waitShipped(restoredConfig, 60_000);
    expect(second.output()).not.toMatch(/another server is shipping/);

    // Both generations are on the target now; list and status say which one a restore would bring back.
    const list = await runCli(['backup', 'list', '--json', '--data', restoredDir], { env });
    expect(list.code, list.stderr).toBe(0);
    const [listed] = JSON.parse(list.stdout) as {
      coverage: { histories: { generation: string }[]; restore: { generation: string; toSeq: number } };
    }[];
    expect(listed?.coverage.histories).toHaveLength(2);
    const db = openDatabase(join(restoredDir, 'holdfast.db'));
    const head = await readHead(db.kysely);
    await db.close();
    expect(listed?.coverage.restore.toSeq).toBe(head);
    await second.stop();
    const status = await runCli(['backup', 'status', '--data', restoredDir], { env });
    expect(status.stdout).toMatch(/journal head: +revision \d+ of generation/);
    expect(status.stdout).toContain(`a restore would bring back: revisions 1..${head} of generation`);
    const statusJson = await runCli(['backup', 'status', '--json', '--data', restoredDir], { env });
    const [s] = JSON.parse(statusJson.stdout) as { journalHead: { seq: number }; lagRevisions: number }[];
    expect(s?.journalHead.seq).toBe(head);
    expect(s?.lagRevisions).toBe(0);

    // A restore now names both histories, restores the longer one, and says how to pick the other.
    const again = await runCli(['backup', 'restore', '--target', '1', '--to-data', join(base, 'again')], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`restored revision ${head} `);
    expect(again.stderr).toMatch(/histories diverged/);
    expect(again.stderr).toMatch(/not restored: generation \S+ \(revisions 1\.\.\d+, written .*--generation \S+/);
  }, 180_000);
});
