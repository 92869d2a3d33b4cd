import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, runProgram, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const client = fileURLToPath(new URL('./sync_token_client.py', import.meta.url));
const USER = 'holdy';
const PASSWORD = 'holdy-account-password';

const card = (n: number) => {
  const id = `hold-c${String(n).padStart(2, '0')}`;
  return { id, text: `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${id}\r\nFN:Person ${n}\r\nN:${n};Person;;;\r\nEND:VCARD\r\n` };
};
const event = (n: number) => {
  const id = `hold-e${String(n).padStart(2, '0')}`;
  const day = String(n).padStart(2, '0');
  return {
    id,
    text: [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Holdfast//recovery check//EN',
      'BEGIN:VEVENT',
      `UID:${id}`,
      'DTSTAMP:20260101T000000Z',
      `DTSTART:202605${day}T090000Z`,
      `DTEND:202605${day}T100000Z`,
      `SUMMARY:Meeting ${n}`,
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n'),
  };
};

function pythonWithCaldav(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import caldav'], { stdio: 'ignore' }).status === 0) return candidate;
  }
  throw new Error('No python3 can import caldav: install python3-caldav.');
}

function vdirsyncer(config: string, args: string[], stdin = ''): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('vdirsyncer', ['-c', config, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(stdin);
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as { port: number }).port;
  await new Promise((done) => server.close(done));
  return port;
}

const ids = async (dir: string) => (await readdir(dir)).map((name) => name.replace(/\.(vcf|ics)$/, '')).sort();
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A server whose database comes back older than what clients hold (the
 * database file replaced by an earlier copy): vdirsyncer and a DAVx5-like
 * sync-token client keep every item through the recovery, and the server
 * has them all again once the user's device has re-seeded.
 */
