/**
 * What real files carry beyond plain events and cards, kept through import,
 * export and verify: declared Windows-1252, journal entries (as notes),
 * free/busy replies, components with no VCALENDAR around them, calendar
 * headers that differ between items, and cards converted to vCard 3.0. The
 * files are the project's corpus (test/fixtures/corpus, see its README).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledCorpusDir } from '@holdfast/test-support/corpus';
import { addUser, engines } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { componentKey, semanticComponents } from '../content/semantic.js';
import { decodeQuotedPrintableText } from '../content/semantic-charset.js';
import { parseNote } from '../export/export-notes.js';
import {
  bundleTexts,
  type FormatsFixture,
  listContents,
  rewriteZip,
  startFormatsFixture,
} from '../test-support/accounts.js';
import { databaseLiveSource, verifyExport } from '../verify/verify.js';

const corpus = (path: string) => readFileSync(join(bundledCorpusDir, path));
const C1 = /[\u0080-\u009F]/;

describe.each(engines)('formats kept on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  const verifyLive = async (zip: string, user: { userId: string; username: string }) => {
    const report = await verifyExport(
      zip,
      databaseLiveSource(f.server.ctx.db.kysely, { id: user.userId, username: user.username }),
    );
    return [...report.findings, ...(report.live?.findings ?? [])].map((x) => `${x.where}: ${x.message}`);
  };

  test('declared Windows-1252 is read as windows-1252, and the UTF-8 export drops the CHARSET that no longer holds', async () => {
    const user = await addUser(f.server);
    const report = await f.import(await f.file('zoe.vcf', corpus('vcard/outlook-2016-cp1252-declared.vcf')), {}, user);
    expect(report.items.map((i) => [i.status, i.encoding])).toEqual([['created', 'windows-1252']]);
    const [card] = [...(await listContents(f.server, user, report.items[0]?.collectionId ?? '')).values()] as string[];
    expect(card).toContain('ORG;CHARSET=Windows-1252:Café „Zur Brücke“ – Rösterei');
    expect(card).toContain('NOTE;CHARSET=Windows-1252:Bohnen à 12,50 € pro kg … Lieferung ‘dienstags’ ™');
    expect(card).not.toMatch(C1);

    const { path: zip } = await f.export('zoe.zip', {}, user);
    const [file] = await bundleTexts(zip, /^contacts\/.*\.vcf$/);
    const text = file?.text ?? '';
    expect(text).toContain('\r\nORG:Café „Zur Brücke“ – Rösterei\r\n');
    expect(text).toContain('\r\nN;LANGUAGE=de:Günther;Zoë;;Frau;\r\n');
    // Only the QUOTED-PRINTABLE value still needs its charset: its bytes are windows-1252.
    expect(text.match(/CHARSET=[^;:]+/g)).toEqual(['CHARSET=Windows-1252']);
    expect(text).toContain('LABEL;WORK;PREF;CHARSET=Windows-1252;ENCODING=QUOTED-PRINTABLE:');
    expect(await verifyLive(zip, user)).toEqual([]);
    // A bundle that kept the stale CHARSET fails verify.
    const stale = join(f.dir, 'zoe-stale.zip');
    await rewriteZip(zip, stale, (path, bytes) =>
      path.endsWith('.vcf')
        ? Buffer.from(bytes.toString('utf8').replace('\r\nORG:', '\r\nORG;CHARSET=Windows-1252:'))
        : bytes,
    );
    const findings = (await verifyExport(stale)).findings.map((x) => x.message);
    expect(findings).toContain(
      'ORG;CHARSET=Windows-1252: a CHARSET other than UTF-8 on a value that is not QUOTED-PRINTABLE, in a UTF-8 file',
    );
  });

  test('verify reads a declared charset the WHATWG way, on its own', () => {
    expect(decodeQuotedPrintableText('=80 =84=93 =96 =85 =FC', 'Windows-1252')).toBe('€ „“ – … ü');
    expect(decodeQuotedPrintableText('=80', 'ISO-8859-1')).toBe('€');
    expect(decodeQuotedPrintableText('=A4', 'ISO-8859-15')).toBe('€');
  });

  test('a journal entry becomes a note that keeps its whole VJOURNAL; free/busy is skipped as nothing to keep', async () => {
    const user = await addUser(f.server);
    const bytes = corpus('ical/jtx-board-note-attach.ics');
    const report = await f.import(await f.file('shed.ics', bytes), {}, user);
    expect(report.counts).toEqual({ created: 1, updated: 0, skipped: 0, rejected: 0 });
    expect(report.collectionsCreated.map((c) => c.type)).toEqual(['notes']);
    const [note] = [...(await listContents(f.server, user, report.items[0]?.collectionId ?? '')).values()];
    expect(note).toEqual({
      title: 'Shed plans',
      body: '# Shed\n\n- 2.4 m × 1.8 m, pent roof\n- **treated** timber only\n\nSee [the sketch](sketch.png).',
      ical: bytes.toString('utf8'),
    });

    const freeBusy = await f.import(await f.file('fb.ics', corpus('ical/davmail-freebusy.ics')), {}, user);
    expect(freeBusy.counts).toEqual({ created: 0, updated: 0, skipped: 1, rejected: 0 });
    expect(freeBusy.items[0]?.reason).toMatch(
      /^VFREEBUSY at line 5 \(UID [^)]+\): a free\/busy list is worked out from the events/,
    );

    const { path: zip } = await f.export('shed.zip', {}, user);
    const [file] = await bundleTexts(zip, /^notes\//);
    expect(parseNote(file?.text ?? '').front.ical).toBe(bytes.toString('utf8'));
    expect(await verifyLive(zip, user)).toEqual([]);
    // The bundle brings the note back whole: importing it again changes nothing.
    const again = await f.import(zip, {}, user);
    expect(again.counts).toEqual({ created: 0, updated: 0, skipped: 1, rejected: 0 });
  });

  test('a VEVENT with no VCALENDAR around it is salvaged, its folded lines read as one', async () => {
    const user = await addUser(f.server);
    const bytes = corpus('ical/bare-vevent-folded.ics');
    const report = await f.import(await f.file('review.txt', bytes), {}, user);
    expect(report.items.map((i) => [i.status, i.uid])).toEqual([
      ['created', 'bare-19970901T130000Z-123401@example.com'],
    ]);
    const [event] = [...(await listContents(f.server, user, report.items[0]?.collectionId ?? '')).values()];
    expect(event).toBe(
      `BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Holdfast//Import//EN\n${bytes.toString('utf8')}END:VCALENDAR\n`,
    );
    // Stray text is reported once per logical line, folds and all.
    const other = await addUser(f.server);
    const stray = await f.import(await f.file('stray.ics', `X-NOTE:by hand,\n  folded\n${bytes}`), {}, other);
    expect(stray.items.map((i) => [i.status, i.reason ?? ''])).toEqual([
      ['rejected', "line 1 is outside any VCALENDAR ('X-NOTE:by hand, folded'); not imported"],
      ['created', ''],
    ]);
  });

  test('calendar properties of items from different files stay in the .ics', async () => {
    const user = await addUser(f.server);
    const calendar = await f.collection('calendar', 'Mixed', user);
    for (const name of ['google-published-headers.ics', 'apple-calendar-color-header.ics']) {
      const report = await f.import(await f.file(name, corpus(`ical/${name}`)), { collectionId: calendar }, user);
      expect(report.counts.created).toBe(1);
    }
    const { path: zip, manifest } = await f.export('mixed.zip', {}, user);
    const [file] = await bundleTexts(zip, /^calendars\/.*\.ics$/);
    const head = (file?.text ?? '').slice(0, (file?.text ?? '').indexOf('BEGIN:VEVENT'));
    // Each name once, as the first item (in id order) that has it writes it.
    expect(head).toMatch(/\r\nX-WR-CALNAME:(Team Rota|Home)\r\n/);
    expect(head).toMatch(/\r\nX-WR-TIMEZONE:Europe\/(Berlin|London)\r\n/);
    for (const line of [
      'X-WR-CALDESC:Who is on call\\, week by week',
      'REFRESH-INTERVAL;VALUE=DURATION:PT4H',
      'X-PUBLISHED-TTL:PT4H',
      'X-APPLE-CALENDAR-COLOR:#FF2968',
    ]) {
      expect(head).toContain(`\r\n${line}\r\n`);
    }
    expect(head.match(/^X-WR-CALNAME/gm)).toHaveLength(1);
    // One VERSION and one PRODID however many the items had.
    expect(head.match(/^(VERSION|PRODID)(?=[:;])/gm)?.sort()).toEqual(['PRODID', 'VERSION']);
    const entry = manifest.collections.find((c) => c.id === calendar);
    expect(entry?.calendarHead).toContain('X-APPLE-CALENDAR-COLOR:#FF2968\r\n');
    expect(await verifyLive(zip, user)).toEqual([]);
    // Each item is still rebuilt with exactly its own head.
    const fresh = await addUser(f.server);
    const restored = await f.import(zip, {}, fresh);
    expect(restored.counts.created).toBe(2);
    const texts = [...(await listContents(f.server, fresh, restored.items[0]?.collectionId ?? '')).values()];
    const meaning = (text: string) => semanticComponents(text).map(componentKey).join();
    expect(texts.map((t) => meaning(String(t))).sort()).toEqual(
      ['google-published-headers.ics', 'apple-calendar-color-header.ics']
        .map((n) => meaning(corpus(`ical/${n}`).toString()))
        .sort(),
    );
  });

  test('a --vcard 3 export verifies against the account it came from', async () => {
    const user = await addUser(f.server);
    for (const name of ['outlook-21-cp1252.vcf', 'android-21-qp-utf8.vcf', 'thunderbird-115-v4.vcf']) {
      await f.import(await f.file(name, corpus(`vcard/${name}`)), {}, user);
    }
    const { path: zip, manifest } = await f.export('v3.zip', { vcard: '3.0' }, user);
    const converted = manifest.collections.flatMap((c) => c.items).filter((i) => i.originalVersion !== undefined);
    expect(converted.length).toBeGreaterThan(0);
    expect(await verifyLive(zip, user)).toEqual([]);
  });
});
