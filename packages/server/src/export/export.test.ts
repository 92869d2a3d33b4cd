import { createHash } from 'node:crypto';
import { type SeededAccount, seedFullAccount } from '@holdfast/test-support/full-account';
import { addUser, engines, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { manifestSchema } from '../bundle/manifest.js';
import { allItemsAt, collectionsAt } from '../store/account-snapshot.js';
import { readHead } from '../store/revision-log.js';
import { bundleTexts, type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';
import { databaseLiveSource, verifyExport } from '../verify/verify.js';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

describe.each(engines)('export on %s', (engine) => {
  let f: FormatsFixture;
  let user: TestUser;
  let seeded: SeededAccount;
  let zip: string;
  let files: Map<string, string>;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
    user = await addUser(f.server);
    seeded = await seedFullAccount(f.server, user);
    zip = (await f.export('full.zip', {}, user)).path;
    files = new Map((await bundleTexts(zip, /./)).map((file) => [file.path, file.text]));
  });
  afterAll(async () => f.close());

  test('lays the account out by type, one file per collection, note or photo', () => {
    expect([...files.keys()].sort()).toEqual(
      [
        'calendars/My calendar.ics',
        'contacts/My contacts.vcf',
        'manifest.json',
        `messages/attachments/${sha256(seeded.attachment)}`,
        'messages/My messages/Mum.json',
        'messages/sms.xml',
        'notes/My notes/Shopping _ list.md',
        'photos/My photos/beach.png',
        'photos/My photos/beach.png.json',
        'tasks/My tasks.ics',
      ].sort(),
    );
  });

  test('contacts are the stored cards, byte for byte, each slice hashed in the manifest', () => {
    const manifest = manifestSchema.parse(JSON.parse(files.get('manifest.json') ?? ''));
    const vcf = files.get('contacts/My contacts.vcf') ?? '';
    expect(vcf).toBe(`${seeded.items.ada}${seeded.items.noTel}\r\n`);
    const contacts = manifest.collections.find((c) => c.type === 'contacts');
    expect(contacts?.items.map((i) => [i.id, i.uid, i.version])).toEqual([
      ['ada', 'ada', '4.0'],
      ['no-tel', null, '3.0'],
    ]);
    for (const item of contacts?.items ?? []) {
      const slice = Buffer.from(vcf).subarray(item.offset, (item.offset ?? 0) + (item.length ?? 0));
      expect(sha256(slice)).toBe(item.sha256);
    }
    expect(contacts?.fields).toEqual({
      items: 2,
      properties: 12,
      tel: 2,
      email: 2,
      adr: 1,
      url: 1,
      nickname: 1,
      withTel: 1,
    });
    expect(contacts?.items[0]?.fields).toEqual({ properties: 8, tel: 2, email: 1, adr: 1, nickname: 1, withTel: 1 });
  });

  test('a calendar is one VCALENDAR with each VTIMEZONE once and every event as stored', () => {
    const manifest = manifestSchema.parse(JSON.parse(files.get('manifest.json') ?? ''));
    const ics = files.get('calendars/My calendar.ics') ?? '';
    expect(ics.match(/BEGIN:VTIMEZONE/g)).toHaveLength(1);
    expect(ics.match(/BEGIN:VEVENT/g)).toHaveLength(2);
    expect(ics.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Seed//EN\r\nBEGIN:VTIMEZONE')).toBe(true);
    const calendar = manifest.collections.find((c) => c.type === 'calendar');
    expect(calendar?.sharedHead).toEqual(['VERSION:2.0\r\n', 'PRODID:-//Seed//EN\r\n']);
    expect(calendar?.items.map((i) => [i.id, i.timezones, i.head])).toEqual([
      ['review', ['Europe/Berlin'], undefined],
      ['standup', ['Europe/Berlin'], undefined],
    ]);
    expect(calendar?.fields).toEqual({
      items: 2,
      timezones: 1,
      components: 2,
      properties: 12,
      rrule: 1,
      withRrule: 1,
      alarms: 1,
      attendees: 1,
    });
  });

  test('notes carry front matter; photos are the original bytes with a sidecar; messages are JSON and SMS XML', () => {
    const manifest = manifestSchema.parse(JSON.parse(files.get('manifest.json') ?? ''));
    const note = files.get('notes/My notes/Shopping _ list.md') ?? '';
    const noteItem = manifest.collections.find((c) => c.type === 'notes')?.items[0];
    expect(note).toBe(
      `---\nid: "note-1"\nrevision: ${noteItem?.revision}\ntitle: "Shopping / list"\ncreated: "${noteItem?.createdAt}"\nupdated: "${noteItem?.updatedAt}"\n---\nmilk\n---\neggs`,
    );
    const photo = manifest.collections.find((c) => c.type === 'photos')?.items[0];
    expect(photo?.blob).toEqual({
      sha256: sha256(seeded.photo),
      contentType: 'image/png',
      size: seeded.photo.length,
      path: 'photos/My photos/beach.png',
    });
    expect(manifest.files.find((file) => file.path === 'photos/My photos/beach.png')?.sha256).toBe(
      sha256(seeded.photo),
    );
    expect(JSON.parse(files.get('photos/My photos/beach.png.json') ?? '')).toMatchObject({
      id: 'photo-1',
      caption: 'Sunset',
      filename: 'beach.png',
      meta: { width: 4, height: 3, size: seeded.photo.length },
    });
    const thread = JSON.parse(files.get('messages/My messages/Mum.json') ?? '') as {
      id: string;
      content: { body: string };
    }[];
    expect(thread.map((m) => [m.id, m.content.body])).toEqual([
      ['msg-2', 'OK\nlater'],
      ['msg-1', 'Call me <3 & "soon"'],
    ]);
    const sms = files.get('messages/sms.xml') ?? '';
    expect(sms).toMatch(/^<\?xml version='1.0' encoding='UTF-8' standalone='yes' \?>\n<smses count="2">\n/);
    expect(sms).toContain(
      `<sms protocol="0" address="+441234" date="${Date.parse('2024-01-02T09:00:00Z')}" type="2" subject="null" body="OK&#10;later"`,
    );
    expect(sms).toContain('type="1" subject="null" body="Call me &lt;3 &amp; &quot;soon&quot;"');
    expect(manifest.totals).toMatchObject({
      'contacts.tel': 2,
      'photos.bytes': seeded.photo.length,
      'messages.attachments': 1,
    });
  });

  test('the bundle verifies, and importing it into an empty account gives every item back byte for byte', async () => {
    const live = (who: TestUser) =>
      databaseLiveSource(f.server.ctx.db.kysely, { id: who.userId, username: who.username });
    expect(await verifyExport(zip, live(user))).toMatchObject({ ok: true, findings: [], live: { findings: [] } });
    const other = await addUser(f.server);
    const restored = await f.import(zip, {}, other);
    expect(restored.counts).toEqual({ created: 9, updated: 0, skipped: 0, rejected: 0 });
    expect(restored.items.map((i) => i.itemId).sort()).toEqual([
      'ada',
      'msg-1',
      'msg-2',
      'no-tel',
      'note-1',
      'photo-1',
      'review',
      'standup',
      'task',
    ]);
    // Same collections, same items, same bytes: the first bundle verifies against the second account.
    const report = await verifyExport(zip, live(other));
    expect(report.live?.findings).toEqual([]);
    expect((await f.import(zip, {}, other)).counts).toEqual({ created: 0, updated: 0, skipped: 9, rejected: 0 });
  });

  test('an export is one moment: later changes are not in it, items deleted later still are', async () => {
    const who = await addUser(f.server);
    const s = await seedFullAccount(f.server, who);
    const db = f.server.ctx.db.kysely;
    const moment = await readHead(db);
    await f.server.app.inject({ method: 'DELETE', url: `/v1/collections/${s.collections.notes}`, headers: who.auth });
    await f.import(
      await f.file('later.vcf', 'BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Later\r\nEND:VCARD\r\n'),
      { collectionId: s.collections.contacts },
      who,
    );
    const then = await collectionsAt(db, who.userId, moment);
    expect(then.map((c) => c.type)).toContain('notes');
    const contacts: string[] = [];
    for await (const item of allItemsAt(db, who.userId, s.collections.contacts, moment, 1)) contacts.push(item.id);
    expect(contacts).toEqual(['ada', 'no-tel']);
    const notes: string[] = [];
    for await (const item of allItemsAt(db, who.userId, s.collections.notes, moment))
      notes.push(item.revision.content ?? '');
    expect(notes).toEqual([JSON.stringify({ body: 'milk\n---\neggs', title: 'Shopping / list' })]);
    const now = await collectionsAt(db, who.userId, await readHead(db));
    expect(now.map((c) => c.type)).not.toContain('notes');
  });

  test('with vcard 3.0, cards are converted where nothing is lost, and kept as stored where it would be', async () => {
    const who = await addUser(f.server);
    const v21 =
      'BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans\r\nTEL;WORK;VOICE:+49 30 1234\r\nEND:VCARD\r\n';
    const v40 = 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Pref Person\r\nEMAIL;PREF=1:p@example.com\r\nEND:VCARD\r\n';
    await f.import(await f.file('versions.vcf', v21 + v40), {}, who);
    const { path, manifest } = await f.export('v3.zip', { vcard: '3.0' }, who);
    const items = manifest.collections[0]?.items ?? [];
    expect(items.map((i) => [i.version, i.originalVersion, i.conversionSkipped]).sort()).toEqual([
      ['3.0', '2.1', undefined],
      ['4.0', undefined, 'PREF has no vCard 3.0 equivalent'],
    ]);
    const vcf = (await bundleTexts(path, /\.vcf$/))[0]?.text ?? '';
    expect(vcf).toContain(
      'BEGIN:VCARD\r\nVERSION:3.0\r\nN:Müller;Hans\r\nTEL;TYPE=WORK;TYPE=VOICE:+49 30 1234\r\nEND:VCARD\r\n',
    );
    expect(vcf).toContain(v40);
    expect((await verifyExport(path)).findings).toEqual([]);
  });
});