describe('DAV clients through a database rollback', () => {
  let dir: string;
  let data: string;
  let port: number;
  let server: ServerProcess | undefined;
  let appPassword: string;
  let url: string;
  const vdirConfig = () => join(dir, 'vdirsyncer.conf');
  const contactsDir = () => join(dir, 'contacts', 'hold-book');
  const calendarDir = () => join(dir, 'calendars', 'hold-cal');
  const phone = () => ['--replica', join(dir, 'phone.db')];
  const paths = [`/dav/addressbooks/${USER}/hold-book/`, `/dav/calendars/${USER}/hold-cal/`];

  const start = async () => {
    server = await startServerProcess(['--data', data, '--port', String(port)], { HOLDFAST_LOG_LEVEL: 'info' });
    url = server.url;
  };
  const stop = async () => {
    await server?.stop();
    server = undefined;
  };
  const syncToken = async () => {
    const run = await runProgram(pythonWithCaldav(), [
      client,
      join(dir, 'sync-token.json'),
      url,
      USER,
      appPassword,
      ...paths,
    ]);
    if (run.code !== 0) throw new Error(`sync-token client exited with ${run.code}:\n${run.stderr}`);
    return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<
      string,
      { status: number; full?: boolean; count?: number; deleted?: string[] }
    >;
  };
  const syncPhone = async () => {
    const run = await runCli(['device', 'sync', ...phone()]);
    expect(run.code, `${run.stderr}\n--- server ---\n${server?.output()}`).toBe(0);
    return run;
  };
  const addLocal = async (numbers: number[]) => {
    for (const n of numbers) {
      await writeFile(join(contactsDir(), `${card(n).id}.vcf`), card(n).text);
      await writeFile(join(calendarDir(), `${event(n).id}.ics`), event(n).text);
    }
  };
  const databaseFiles = async (from: string) => (await readdir(from)).filter((n) => n.startsWith('holdfast.db'));

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-dav-hold-'));
    data = join(dir, 'server');
    port = await freePort();
    expect((await runCli(['user', 'add', USER, '--data', data], { stdin: `${PASSWORD}\n` })).code).toBe(0);
    const app = await runCli(['app-password', 'add', USER, '--label', 'dav', '--data', data]);
    appPassword = /shown once: (\S+)/.exec(app.stdout)?.[1] as string;
    expect(appPassword).toBeTruthy();
    await start();
    const login = await runCli(['device', 'login', '--server', url, '--user', USER, '--name', 'phone', ...phone()], {
      stdin: `${PASSWORD}\n`,
    });
    expect(login.code, login.stderr).toBe(0);
    // The DAV root itself: the server answers 404 on "/" before reading the body, and vdirsyncer fails writing it.
    const remote = `url = "${url}/dav/"\nusername = "${USER}"\npassword = "${appPassword}"\n`;
    await writeFile(
      vdirConfig(),
      [
        `[general]\nstatus_path = "${join(dir, 'status')}/"\n`,
        '[pair contacts]\na = "contacts_local"\nb = "contacts_remote"\ncollections = ["from a", "from b"]\n',
        `[storage contacts_local]\ntype = "filesystem"\npath = "${join(dir, 'contacts')}/"\nfileext = ".vcf"\n`,
        `[storage contacts_remote]\ntype = "carddav"\n${remote}`,
        '[pair calendars]\na = "calendars_local"\nb = "calendars_remote"\ncollections = ["from a", "from b"]\n',
        `[storage calendars_local]\ntype = "filesystem"\npath = "${join(dir, 'calendars')}/"\nfileext = ".ics"\n`,
        `[storage calendars_remote]\ntype = "caldav"\n${remote}`,
      ].join('\n'),
    );
    await mkdir(contactsDir(), { recursive: true });
    await mkdir(calendarDir(), { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('syncs 10 contacts and 10 events, keeps a copy of the database, then 5 more of each', async () => {
    await addLocal(range(1, 10));
    const discover = await vdirsyncer(vdirConfig(), ['discover'], 'y\n'.repeat(10));
    expect(discover.code, discover.output).toBe(0);
    const first = await vdirsyncer(vdirConfig(), ['sync']);
    expect(first.code, first.output).toBe(0);
    const synced = await syncToken();
    expect(paths.map((p) => synced[p]?.count)).toEqual([10, 10]);
    await syncPhone();

    await stop();
    await mkdir(join(dir, 'saved'));
    for (const name of await databaseFiles(data)) await copyFile(join(data, name), join(dir, 'saved', name));
    await start();

    await addLocal(range(11, 15));
    const second = await vdirsyncer(vdirConfig(), ['sync']);
    expect(second.code, second.output).toBe(0);
    const more = await syncToken();
    expect(paths.map((p) => more[p]?.count)).toEqual([15, 15]);
    await syncPhone();
  }, 240_000);

  it('holds DAV clients off after the database comes back older, and they keep every item', async () => {
    await stop();
    for (const name of await databaseFiles(data)) await rm(join(data, name));
    for (const name of await databaseFiles(join(dir, 'saved')))
      await copyFile(join(dir, 'saved', name), join(data, name));
    await start();
    const vdir = await vdirsyncer(vdirConfig(), ['sync']);
    const tokenSync = await syncToken();

    // What each client holds: nothing it had is gone (soft, so each client's loss shows on its own).
    const all = range(1, 15);
    expect.soft(await ids(contactsDir()), 'vdirsyncer contacts').toEqual(all.map((n) => card(n).id));
    expect.soft(await ids(calendarDir()), 'vdirsyncer events').toEqual(all.map((n) => event(n).id));
    const state = JSON.parse(await readFile(join(dir, 'sync-token.json'), 'utf8')) as {
      collections: Record<string, { items: Record<string, unknown> }>;
    };
    for (const path of paths) {
      expect.soft(Object.keys(state.collections[path]?.items ?? {}).length, `sync-token client ${path}`).toBe(15);
    }
    // Because the server answered them 503 with Retry-After, not a listing without what it lost.
    expect(vdir.code).not.toBe(0);
    expect(vdir.output).toMatch(/503/);
    expect(paths.map((p) => tokenSync[p]?.status)).toEqual([503, 503]);
    const held = await runCli(['recovery', 'list', '--data', data]);
    expect(held.stdout).toMatch(new RegExp(`^${USER}\\trollback_detected\\t`, 'm'));
  }, 240_000);

  it('serves them again once the device has re-seeded, with every item back on the server', async () => {
    const reseed = await syncPhone();
    expect(`${reseed.stdout}${reseed.stderr}`).toMatch(/re-?seed/i);
    expect((await runCli(['recovery', 'list', '--data', data])).stdout).toMatch(/No account is held/);

    const vdir = await vdirsyncer(vdirConfig(), ['sync']);
    expect(vdir.code, vdir.output).toBe(0);
    // Nothing to do: vdirsyncer still holds all the server now lists again, and deletes or fetches nothing.
    expect(vdir.output).not.toMatch(/Copying|Deleting/);
    const tokenSync = await syncToken();
    // Its first answer since the loss: the old token is refused, and the full listing has all it held.
    expect(
      paths.map((p) => [tokenSync[p]?.status, tokenSync[p]?.full, tokenSync[p]?.count, tokenSync[p]?.deleted]),
    ).toEqual([
      [207, true, 15, []],
      [207, true, 15, []],
    ]);
    const all = range(1, 15);
    expect(await ids(contactsDir())).toEqual(all.map((n) => card(n).id));
    expect(await ids(calendarDir())).toEqual(all.map((n) => event(n).id));
  }, 240_000);

  it('after a replaced database, serves them again once an operator accepts the loss', async () => {
    // The older copy again, now beside a high-water mark of the newer lineage: a replaced database.
    await stop();
    for (const name of await databaseFiles(data)) await rm(join(data, name));
    for (const name of await databaseFiles(join(dir, 'saved'))) {
      await copyFile(join(dir, 'saved', name), join(data, name));
    }
    await start();
    const vdir = await vdirsyncer(vdirConfig(), ['sync']);
    expect(vdir.output).toMatch(/503/);
    expect(await ids(contactsDir())).toHaveLength(15);
    expect((await runCli(['recovery', 'list', '--data', data])).stdout).toMatch(/database_replaced/);

    const accepted = await runCli(['recovery', 'accept', '--all', '--data', data]);
    expect(accepted.stdout, accepted.stderr).toMatch(/Loss accepted for 1 account/);
    const ledger = await runCli(['ledger', 'list', '--data', data]);
    expect(ledger.stdout).toMatch(/loss_accepted/);
    // Served again: the clients now follow the server, which is what accepting the loss means.
    const after = await vdirsyncer(vdirConfig(), ['sync']);
    expect(after.code, after.output).toBe(0);
    const tokenSync = await syncToken();
    expect(paths.map((p) => [tokenSync[p]?.status, tokenSync[p]?.count])).toEqual([
      [207, 10],
      [207, 10],
    ]);
  }, 240_000);
});
