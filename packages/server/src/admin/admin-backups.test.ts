import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { adminOverviewSchema } from '@holdfast/protocol';
import { engines } from '@holdfast/test-support/harness';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { describe, expect, it } from 'vitest';
import { createUser, login } from '../auth/accounts.js';
import { loadConfig } from '../config.js';
import { startServer } from '../main.js';
import { cleanupAfterEach, createDirectoryRepositories, TEST_PASSPHRASE } from '../test-support/backups.js';

const defer = cleanupAfterEach();

async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last seen ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The operators' overview of a running server's backups, and starting a backup or a drill from it. */
describe.each(engines)('admin overview of the running backups on %s', (engine) => {
  it('is at_risk until a drill passes, ok after it, and at_risk when the target directory is gone', async () => {
    const { base, dirs } = await createDirectoryRepositories(1);
    defer(() => rm(base, { recursive: true, force: true }));
    const pg = engine === 'postgres' ? await createTestDatabase() : undefined;
    if (pg) defer(pg.drop);
    const config = loadConfig({
      flags: {
        data: join(base, 'data'),
        ...(pg ? { database: pg.url } : {}),
        port: '0',
        'log-level': 'silent',
        'backup-targets': dirs.join(','),
        'backup-passphrase': TEST_PASSPHRASE,
        'backup-ship-interval-ms': '100',
        'backup-drill-interval': '0',
        // A write must not wait for the target this test takes away.
        'backup-ack': 'local',
        'backup-target-min-free-bytes': '0',
      },
      env: {},
    });
    const server = await startServer(config);
    defer(() => server.close());
    await createUser(server.ctx, 'root', 'root-password-123', { admin: true });
    const { token } = await login(server.ctx, {
      username: 'root',
      password: 'root-password-123',
      deviceName: 'dashboard',
      clientAddress: '127.0.0.1',
    });
    const headers = { authorization: `Bearer ${token}` };
    // Parsed by the schema the portal reads it with: the shape written and the shape read cannot drift apart.
    const overview = async () =>
      adminOverviewSchema.parse(await (await fetch(`${server.url}/v1/admin/overview`, { headers })).json());
    const post = (path: string) => fetch(`${server.url}${path}`, { method: 'POST', headers });
    const write = (name: string) =>
      fetch(`${server.url}/v1/collections`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'notes', name }),
      });
    expect((await write('Notes')).status).toBe(201);

    // Shipping, but no restore has been proven yet.
    const shipping = await until(overview, (o) => (o.targets[0]?.lastShippedRevision ?? 0) > 0);
    expect(shipping.status).toBe('at_risk');
    expect(shipping.targets[0]).toMatchObject({
      number: 1,
      name: dirs[0],
      status: 'at_risk',
      lastVerifiedDrillAt: null,
      drillAgeSeconds: null,
      rpoSeconds: config.backupLagAlertSeconds,
    });
    expect(shipping.targets[0]?.problem).toContain('no verified snapshot');

    const drill = await post('/v1/admin/drill');
    expect(drill.status).toBe(202);
    expect(await drill.json()).toEqual({ started: true });
    const safe = await until(overview, (o) => o.status === 'ok');
    expect(safe.reasons).toEqual([]);
    expect(safe.targets[0]).toMatchObject({ status: 'ok', problem: null, lagRevisions: 0 });
    expect(Date.parse(safe.targets[0]?.lastVerifiedDrillAt ?? '')).not.toBeNaN();
    expect(safe.targets[0]?.drillAgeSeconds).toBeLessThan(60);
    expect(safe.targets[0]?.freeBytes).toBeGreaterThan(0);
    expect(safe.head.revision).toBeGreaterThan(0);

    // The disk is gone: the next write cannot be shipped.
    await rm(dirs[0] as string, { recursive: true, force: true });
    expect((await write('After the disk went')).status).toBe(201);
    expect((await post('/v1/admin/backup')).status).toBe(202);
    const lost = await until(overview, (o) => o.status === 'at_risk');
    expect(lost.targets[0]?.status).toBe('at_risk');
    expect(lost.targets[0]?.problem).toMatch(/backup target 1 .* is unreachable/);
    expect(lost.reasons).toEqual([lost.targets[0]?.problem]);

    const ledger = (await (await fetch(`${server.url}/v1/ledger?limit=1000`, { headers })).json()) as {
      entries: { kind: string; details: { action: string; admin: string } }[];
    };
    const actions = ledger.entries.filter((e) => e.kind === 'admin_action');
    expect(actions.map((e) => e.details)).toEqual([
      expect.objectContaining({ action: 'start_drill', admin: 'root' }),
      expect.objectContaining({ action: 'start_backup', admin: 'root' }),
    ]);
  });
});
