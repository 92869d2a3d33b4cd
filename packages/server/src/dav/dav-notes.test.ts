import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledCorpusDir } from '@holdfast/test-support/corpus';
import { engines, startTestServer, type TestServer, vevent } from '@holdfast/test-support/harness';
import { type DAVCalendar, DAVClient } from 'tsdav';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavUser } from '../test-support/dav.js';

/** A jtx Board note: Markdown DESCRIPTION, an inline PNG and a linked PDF. */
const journal = readFileSync(join(bundledCorpusDir, 'ical/jtx-board-note-attach.ics'), 'utf8');

/** A calendar-query for journal entries (tsdav asks for VEVENTs unless told). */
const journals = [
  { 'comp-filter': { _attributes: { name: 'VCALENDAR' }, 'comp-filter': { _attributes: { name: 'VJOURNAL' } } } },
];

/**
 * Notes over CalDAV, with tsdav as the client: a notes collection is a
 * calendar of VJOURNALs, a note made through the API is a journal entry there,
 * and a journal entry PUT by a journal app is a note, kept whole.
 */
describe.each(engines)('notes over CalDAV on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let url: string;
  let caldav: DAVClient;
  let notes: DAVCalendar;

  const api = async (method: 'GET' | 'POST', path: string, payload?: unknown) =>
    server.app.inject({
      method,
      url: path,
      headers: alice.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const putNote = async (itemId: string, content: object, baseRevision: number | null) =>
    (
      await api('POST', '/v1/push', {
        changes: [{ clientChangeId: randomUUID(), collectionId: 'notes', itemId, op: 'put', baseRevision, content }],
      })
    ).json().results[0];

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-notes-${engine}`);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    expect((await api('POST', '/v1/collections', { id: 'notes', type: 'notes', name: 'Notes' })).statusCode).toBe(201);
    const applied = await putNote('groceries', { title: 'Groceries; Monday', body: '- milk\n- **bread**, rye' }, null);
    expect(applied.status).toBe('applied');
    const credentials = { username: alice.username, password: alice.appPassword };
    caldav = new DAVClient({ serverUrl: url, credentials, authMethod: 'Basic', defaultAccountType: 'caldav' });
    await caldav.login();
    const found = (await caldav.fetchCalendars()).find((c) => c.url.endsWith('/notes/'));
    expect(found).toBeDefined();
    notes = found as DAVCalendar;
  });
  afterAll(async () => server?.close());

  it('shows a notes collection as a calendar of VJOURNALs', () => {
    expect(notes.components).toEqual(['VJOURNAL']);
    expect(notes.displayName).toBe('Notes');
  });

  it('gives a note made through the API as a journal entry: title as SUMMARY, Markdown as DESCRIPTION', async () => {
    const [object] = await caldav.fetchCalendarObjects({ calendar: notes, filters: journals });
    expect(object?.url).toBe(`${url}/dav/calendars/${alice.username}/notes/groceries.ics`);
    const data = object?.data ?? '';
    expect(data).toContain('\r\nBEGIN:VJOURNAL\r\nUID:groceries\r\n');
    expect(data).toContain('\r\nSUMMARY:Groceries\\; Monday\r\n');
    expect(data).toContain('\r\nDESCRIPTION:- milk\\n- **bread**\\, rye\r\n');
    const item = (await api('GET', '/v1/items/groceries')).json();
    expect(object?.etag).toBe(`"${item.hash}"`);
  });

  it('keeps a journal entry PUT by a journal app as a note, attachments and all, and edits go both ways', async () => {
    const created = await caldav.createCalendarObject({ calendar: notes, filename: 'shed.ics', iCalString: journal });
    expect(created.status).toBe(201);
    const raw = await fetch(`${url}/dav/calendars/${alice.username}/notes/shed.ics`, { headers: alice.basic });
    expect(await raw.text()).toBe(journal);

    const listed = (await api('GET', '/v1/collections/notes/items')).json().items as {
      id: string;
      revision: number;
      content: { title: string; body: string; ical?: string };
    }[];
    const shed = listed.find((i) => i.content.title === 'Shed plans');
    expect(shed?.content.body).toBe(
      '# Shed\n\n- 2.4 m × 1.8 m, pent roof\n- **treated** timber only\n\nSee [the sketch](sketch.png).',
    );
    expect(shed?.content.ical).toBe(journal);

    // The app changes the body: the journal app sees the new DESCRIPTION next to everything it wrote.
    const edited = await putNote(
      shed?.id ?? '',
      { ...(shed?.content ?? {}), body: '# Shed\n\nOrdered; arrives Friday.' },
      shed?.revision ?? 0,
    );
    expect(edited.status).toBe('applied');
    const after = await (
      await fetch(`${url}/dav/calendars/${alice.username}/notes/shed.ics`, { headers: alice.basic })
    ).text();
    expect(after).toContain('\r\nDESCRIPTION:# Shed\\n\\nOrdered\\; arrives Friday.\r\n');
    expect(after.match(/^DESCRIPTION/gm)).toHaveLength(1);
    expect(after.replace(/\r\n /g, '')).toContain(
      'ATTACH;ENCODING=BASE64;VALUE=BINARY;FMTTYPE=image/png;X-FILENAME=sketch.png:',
    );
    expect(after).toContain('\r\nATTACH;FMTTYPE=application/pdf:https://files.example.org/shed-quote.pdf\r\n');
    expect(after.replace(/\r\nDESCRIPTION:[^\r]*(\r\n [^\r]*)*/, '')).toBe(
      journal.replace(/\r\nDESCRIPTION:[^\r]*(\r\n [^\r]*)*/, ''),
    );
  });

  it('refuses events in a notes collection, and journal entries in a calendar', async () => {
    const event = await caldav.createCalendarObject({
      calendar: notes,
      filename: 'e.ics',
      iCalString: vevent('e1', 'Lunch'),
    });
    expect(event.status).toBe(403);
    expect(await event.text()).toContain('supported-calendar-component');
    expect((await api('POST', '/v1/collections', { id: 'cal', type: 'calendar', name: 'Cal' })).statusCode).toBe(201);
    const put = await fetch(`${url}/dav/calendars/${alice.username}/cal/shed.ics`, {
      method: 'PUT',
      headers: { ...alice.basic, 'content-type': 'text/calendar; charset=utf-8' },
      body: journal,
    });
    expect(put.status).toBe(403);
  });
});
