import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_SCHEMA_VERSION, createUser, migrateTo, openDatabase, readSchemaState } from '@holdfast/server';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('holdfast CLI', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'holdfast-cli-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));
  const cli = (args: string[], stdin?: string) =>
    runCli([...args, '--data', dataDir], stdin === undefined ? {} : { stdin });

  it('manages users, devices and app passwords against a running server', async () => {
    const added = await cli(['user', 'add', 'alice'], 'correct horse battery\n');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/Created user alice/);
    expect((await cli(['user', 'add', 'alice'], 'another password\n')).stderr).toMatch(/already exists/);
    expect((await cli(['user', 'add', 'bob'], 'short\n')).code).toBe(2);
    const generated = await cli(['user', 'add', 'carol', '--generate']);
    expect(generated.stdout).toMatch(/Generated password: \S{16,}/);

    const server = await startServerProcess(['--data', dataDir]);
    try {
      const login = await api(server.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: 'correct horse battery', deviceName: 'phone' },
      });
      expect(login.status).toBe(200);
      const token = login.body.token;

      const listed = await cli(['device', 'list', '--user', 'alice']);
      expect(listed.stdout).toContain(login.body.deviceId);
      expect(listed.stdout).toContain('phone');
      expect(listed.stdout).not.toContain(token);
      expect((await cli(['device', 'revoke', login.body.deviceId])).code).toBe(0);
      expect((await api(server.url, 'GET', '/v1/me', { token })).status).toBe(401);

      expect((await cli(['user', 'passwd', 'alice'], 'a brand new password\n')).code).toBe(0);
      const oldPassword = await api(server.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: 'correct horse battery' },
      });
      expect(oldPassword.status).toBe(401);
      const relogin = await api(server.url, 'POST', '/v1/auth/login', {
        body: { username: 'alice', password: 'a brand new password' },
      });
      expect(relogin.status).toBe(200);

      expect((await cli(['user', 'disable', 'alice'])).code).toBe(0);
      expect((await api(server.url, 'GET', '/v1/me', { token: relogin.body.token })).status).toBe(401);
      expect(
        (
          await api(server.url, 'POST', '/v1/auth/login', {
            body: { username: 'alice', password: 'a brand new password' },
          })
        ).status,
      ).toBe(401);
      expect((await cli(['user', 'enable', 'alice'])).code).toBe(0);
      expect((await api(server.url, 'GET', '/v1/me', { token: relogin.body.token })).status).toBe(200);

      // Operators: made with `user add --admin` or `user admin NAME on|off`, effective at once.
      expect((await cli(['user', 'add', 'dave', '--admin'], 'dave the operator\n')).stdout).toMatch(
        /Created admin dave/,
      );
      expect((await api(server.url, 'GET', '/v1/me', { token: relogin.body.token })).body.admin).toBe(false);
      expect((await cli(['user', 'admin', 'alice', 'on'])).stdout).toMatch(/alice is now an admin/);
      expect((await api(server.url, 'GET', '/v1/me', { token: relogin.body.token })).body.admin).toBe(true);
      const admins = await cli(['user', 'list']);
      expect(admins.stdout).toMatch(/alice\t\S+\tactive\tadmin/);
      expect(admins.stdout).toMatch(/dave\t\S+\tactive\tadmin/);
      expect(admins.stdout).toMatch(/carol\t\S+\tactive\n/);
      expect((await cli(['user', 'admin', 'alice', 'off'])).code).toBe(0);
      expect((await api(server.url, 'GET', '/v1/me', { token: relogin.body.token })).body.admin).toBe(false);
      const wrong = await cli(['user', 'admin', 'alice', 'maybe']);
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(/Usage: holdfast user admin NAME on\|off/);

      const users = await cli(['user', 'list']);
      expect(users.stdout).toMatch(/alice\t\S+\tactive/);
      expect(users.stdout).not.toMatch(/argon2/);
      const json = await cli(['user', 'list', '--json']);
      const rows = JSON.parse(json.stdout) as Record<string, unknown>[];
      expect(rows.map((row) => Object.keys(row).sort())).toEqual(
        rows.map(() => ['admin', 'createdAt', 'disabled', 'id', 'updatedAt', 'username']),
      );
      const alice = rows.find((row) => row.username === 'alice');
      expect(alice?.disabled).toBe(false);
      expect(alice?.admin).toBe(false);
      expect(rows.find((row) => row.username === 'dave')?.admin).toBe(true);
      expect(alice?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(json.stdout).not.toMatch(/argon2/);

      const appPassword = await cli(['app-password', 'add', 'alice', '--label', 'iPhone']);
      expect(appPassword.stdout).toMatch(/shown once: [a-z2-9]{5}(-[a-z2-9]{5}){3}/);
      expect((await cli(['app-password', 'list', 'alice'])).stdout).toMatch(/iPhone\tactive/);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('doctor reports schema, counts and free disk, with secrets redacted', async () => {
    const doctor = await runCli(['doctor', '--data', dataDir, '--json', '--s3-secret-access-key', 'do-not-print-me']);
    // With no backup target the one copy is the server's: a problem, so monitoring sees a non-zero exit.
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(1);
    const report = JSON.parse(doctor.stdout);
    expect(report.problems).toEqual(['no backup target configured: the server copy is the only copy']);
    expect(report.blobs).toMatchObject({ kind: 'local', ok: true });
    expect(report.drillScratch).toMatchObject({ path: join(dataDir, 'drill-scratch'), ok: true });
    expect(report.permissions).toEqual([]);
    expect(report.schema).toMatchObject({ pending: [], unknown: [] });
    expect(report.schema.version).toBe(report.schema.codeVersion);
    expect(report.counts.users).toBe(3);
    expect(report.disk.freeBytes).toBeGreaterThan(0);
    expect(doctor.stdout).not.toContain('do-not-print-me');
    const printed = await runCli(['config', 'print', '--data', dataDir, '--s3-secret-access-key', 'do-not-print-me']);
    expect(printed.stdout).not.toContain('do-not-print-me');
    expect(JSON.parse(printed.stdout).dataDir).toBe(dataDir);
  });

  it('config reference is the generated docs/configuration.md', async () => {
    const reference = await runCli(['config', 'reference']);
    const doc = await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(reference.stdout).toBe(`${doc}\n`);
  });

  it('explains bad usage instead of crashing', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Usage:/);
    const badFlag = await runCli(['serve', '--port', 'eighty', '--data', dataDir]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/port/);
  });
});

