import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

describe('holdfast device: a device on the command line', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs in, adds a contact offline, syncs, and a second device restores and exports it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-device-'));
    const data = join(dir, 'server');
    expect((await runCli(['user', 'add', 'eve', '--data', data], { stdin: 'eve-password\n' })).code).toBe(0);
    server = await startServerProcess(['--data', data]);
    const phone = ['--replica', join(dir, 'phone.db')];
    const tablet = ['--replica', join(dir, 'tablet.db')];

    const login = await runCli(
      ['device', 'login', '--server', server.url, '--user', 'eve', '--name', 'phone', ...phone],
      {
        stdin: 'eve-password\n',
      },
    );
    expect(login.code, login.stderr).toBe(0);
    const added = await runCli([
      'device',
      'add-contact',
      '--name',
      'Grace Hopper',
      '--tel',
      '+15550199',
      '--email',
      'grace@example.com',
      ...phone,
    ]);
    expect(added.stdout).toMatch(/Added contact/);
    const status = JSON.parse((await runCli(['device', 'status', ...phone])).stdout);
    expect(status).toMatchObject({ loggedIn: true, pendingChanges: 2 });
    const synced = await runCli(['device', 'sync', ...phone]);
    expect(synced.code, synced.stderr).toBe(0);
    expect(synced.stdout).toMatch(/pushed 2/);

    expect(
      (
        await runCli(['device', 'login', '--server', server.url, '--user', 'eve', ...tablet], {
          stdin: 'eve-password\n',
        })
      ).code,
    ).toBe(0);
    const restored = await runCli(['device', 'sync', ...tablet]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stderr).toMatch(/\[#+\] 1\/1 items/);
    const out = join(dir, 'export');
    expect((await runCli(['device', 'export', '--dir', out, ...tablet])).stdout).toMatch(/Exported 1 items/);
    const [file] = await readdir(join(out, 'contacts'));
    const card = await readFile(join(out, 'contacts', file as string), 'utf8');
    expect(card).toContain('FN:Grace Hopper');
    expect(card).toContain('tel:+15550199');
  }, 120_000);
});
