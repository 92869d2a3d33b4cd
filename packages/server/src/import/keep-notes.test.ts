import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unfoldLines } from '@holdfast/protocol';
import { addUser, engines, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';
import { addDavUser } from '../test-support/dav.js';
import { zipFolder } from '../test-support/zip-folder.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));
const takeout = `${fixtures}moving-in/takeout`;
const keep = 'Takeout/Keep';
const attachment = '1684050067000.9f8e7d6c5b4a3921.jpg';

interface Note {
  id: string;
  content: { title: string; body: string; ical?: string };
}

async function collectionOf(f: FormatsFixture, user: TestUser, type: string): Promise<string | undefined> {
  const collections = await f.server.app.inject({ method: 'GET', url: '/v1/collections', headers: user.auth });
  return (collections.json().collections as { id: string; type: string }[]).find((c) => c.type === type)?.id;
}

async function items<T>(f: FormatsFixture, user: TestUser, type: string): Promise<T[]> {
  const id = await collectionOf(f, user, type);
  if (!id) return [];
  const response = await f.server.app.inject({
    method: 'GET',
    url: `/v1/collections/${id}/items?limit=1000`,
    headers: user.auth,
  });
  return response.json().items as T[];
}

const notes = async (f: FormatsFixture, user: TestUser) =>
  (await items<Note>(f, user, 'notes')).sort((a, b) => a.content.title.localeCompare(b.content.title));

/** The journal entry's lines between BEGIN:VJOURNAL and END:VJOURNAL, unfolded. */
function journalLines(ical: string | undefined): string[] {
  const lines = unfoldLines(ical ?? '').map((l) => l.text);
  return lines.slice(lines.indexOf('BEGIN:VJOURNAL') + 1, lines.indexOf('END:VJOURNAL'));
}

describe.each(engines)('Google Keep notes from Takeout on %s', (engine) => {
  let f: FormatsFixture;
  let jfif: Buffer;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
    jfif = await readFile(`${fixtures}corpus/images/photo-jfif.jpg`);
  });
  afterAll(async () => f.close());

  test.each(['folder', 'zip'])(
    'a Takeout %s: notes with checklists, links, labels, colour, pinned, archived, dates and pictures; trash skipped; once; undone',
    async (kind) => {
      const user = await addUser(f.server);
      const path = kind === 'folder' ? takeout : await zipFolder(takeout, join(f.dir, `keep-${engine}.zip`));
      const report = await f.import(path, {}, user);
      const ofKeep = report.items.filter((i) => i.source.startsWith(`${keep}/`));
      expect(ofKeep.map((i) => [i.source, i.status, i.type ?? null, i.reason ?? null])).toEqual([
        [`${keep}/${attachment}`, 'created', 'photos', null],
        [`${keep}/2023-02-11T08_15_42.123+01_00.json`, 'created', 'notes', null],
        [`${keep}/Harbour walk.json`, 'created', 'notes', null],
        [`${keep}/Old idea.json`, 'skipped', null, "in Keep's trash; not imported"],
        [`${keep}/Shopping list.json`, 'created', 'notes', null],
      ]);
      // The .html twins and Labels.txt are passed over without a report line.
      expect(report.items.filter((i) => /\.(html|txt)$/.test(i.source)).map((i) => i.source)).toEqual([
        'Takeout/archive_browser.html',
      ]);
      expect(report.counts).toEqual({ created: 10, updated: 0, skipped: 1, rejected: 1 });

      const stored = await notes(f, user);
      expect(stored.map((n) => [n.content.title, n.content.body])).toEqual([
        ['', 'Call the plumber about the boiler.'],
        [
          'Harbour walk',
          'Walked from the ferry to the lighthouse.\nBring a jacket next time: the wind, *again*.\n\n' +
            '[Lighthouse \\[visitor\\] info](https://example.invalid/lighthouse?tab=hours)',
        ],
        ['Shopping list', '- [ ] Oat milk\n- [x] Bread, rye\n- [ ] Tomatoes & basil'],
      ]);
      const [untitled, walk, shopping] = stored;
      expect(journalLines(untitled?.content.ical)).toEqual([
        'UID:keep-1676099742123000',
        'DTSTAMP:20230211T071542Z',
        'CREATED:20230211T071542Z',
        'LAST-MODIFIED:20230211T071542Z',
        'DESCRIPTION:Call the plumber about the boiler.',
        'COLOR:red',
        'X-KEEP-COLOR:RED',
        'X-KEEP-ARCHIVED:TRUE',
      ]);
      const sha = 'akuiMyWo2mNdyQnMgkrj4nV807vjmCqIwg4yNuyDMSk';
      expect(journalLines(walk?.content.ical)).toEqual([
        'UID:keep-1684050067000000',
        'DTSTAMP:20230514T160000Z',
        'CREATED:20230514T074107Z',
        'LAST-MODIFIED:20230514T160000Z',
        'SUMMARY:Harbour walk',
        'DESCRIPTION:Walked from the ferry to the lighthouse.\\nBring a jacket next time: the wind\\, *again*.\\n\\n' +
          '[Lighthouse \\\\[visitor\\\\] info](https://example.invalid/lighthouse?tab=hours)',
        'CATEGORIES:Walks',
        // The note names the picture (which the JPEG beside it was read as) by the SHA-256 of its bytes.
        `ATTACH;FMTTYPE=image/jpeg;FILENAME=${attachment}:ni:///sha-256;${sha}`,
      ]);
      expect(journalLines(shopping?.content.ical)).toEqual([
        'UID:keep-1699900000123456',
        'DTSTAMP:20231114T221523Z',
        'CREATED:20231113T182640Z',
        'LAST-MODIFIED:20231114T221523Z',
        'SUMMARY:Shopping list',
        'DESCRIPTION:- [ ] Oat milk\\n- [x] Bread\\, rye\\n- [ ] Tomatoes & basil',
        'CATEGORIES:Errands,Home\\; kitchen',
        'COLOR:yellow',
        'X-KEEP-COLOR:YELLOW',
        'X-KEEP-PINNED:TRUE',
      ]);
      const photos = await items<{ content: { filename?: string }; blob: { sha256: string } }>(f, user, 'photos');
      const picture = photos.find((p) => p.content.filename === attachment);
      expect(Buffer.from(picture?.blob.sha256 ?? '', 'hex').toString('base64url')).toBe(sha);
      const bytes = await f.server.app.inject({
        method: 'GET',
        url: `/v1/blobs/${picture?.blob.sha256}`,
        headers: user.auth,
      });
      expect(bytes.rawPayload.equals(jfif)).toBe(true);

      const again = await f.import(path, {}, user);
      expect(again.counts).toEqual({ created: 0, updated: 0, skipped: 11, rejected: 1 });
      expect(again.firstRevision).toBeNull();

      const undo = await f.server.app.inject({
        method: 'POST',
        url: `/v1/imports/${report.importId}/undo`,
        headers: user.auth,
      });
      expect(undo.statusCode).toBe(200);
      expect(undo.json()).toMatchObject({ undone: 10, kept: [] });
      expect(await notes(f, user)).toEqual([]);
    },
  );

  test('a later Takeout with an edited note updates that note and leaves the rest', async () => {
    const user = await addUser(f.server);
    await f.import(takeout, {}, user);
    const before = await notes(f, user);
    const later = join(f.dir, `later-${engine}`);
    await cp(takeout, later, { recursive: true });
    const list = join(later, keep, 'Shopping list.json');
    const json = JSON.parse(await readFile(list, 'utf8'));
    json.listContent[0].isChecked = true;
    json.userEditedTimestampUsec = 1700100000000000;
    await writeFile(list, JSON.stringify(json));

    const report = await f.import(later, {}, user);
    expect(report.counts).toEqual({ created: 0, updated: 1, skipped: 10, rejected: 1 });
    expect(report.items.find((i) => i.status === 'updated')?.source).toBe(`${keep}/Shopping list.json`);
    const after = await notes(f, user);
    expect(after.map((n) => n.id)).toEqual(before.map((n) => n.id));
    expect(after[2]?.content.body).toBe('- [x] Oat milk\n- [x] Bread, rye\n- [ ] Tomatoes & basil');
  });

  test('a Takeout ZIP dropped into the WebDAV Inbox imports the notes the same way', async () => {
    const user = await addDavUser(f.server, `keep-inbox-${engine}`);
    const url = await f.server.app.listen({ host: '127.0.0.1', port: 0 });
    const zip = await readFile(await zipFolder(takeout, join(f.dir, `inbox-${engine}.zip`)));
    const put = await fetch(`${url}/dav/files/${user.username}/Inbox/takeout-20261207.zip`, {
      method: 'PUT',
      headers: { ...user.basic, 'content-type': 'application/zip' },
      body: zip,
    });
    expect(put.status).toBe(201);
    const text = await put.text();
    expect(text).toContain('(archive, takeout-20261207.zip): 10 created, 0 updated, 1 skipped, 1 rejected');
    expect(text).toContain(`skipped  ${keep}/Old idea.json: in Keep's trash; not imported`);
    const stored = await notes(f, user);
    expect(stored.map((n) => n.content.title)).toEqual(['', 'Harbour walk', 'Shopping list']);

    // A journal app sees the labels, colour and flags over CalDAV: the journal entry is served as imported.
    const collection = await collectionOf(f, user, 'notes');
    const shopping = stored[2];
    const served = await fetch(`${url}/dav/calendars/${user.username}/${collection}/${shopping?.id}.ics`, {
      headers: user.basic,
    });
    expect(served.status).toBe(200);
    expect(await served.text()).toBe(shopping?.content.ical);
  });
});