describe('holdfast serve with no configuration', () => {
  it('starts on the embedded default in ./holdfast-data', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'holdfast-default-'));
    try {
      const server = await startServerProcess([], { HOLDFAST_DATA_DIR: '' }, cwd);
      try {
        expect(server.output()).toContain(`sqlite, data in ${join(cwd, 'holdfast-data')}`);
        const health = await api(server.url, 'GET', '/healthz');
        expect(health).toEqual({ status: 200, body: { ok: true } });
      } finally {
        await server.stop();
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe('holdfast ledger and restore-to', () => {
  it('previews and applies a point-in-time restore, then verifies the ledger', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-restore-cli-'));
    try {
      expect((await runCli(['user', 'add', 'dana', '--data', dataDir], { stdin: 'dana-password\n' })).code).toBe(0);
      const server = await startServerProcess(['--data', dataDir]);
      let token: string;
      let collectionId: string;
      let good: number;
      try {
        token = (
          await api(server.url, 'POST', '/v1/auth/login', { body: { username: 'dana', password: 'dana-password' } })
        ).body.token;
        collectionId = (await api(server.url, 'POST', '/v1/collections', { token, body: { type: 'notes', name: 'n' } }))
          .body.id;
        const note = (id: string, body: string, baseRevision: number | null) => ({
          clientChangeId: `${id}-${body}`,
          collectionId,
          itemId: id,
          op: 'put',
          baseRevision,
          content: { title: id, body },
        });
        const first = await api(server.url, 'POST', '/v1/push', {
          token,
          body: { changes: [note('a', 'original', null)] },
        });
        good = (await api(server.url, 'GET', '/v1/me', { token })).body.head;
        await api(server.url, 'POST', '/v1/push', {
          token,
          body: { changes: [note('a', 'overwritten', first.body.results[0].revision)] },
        });
      } finally {
        await server.stop();
      }
      const preview = await runCli(['restore-to', '--user', 'dana', '--revision', String(good), '--data', dataDir]);
      expect(preview.code, preview.stderr).toBe(0);
      expect(preview.stdout).toMatch(/Would restore 1 items/);
      expect(preview.stdout).toMatch(/Nothing changed/);
      const applied = await runCli([
        'restore-to',
        '--user',
        'dana',
        '--revision',
        String(good),
        '--yes',
        '--data',
        dataDir,
      ]);
      expect(applied.stdout).toMatch(/Restored 1 items/);
      expect(applied.stdout).toMatch(/Undo with: holdfast restore-to --user dana --revision \d+ --yes/);

      const again = await startServerProcess(['--data', dataDir]);
      try {
        const item = await api(again.url, 'GET', '/v1/items/a', { token });
        expect(item.body.content).toEqual({ title: 'a', body: 'original' });
      } finally {
        await again.stop();
      }
      const ledger = await runCli(['ledger', 'list', '--user', 'dana', '--data', dataDir]);
      expect(ledger.stdout).toMatch(/restore\t\S+\tRestored 1 items/);
      const verified = await runCli(['ledger', 'verify', '--data', dataDir]);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(/Ledger intact: \d+ entries/);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('which commands may create or migrate a database', () => {
  const dirs: string[] = [];
  const scratch = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-open-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('refuses to migrate a database with data and no verified backup, leaving its schema as it was', async () => {
    const dataDir = await scratch();
    const older = CODE_SCHEMA_VERSION - 1;
    const path = join(dataDir, 'holdfast.db');
    const db = openDatabase(path);
    try {
      // What an older Holdfast left behind: its schema, and an account in it.
      await migrateTo(db, older);
      await createUser({ db, now: Date.now }, 'erin', 'erin-password');
    } finally {
      await db.close();
    }
    const schemaVersion = async () => {
      const again = openDatabase(path, { create: false });
      try {
        return (await readSchemaState(again)).version;
      } finally {
        await again.close();
      }
    };

    const listed = await runCli(['user', 'list', '--data', dataDir]);
    expect(listed.code).not.toBe(0);
    expect(listed.stderr).toMatch(/upgrade gate/i);
    expect(listed.stderr).toContain('holdfast upgrade');
    expect(listed.stderr).toContain(`schema version ${older}`);
    expect(listed.stdout).not.toContain('erin');
    expect(await schemaVersion()).toBe(older);

    // A command that writes would migrate, but only through the gate.
    const added = await runCli(['user', 'add', 'frank', '--data', dataDir], { stdin: 'frank-password\n' });
    expect(added.code).not.toBe(0);
    expect(added.stderr).toMatch(/upgrade gate/i);
    expect(added.stderr).toContain('no backup targets are configured');
    expect(added.stderr).toContain('holdfast upgrade');
    expect(await schemaVersion()).toBe(older);
  }, 60_000);

  it('backup status on a missing data directory says so and creates nothing', async () => {
    const parent = await scratch();
    const target = join(parent, 'target');
    await mkdir(target);
    const missing = join(parent, 'no-such-data');
    const status = await runCli(['backup', 'status', '--data', missing, '--backup-targets', target]);
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain(`no database at ${join(missing, 'holdfast.db')}`);
    expect(status.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(missing)).toBe(false);
    // Commands that only read refuse the same way.
    const users = await runCli(['user', 'list', '--data', missing]);
    expect(users.code).not.toBe(0);
    expect(users.stderr).toContain(`no database at ${join(missing, 'holdfast.db')}`);
    expect(existsSync(missing)).toBe(false);
  }, 60_000);

  it('doctor says it cannot connect to an unreachable PostgreSQL, not that the schema is empty', async () => {
    const port = await closedPort();
    const url = `postgres://holdfast:hunter2-secret@127.0.0.1:${port}/holdfast`;
    const doctor = await runCli(['doctor', '--database', url, '--data', await scratch()]);
    const output = doctor.stdout + doctor.stderr;
    expect(doctor.code, output).toBe(1);
    expect(output).toContain(`cannot connect to postgres://holdfast:***@127.0.0.1:${port}/holdfast`);
    expect(output).not.toMatch(/Schema version/);
    expect(output).not.toMatch(/migrations pending/);
    expect(output).not.toContain('hunter2-secret');
  }, 60_000);
});

/** A local port nothing listens on: bound, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}
