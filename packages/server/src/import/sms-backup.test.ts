import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MessageContent } from '@holdfast/protocol';
import { addUser, engines, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleTexts, type FormatsFixture, listContents, startFormatsFixture } from '../test-support/accounts.js';
import { joinedChunks, joinSurrogateReferences } from './sms-backup-text.js';

const fixtures = fileURLToPath(new URL('../../../../test/fixtures/', import.meta.url));
const smsFixture = `${fixtures}moving-in/sms-backup.xml`;

async function messages(f: FormatsFixture, user: TestUser, collectionId: string): Promise<MessageContent[]> {
  const contents = [...(await listContents(f.server, user, collectionId)).values()] as MessageContent[];
  return contents.sort((a, b) => a.sentAt.localeCompare(b.sentAt));
}

async function blobBytes(f: FormatsFixture, user: TestUser, sha: string): Promise<Buffer> {
  const response = await f.server.app.inject({ method: 'GET', url: `/v1/blobs/${sha}`, headers: user.auth });
  expect(response.statusCode).toBe(200);
  return response.rawPayload;
}

describe('surrogate references', () => {
  test('joins a pair into one reference to the character and replaces a lone half', () => {
    expect(joinSurrogateReferences('a &#55357;&#56832; b')).toBe('a &#128512; b');
    expect(joinSurrogateReferences('&#xD83D;&#xDE00;')).toBe('&#128512;');
    expect(joinSurrogateReferences('&#55357;x &#56832;')).toBe('&#65533;x &#65533;');
    expect(joinSurrogateReferences('&#38;&#55357;&#56832;&amp;')).toBe('&#38;&#128512;&amp;');
  });

  test('joins pairs split across chunks anywhere', async () => {
    const text = 'ab &#55357;&#56832; cd &#65; &amp; end';
    for (let cut = 0; cut <= text.length; cut++) {
      async function* two() {
        yield text.slice(0, cut);
        yield text.slice(cut);
      }
      let out = '';
      for await (const chunk of joinedChunks(two())) out += chunk;
      expect(out).toBe('ab &#128512; cd &#65; &amp; end');
    }
  });
});

