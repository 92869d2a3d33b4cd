import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api } from '@holdfast/test-support/processes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DavServer, startDavServer } from './dav-server.js';

const card = (uid: string, name: string) =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${uid}\r\nFN:${name}\r\nN:${name};;;;\r\nEND:VCARD\r\n`;
const weekly = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//Holdfast//vdirsyncer check//EN',
  'BEGIN:VEVENT',
  'UID:vd-weekly',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20260302T090000Z',
  'DTEND:20260302T100000Z',
  'RRULE:FREQ=WEEKLY;COUNT=4',
  'SUMMARY:Weekly planning',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

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

/** The file in a vdir whose text contains `needle`. */
async function fileWith(dir: string, needle: string): Promise<{ name: string; text: string } | undefined> {
  for (const name of await readdir(dir)) {
    const text = await readFile(join(dir, name), 'utf8');
    if (text.includes(needle)) return { name, text };
  }
  return undefined;
}

/** vdirsyncer (Debian) syncs a real `holdfast serve` with local vdirs, both ways, for contacts and calendars. */
describe.each(['sqlite', 'postgres'] as const)('vdirsyncer against holdfast serve on %s', (engine) => {
  let server: DavServer;
  let dir: string;
  let config: string;
  const json = (method: string, path: string, body?: unknown) =>
    api(server.url, method, path, { token: server.token, body });
  const sync = async () => {
    const run = await vdirsyncer(config, ['sync']);
    expect(run.code, `${run.output}\n--- server ---\n${server.output()}`).toBe(0);
  };

  beforeAll(async () => {
    server = await startDavServer(engine, `vdir-${engine}`);
    dir = await mkdtemp(join(tmpdir(), 'holdfast-vdir-'));
    config = join(dir, 'config');
    const remote = `url = "${server.url}"\nusername = "${server.username}"\npassword = "${server.appPassword}"\n`;
    await writeFile(
      config,
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
    // On the server: an address book with Ada and a calendar with a weekly event.
    expect((await json('POST', '/v1/collections', { id: 'people', type: 'contacts', name: 'People' })).status).toBe(
      201,
    );
    expect((await json('POST', '/v1/collections', { id: 'work', type: 'calendar', name: 'Work' })).status).toBe(201);
    const pushed = await json('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: 'vd-1',
          collectionId: 'people',
          itemId: 'ada',
          op: 'put',
          baseRevision: null,
          content: card('ada', 'Ada Lovelace'),
        },
        {
          clientChangeId: 'vd-2',
          collectionId: 'work',
          itemId: 'vd-weekly',
          op: 'put',
          baseRevision: null,
          content: weekly,
        },
      ],
    });
    expect(pushed.body.results.map((r: { status: string }) => r.status)).toEqual(['applied', 'applied']);
    // Locally: an address book the server does not have yet, with Grace in it.
    await mkdir(join(dir, 'contacts', 'laptop'), { recursive: true });
    await writeFile(join(dir, 'contacts', 'laptop', 'grace.vcf'), card('grace', 'Grace Hopper'));
    await writeFile(join(dir, 'contacts', 'laptop', 'hedy.vcf'), card('hedy', 'Hedy Lamarr'));
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('discovers the collections on both sides and creates the missing ones', async () => {
    const discover = await vdirsyncer(config, ['discover'], 'y\n'.repeat(10));
    expect(discover.code, discover.output).toBe(0);
    await sync();
    const collections = (await json('GET', '/v1/collections')).body.collections as { id: string; type: string }[];
    // The task list is the default one made on first discovery: this account never had one.
    expect(collections.map((c) => `${c.id}:${c.type}`).sort()).toEqual([
      'laptop:contacts',
      'people:contacts',
      'tasks:tasks',
      'work:calendar',
    ]);
  }, 120_000);

  it('downloads exactly what the server holds and uploads what is local', async () => {
    expect((await fileWith(join(dir, 'contacts', 'people'), 'UID:ada'))?.text).toBe(card('ada', 'Ada Lovelace'));
    expect((await fileWith(join(dir, 'calendars', 'work'), 'UID:vd-weekly'))?.text).toBe(weekly);
    const grace = await json('GET', '/v1/items/grace');
    expect(grace.body).toMatchObject({ collectionId: 'laptop', content: card('grace', 'Grace Hopper') });
  });

  it('carries later edits and deletions both ways', async () => {
    const ada = (await json('GET', '/v1/items/ada')).body;
    const edited = await json('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: 'vd-3',
          collectionId: 'people',
          itemId: 'ada',
          op: 'put',
          baseRevision: ada.revision,
          content: card('ada', 'Ada King'),
        },
      ],
    });
    expect(edited.body.results[0].status).toBe('applied');
    const weeklyFile = await fileWith(join(dir, 'calendars', 'work'), 'UID:vd-weekly');
    await writeFile(
      join(dir, 'calendars', 'work', weeklyFile?.name as string),
      weekly.replace('Weekly planning', 'Weekly review'),
    );
    await rm(join(dir, 'contacts', 'laptop', 'grace.vcf'));
    await sync();

    expect((await fileWith(join(dir, 'contacts', 'people'), 'UID:ada'))?.text).toBe(card('ada', 'Ada King'));
    const event = await json('GET', '/v1/items/vd-weekly/revisions');
    const revisions = event.body.revisions as { deviceId: string; content: string }[];
    expect(revisions.at(-1)?.content).toContain('SUMMARY:Weekly review');
    expect(revisions.at(-1)?.deviceId).toBe(server.appPasswordId);
    expect((await json('GET', '/v1/items/grace?includeDeleted=true')).body.deleted).toBe(true);
    // Nothing left to do: a second sync changes nothing on the server.
    const head = (await json('GET', '/v1/me')).body.head;
    await sync();
    expect((await json('GET', '/v1/me')).body.head).toBe(head);
  }, 120_000);
});
