import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

/** No stack trace: expected failures are one line of words. */
function expectOneLine(stderr: string) {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/Error:/);
  expect(stderr.trim().split('\n')).toHaveLength(1);
}

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

describe('holdfast device: failures in words, with the next step', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('tells a device the server is unreachable, then that it lost its data, and how it recovered', async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-device-errors-'));
    const first = join(dir, 'server');
    expect((await runCli(['user', 'add', 'fay', '--data', first], { stdin: 'fay-password\n' })).code).toBe(0);
    server = await startServerProcess(['--data', first]);
    const url = server.url;
    const port = new URL(url).port;
    const phone = ['--replica', join(dir, 'phone.db')];
    const login = (extra: string[] = []) =>
      runCli(['device', 'login', '--server', url, '--user', 'fay', ...phone, ...extra], { stdin: 'fay-password\n' });
    expect((await login()).code).toBe(0);
    await runCli(['device', 'add-contact', '--name', 'Ada', '--tel', '+15550100', ...phone]);
    expect((await runCli(['device', 'sync', ...phone])).code).toBe(0);

    await server.stop();
    server = undefined;
    const unreachable = await runCli(['device', 'sync', ...phone]);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toContain(`cannot reach ${url} — is the server running?`);
    expectOneLine(unreachable.stderr);

    // The server comes back on the same address with an empty data directory.
    const second = join(dir, 'server-empty');
    expect((await runCli(['user', 'add', 'fay', '--data', second], { stdin: 'fay-password\n' })).code).toBe(0);
    server = await startServerProcess(['--data', second, '--port', port]);
    const unknown = await runCli(['device', 'sync', ...phone]);
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toContain('this device is not known to the server (revoked, or the server lost its data)');
    expect(unknown.stderr).toContain(`holdfast device login --server ${url} --user fay --replica`);
    expect(unknown.stderr).toContain('your local data is kept');
    expectOneLine(unknown.stderr);

    expect((await login()).code).toBe(0);
    const recovered = await runCli(['device', 'sync', ...phone]);
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(recovered.stderr).toMatch(/recovered: .*this device sent back 1 items/);
    expect(recovered.stderr).not.toMatch(/^\s+at /m);
  }, 180_000);

  it('stops a device deleting most of a collection, says so in words, and goes ahead when confirmed', async () => {
    const data = join(dir, 'server-mass');
    expect((await runCli(['user', 'add', 'gus', '--data', data], { stdin: 'gus-password\n' })).code).toBe(0);
    await server?.stop();
    server = await startServerProcess(['--data', data]);
    const url = server.url;
    const { body: session } = await api(url, 'POST', '/v1/auth/login', {
      body: { username: 'gus', password: 'gus-password', deviceName: 'seeder' },
    });
    const token = session.token as string;
    expect(
      (await api(url, 'POST', '/v1/collections', { token, body: { id: 'book', type: 'contacts', name: 'Friends' } }))
        .status,
    ).toBe(201);
    const changes = Array.from({ length: 100 }, (_, i) => ({
      clientChangeId: `seed-${i}`,
      collectionId: 'book',
      itemId: `friend-${i}`,
      op: 'put',
      baseRevision: null,
      content: `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:friend-${i}\r\nFN:Friend ${i}\r\nTEL:+1555${String(i).padStart(4, '0')}\r\nEND:VCARD\r\n`,
    }));
    expect((await api(url, 'POST', '/v1/push', { token, body: { changes } })).status).toBe(200);

    const replica = join(dir, 'gus.db');
    const phone = ['--replica', replica];
    const login = await runCli(['device', 'login', '--server', url, '--user', 'gus', ...phone], {
      stdin: 'gus-password\n',
    });
    expect(login.code, login.stderr).toBe(0);
    expect((await runCli(['device', 'sync', ...phone])).code).toBe(0);
    const ids = Array.from({ length: 80 }, (_, i) => `friend-${i}`);
    expect((await runCli(['device', 'delete', ...ids, ...phone])).stdout).toMatch(/Deleted 80 items/);

    const stopped = await runCli(['device', 'sync', ...phone]);
    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toContain(
      `sync stopped: this would delete 80 items (80%) from "Friends" (book); nothing was deleted on the server; run \`holdfast device sync --confirm-mass-change --replica ${replica}\` if you meant it.`,
    );
    expect(stopped.stderr).not.toMatch(/^\s+at /m);
    const untouched = await api(url, 'GET', '/v1/summary', { token });
    expect(untouched.body.collections[0].count).toBe(100);

    const confirmed = await runCli(['device', 'sync', '--confirm-mass-change', ...phone]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toMatch(/pushed 80/);
    expect((await api(url, 'GET', '/v1/summary', { token })).body.collections[0].count).toBe(20);
    const ledger = await runCli(['ledger', 'list', '--user', 'gus', '--data', data]);
    expect(ledger.stdout).toMatch(/mass_change_blocked\tgus\tRefused to delete 80 items \(80%\) from collection book/);
    expect(ledger.stdout).toMatch(/mass_change_confirmed\tgus\tThe user confirmed deleting 80 items/);
  }, 180_000);

  it('never crashes when its output is cut short by a pipe', async () => {
    const own = await mkdtemp(join(tmpdir(), 'holdfast-device-pipe-'));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const tsx = pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href;
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        tsx,
        `${root}packages/cli/src/main.ts`,
        'device',
        'status',
        '--replica',
        join(own, 'replica.db'),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Like `| head -0`: the reader is gone before the command writes anything.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    await rm(own, { recursive: true, force: true });
    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 60_000);
});