describe.each(engines)('SMS Backup & Restore import on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  test('imports SMS and MMS into threads, with pictures as blobs, once, and undoes', async () => {
    const user = await addUser(f.server);
    const report = await f.import(smsFixture, {}, user);
    expect(report.format).toBe('sms-backup');
    expect(report.counts).toEqual({ created: 6, updated: 0, skipped: 1, rejected: 1 });
    expect(report.items.map((i) => [i.source, i.status])).toEqual([
      ['sms 1 (line 5)', 'created'],
      ['sms 2 (line 6)', 'created'],
      ['sms 3 (line 7)', 'skipped'],
      ['sms 4 (line 8)', 'created'],
      ['sms 5 (line 9)', 'rejected'],
      ['mms 6 (line 10)', 'created'],
      ['mms 7 (line 22)', 'created'],
      ['mms 8 (line 32)', 'created'],
    ]);
    expect(report.items[4]?.reason).toBe('a draft, never sent; not imported');
    const [collection] = report.collectionsCreated;
    expect(collection).toMatchObject({ type: 'messages', name: 'Messages' });
    const stored = await messages(f, user, collection?.id ?? '');
    const jpeg = await readFile(`${fixtures}corpus/images/photo-exif.jpg`);
    const png = await readFile(`${fixtures}corpus/images/photo.png`);
    expect(stored.map((m) => ({ ...m, attachments: m.attachments.map((a) => a.filename) }))).toEqual([
      {
        thread: 'BANK',
        sender: 'BANK',
        recipients: ['me'],
        body: 'Your code is 123456',
        sentAt: '2026-12-04T16:00:00.000Z',
        direction: 'incoming',
        attachments: [],
      },
      {
        thread: '+15550100001',
        sender: '+15550100001',
        recipients: ['me'],
        body: 'Dinner at 8? Bring the wine & the "good" cheese 😀',
        sentAt: '2026-12-05T17:00:00.000Z',
        direction: 'incoming',
        attachments: [],
      },
      {
        thread: '+15550100001',
        sender: 'me',
        recipients: ['+15550100001'],
        body: 'Yes! See you there.\nSecond line.',
        sentAt: '2026-12-05T17:02:00.000Z',
        direction: 'outgoing',
        attachments: [],
      },
      {
        thread: '+15550100001, +15550100002',
        sender: '+15550100001',
        recipients: ['me', '+15550100002'],
        body: 'Look at the view from the top',
        sentAt: '2026-12-05T18:00:00.000Z',
        direction: 'incoming',
        attachments: ['IMG_0001.jpg'],
      },
      {
        thread: '+15550100002',
        sender: 'me',
        recipients: ['+15550100002'],
        body: 'Plans\nMeet here 🍴',
        sentAt: '2026-12-05T19:00:00.000Z',
        direction: 'outgoing',
        attachments: ['map.png'],
      },
      {
        thread: '+15550100002',
        sender: 'me',
        recipients: ['+15550100002'],
        body: 'Long text sent as MMS',
        sentAt: '2026-12-05T19:01:40.000Z',
        direction: 'outgoing',
        attachments: [],
      },
    ]);
    const picture = stored[3]?.attachments[0];
    expect(picture?.contentType).toBe('image/jpeg');
    expect((await blobBytes(f, user, picture?.sha256 ?? '')).equals(jpeg)).toBe(true);
    expect((await blobBytes(f, user, stored[4]?.attachments[0]?.sha256 ?? '')).equals(png)).toBe(true);

    const again = await f.import(smsFixture, {}, user);
    expect(again.counts).toEqual({ created: 0, updated: 0, skipped: 7, rejected: 1 });
    expect(again.firstRevision).toBeNull();

    const undo = await f.server.app.inject({
      method: 'POST',
      url: `/v1/imports/${report.importId}/undo`,
      headers: user.auth,
    });
    expect(undo.statusCode).toBe(200);
    expect(undo.json()).toMatchObject({ undone: 6, kept: [] });
    expect(await messages(f, user, collection?.id ?? '')).toEqual([]);
  });

  test('exports and imports into a fresh account as the same messages and pictures', async () => {
    const user = await addUser(f.server);
    const first = await f.import(smsFixture, {}, user);
    const before = await messages(f, user, first.collectionsCreated[0]?.id ?? '');
    const { path } = await f.export('sms-roundtrip.zip', {}, user);
    const fresh = await addUser(f.server);
    const second = await f.import(path, {}, fresh);
    expect(second.counts).toMatchObject({ created: 6, rejected: 0 });
    const after = await messages(f, fresh, second.collectionsCreated[0]?.id ?? '');
    expect(after).toEqual(before);
    for (const message of after) {
      for (const a of message.attachments) {
        expect((await blobBytes(f, fresh, a.sha256)).equals(await blobBytes(f, user, a.sha256))).toBe(true);
      }
    }
  });

  test("the export's sms.xml imports as the same texts (pictures stay in the bundle's JSON copy)", async () => {
    const user = await addUser(f.server);
    const first = await f.import(smsFixture, {}, user);
    const before = await messages(f, user, first.collectionsCreated[0]?.id ?? '');
    const { path } = await f.export('sms-xml.zip', {}, user);
    const [xml] = await bundleTexts(path, /sms\.xml$/);
    const fresh = await addUser(f.server);
    const second = await f.import(await f.file('exported-sms.xml', xml?.text ?? ''), {}, fresh);
    expect(second.counts).toEqual({ created: 6, updated: 0, skipped: 0, rejected: 0 });
    const after = await messages(f, fresh, second.collectionsCreated[0]?.id ?? '');
    const texts = before.filter((m) => m.attachments.length === 0);
    expect(texts).toHaveLength(4);
    for (const message of texts) expect(after).toContainEqual(message);
  });

  test('a cut-off backup keeps the messages before the cut and says where it stopped', async () => {
    const user = await addUser(f.server);
    const text = await readFile(smsFixture, 'utf8');
    const cut = text.slice(0, text.indexOf('<sms protocol="0" address="BANK"') + 60);
    const report = await f.import(await f.file('sms-cut.xml', cut), {}, user);
    expect(report.counts).toEqual({ created: 2, updated: 0, skipped: 1, rejected: 1 });
    expect(report.items.at(-1)).toMatchObject({ source: 'file', status: 'rejected' });
    expect(report.items.at(-1)?.reason).toMatch(/^not well-formed XML, read up to here: /);
  });

  test('many pictures stored at once keep the file order, each attached to its own message', async () => {
    const user = await addUser(f.server);
    // More MMS than are stored at once, each between texts, so later pictures finish while earlier ones wait.
    const lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<smses count="120">'];
    const pictures = new Map<number, Buffer>();
    for (let i = 0; i < 120; i++) {
      const date = 1_790_000_000_000 + i * 1000;
      if (i % 3 === 1) {
        const bytes = Buffer.concat([
          Buffer.from([0xff, 0xd8, 0xff]),
          Buffer.from(`picture ${i} `.repeat(1 + (i % 7) * 500)),
        ]);
        pictures.set(i, bytes);
        lines.push(
          `<mms date="${date}" msg_box="1" address="+1555000${i % 4}"><parts><part seq="0" ct="image/jpeg" cl="p${i}.jpg" data="${bytes.toString('base64')}" /><part seq="0" ct="text/plain" text="caption ${i}" /></parts><addrs><addr address="+1555000${i % 4}" type="137" /></addrs></mms>`,
        );
      } else {
        lines.push(`<sms address="+1555000${i % 4}" date="${date}" type="1" body="text ${i}" />`);
      }
    }
    lines.push('</smses>');
    const report = await f.import(await f.file('many-pictures.xml', lines.join('\n')), {}, user);
    expect(report.counts).toEqual({ created: 120, updated: 0, skipped: 0, rejected: 0 });
    expect(report.items.map((i) => i.source)).toEqual(
      Array.from({ length: 120 }, (_, i) => `${i % 3 === 1 ? 'mms' : 'sms'} ${i + 1} (line ${i + 3})`),
    );
    const stored = await messages(f, user, report.collectionsCreated[0]?.id ?? '');
    expect(stored.map((m) => m.body)).toEqual(
      Array.from({ length: 120 }, (_, i) => (i % 3 === 1 ? `caption ${i}` : `text ${i}`)),
    );
    for (const [i, bytes] of pictures) {
      const [attachment] = stored[i]?.attachments ?? [];
      expect(attachment?.filename).toBe(`p${i}.jpg`);
      expect((await blobBytes(f, user, attachment?.sha256 ?? '')).equals(bytes)).toBe(true);
    }
  });

  test('emoji written as surrogate pairs, in texts, names and captions, and lone halves arrive as characters', async () => {
    const user = await addUser(f.server);
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<smses count="3">',
      '<sms address="+15550001" date="1790000000000" type="1" body="hi &#55357;&#56832; &#xD83D;&#xDE80;!" />',
      '<sms address="+15550001" date="1790000001000" type="1" body="half &#55357; and &#56832;&amp;" />',
      '<mms date="1790000002000" msg_box="1" address="+15550001"><parts><part seq="0" ct="text/plain" text="caption &#55356;&#57225;" /></parts><addrs><addr address="+15550001" type="137" /></addrs></mms>',
      '</smses>',
    ].join('\n');
    const report = await f.import(await f.file('emoji.xml', xml), {}, user);
    expect(report.counts).toEqual({ created: 3, updated: 0, skipped: 0, rejected: 0 });
    const stored = await messages(f, user, report.collectionsCreated[0]?.id ?? '');
    expect(stored.map((m) => m.body)).toEqual(['hi 😀 🚀!', 'half \uFFFD and \uFFFD&', 'caption 🎉']);
  });

  test('POST /v1/import recognises a backup by its root element, whatever its name', async () => {
    const user = await addUser(f.server);
    const response = await f.server.app.inject({
      method: 'POST',
      url: '/v1/import?name=backup.bin',
      headers: { ...user.auth, 'content-type': 'application/octet-stream' },
      payload: await readFile(smsFixture),
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ format: 'sms-backup', counts: { created: 6 } });
  });
});