describe.each(engines)('Keep files that are not notes on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  test('are reported, or passed over when they hold nothing, and the notes beside them still come in', async () => {
    const folder = join(f.dir, `keep-odd-${engine}`);
    await mkdir(join(folder, 'Takeout', 'Keep'), { recursive: true });
    const file = (name: string, text: string) => writeFile(join(folder, 'Takeout', 'Keep', name), text);
    await file('Broken.json', '{"title":"Broken","textContent":');
    await file('Odd.json', JSON.stringify({ title: 'Odd', listContent: 'milk' }));
    await file('Sidecar.jpg.json', JSON.stringify({ title: 'Sidecar.jpg', photoTakenTime: { timestamp: '1' } }));
    await file('Lonely.html', '<html lang="en"><body>no JSON twin</body></html>');
    await file('Labels.txt', 'Nothing\n');
    await file('Plain.json', JSON.stringify({ textContent: 'Only text', title: 'Plain' }));
    // Longer than a title may be, with an emoji where it is cut.
    await file('Long.json', JSON.stringify({ textContent: 'x', title: `${'a'.repeat(999)}\u{1F600}tail` }));
    const report = await f.import(folder, {}, f.user);
    expect(report.items.map((i) => [i.source, i.status, i.reason ?? null])).toEqual([
      ['Takeout/Keep/Broken.json', 'rejected', expect.stringMatching(/^not JSON: /)],
      ['Takeout/Keep/Lonely.html', 'rejected', 'not a photo, vCard or iCalendar file; not imported'],
      ['Takeout/Keep/Long.json', 'created', null],
      [
        'Takeout/Keep/Odd.json',
        'rejected',
        'not a Google Keep note (listContent: Invalid input: expected array, received string)',
      ],
      ['Takeout/Keep/Plain.json', 'created', null],
    ]);
    const [long, plain] = await notes(f, f.user);
    expect(long?.content.title).toBe('a'.repeat(999));
    expect(plain?.content).toMatchObject({ title: 'Plain', body: 'Only text' });
    // No creation time: the UID comes from the file's path, the same in every copy of the archive.
    expect(journalLines(plain?.content.ical)[0]).toMatch(/^UID:keep-[0-9a-f]{64}$/);
  });
});
