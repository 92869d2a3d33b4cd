import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, startServerProcess } from '@holdfast/test-support/processes';
import { startS3 } from '@holdfast/test-support/s3rver';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const check = (body: { checks: Check[] }, name: string) => body.checks.find((c) => c.name === name);

describe('readiness, and what doctor checks', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  const scratch = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-ready-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  };
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('with the S3 blob store down: uploads answer 503, /readyz says why, /healthz stays up, doctor reports it', async () => {
    const s3 = await startS3();
    cleanups.push(async () => {
      await s3.cleanup();
    });
    const dataDir = await scratch();
    const args = [
      '--data',
      dataDir,
      '--blobs',
      `s3://${s3.bucket}/blobs`,
      '--s3-endpoint',
      s3.endpoint,
      '--s3-access-key-id',
      s3.credentials.accessKeyId,
      '--s3-secret-access-key',
      s3.credentials.secretAccessKey,
    ];
    expect((await runCli(['user', 'add', 'ivy', ...args], { stdin: 'ivy-password-1\n' })).code).toBe(0);
    const server = await startServerProcess(args);
    cleanups.push(() => server.stop());
    const token = (
      await api(server.url, 'POST', '/v1/auth/login', { body: { username: 'ivy', password: 'ivy-password-1' } })
    ).body.token;

    const ready = await api(server.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.ready).toBe(true);
    expect(check(ready.body, 'database')?.ok).toBe(true);
    expect(check(ready.body, 'blobs')).toMatchObject({ ok: true });
    expect((await runCli(['doctor', '--json', ...args])).stdout).toContain('"kind": "s3"');

    await s3.stop();

    const bytes = Buffer.from('a photo, as far as anyone can tell');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const upload = await fetch(`${server.url}/v1/blobs/${sha256}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(upload.status).toBe(503);
    expect(upload.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(((await upload.json()) as { code: string }).code).toBe('unavailable');

    const notReady = await api(server.url, 'GET', '/readyz');
    expect(notReady.status).toBe(503);
    expect(notReady.body.ready).toBe(false);
    expect(check(notReady.body, 'blobs')?.ok).toBe(false);
    expect(check(notReady.body, 'database')?.ok).toBe(true);
    expect((await api(server.url, 'GET', '/healthz')).status).toBe(200);

    const doctor = await runCli(['doctor', '--json', ...args]);
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout);
    expect(report.blobs).toMatchObject({ kind: 's3', ok: false });
    expect(report.problems.some((p: string) => p.startsWith(`blob store s3://${s3.bucket}/blobs is unusable`))).toBe(
      true,
    );
  }, 120_000);

  it('with PostgreSQL refusing connections: /readyz answers 503 and /healthz 200', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const dataDir = await scratch();
    const server = await startServerProcess(['--data', dataDir, '--database', db.url]);
    cleanups.push(() => server.stop());
    expect((await api(server.url, 'GET', '/readyz')).status).toBe(200);

    const name = new URL(db.url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: new URL('/postgres', db.url).toString() });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
      const notReady = await api(server.url, 'GET', '/readyz');
      expect(notReady.status).toBe(503);
      expect(check(notReady.body, 'database')?.ok).toBe(false);
      expect((await api(server.url, 'GET', '/healthz')).status).toBe(200);
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      let again = await api(server.url, 'GET', '/readyz');
      for (let i = 0; i < 20 && again.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        again = await api(server.url, 'GET', '/readyz');
      }
      expect(again.status).toBe(200);
    } finally {
      await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`).catch(() => {});
      await admin.end();
    }
  }, 120_000);

  it('doctor reports a backup target that is gone, and a readable data directory', async () => {
    const base = await scratch();
    const target = join(base, 'target');
    await mkdir(target);
    const env = {
      HOLDFAST_DATA_DIR: join(base, 'data'),
      HOLDFAST_BACKUP_TARGETS: target,
      HOLDFAST_BACKUP_PASSPHRASE: 'a long backup passphrase',
    };
    expect((await runCli(['backup', 'init'], { env })).code).toBe(0);
    expect((await runCli(['user', 'add', 'jo'], { env, stdin: 'jo-password-1\n' })).code).toBe(0);
    expect((await runCli(['backup', 'run'], { env })).code).toBe(0);
    // Shipped but never verified by a restore drill: a problem.
    const unverified = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout);
    expect(unverified.backupTargets[0]).toMatchObject({ target: 1, reachable: true, verifiedAgeSeconds: null });
    expect(unverified.problems.filter((p: string) => p.startsWith('backup target'))).toEqual([
      `backup target 1 (${target}) has no verified snapshot: a restore is unproven`,
    ]);
    expect((await runCli(['backup', 'verify'], { env })).code).toBe(0);
    const healthy = JSON.parse((await runCli(['doctor', '--json'], { env })).stdout);
    expect(healthy.problems.filter((p: string) => p.startsWith('backup target'))).toEqual([]);
    expect(healthy.backupTargets[0].verifiedAgeSeconds).toBeLessThan(600);
    // Less free space on the target than the setting asks for: full, by the same rule as the operators' overview.
    const full = JSON.parse(
      (await runCli(['doctor', '--json'], { env: { ...env, HOLDFAST_BACKUP_TARGET_MIN_FREE_BYTES: String(2 ** 52) } }))
        .stdout,
    );
    expect(full.problems.filter((p: string) => p.startsWith('backup target'))).toEqual([
      expect.stringMatching(new RegExp(`^backup target 1 \\(${target}\\) is nearly full: \\d+ bytes free`)),
    ]);

    await rm(target, { recursive: true, force: true });
    await chmod(join(base, 'data'), 0o755);
    const doctor = await runCli(['doctor', '--json'], { env });
    expect(doctor.code).toBe(1);
    const report = JSON.parse(doctor.stdout);
    expect(report.backupTargets[0]).toMatchObject({ target: 1, reachable: false });
    expect(report.problems.some((p: string) => p.startsWith(`backup target 1 (${target}) is unreachable`))).toBe(true);
    const loose = report.permissions.find((f: { path: string }) => f.path === join(base, 'data'));
    expect(loose).toMatchObject({ mode: '0755', expected: '0700' });
    expect(report.problems).toContain(loose.message);
  }, 120_000);
});
