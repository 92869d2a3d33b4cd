import { randomUUID } from 'node:crypto';
import { engines, startTestServer, type TestServer, vcard, vevent } from '@holdfast/test-support/harness';
import { addressBookMultiGet, type DAVAddressBook, type DAVCalendar, DAVClient } from 'tsdav';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavUser } from '../test-support/dav.js';

/**
 * tsdav, a real CardDAV/CalDAV client library, against a listening server:
 * discovery to sync. tsdav trims the text of address-data and calendar-data,
 * dropping the final CRLF the server sends; raw GETs check the exact bytes.
 */
describe.each(engines)('tsdav client on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let url: string;
  let carddav: DAVClient;
  let caldav: DAVClient;

  const api = async (method: 'GET' | 'POST', path: string, payload?: unknown) =>
    server.app.inject({
      method,
      url: path,
      headers: alice.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-tsdav-${engine}`);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    expect(
      (await api('POST', '/v1/collections', { id: 'contacts', type: 'contacts', name: 'Contacts' })).statusCode,
    ).toBe(201);
    const credentials = { username: alice.username, password: alice.appPassword };
    carddav = new DAVClient({ serverUrl: url, credentials, authMethod: 'Basic', defaultAccountType: 'carddav' });
    caldav = new DAVClient({ serverUrl: url, credentials, authMethod: 'Basic', defaultAccountType: 'caldav' });
    await carddav.login();
    await caldav.login();
  });
  afterAll(async () => server?.close());

  it('discovers the principal and homes through /.well-known', () => {
    expect(carddav.account?.rootUrl).toBe(`${url}/dav/`);
    expect(carddav.account?.principalUrl).toBe(`${url}/dav/principals/${alice.username}/`);
    expect(carddav.account?.homeUrl).toBe(`${url}/dav/addressbooks/${alice.username}/`);
    expect(caldav.account?.homeUrl).toBe(`${url}/dav/calendars/${alice.username}/`);
  });

  it('creates, reads, updates and deletes contacts, with ETags', async () => {
    const [book] = (await carddav.fetchAddressBooks()) as DAVAddressBook[];
    expect(book?.displayName).toBe('Contacts');
    expect(book?.ctag).toBeTruthy();
    const card = vcard('ada', 'Ada Lovelace');
    const created = await carddav.createVCard({
      addressBook: book as DAVAddressBook,
      filename: 'ada.vcf',
      vCardString: card,
    });
    expect(created.status).toBe(201);
    const cards = await carddav.fetchVCards({ addressBook: book as DAVAddressBook });
    expect(cards).toHaveLength(1);
    expect(cards[0]?.data).toBe(card.trimEnd());
    expect(cards[0]?.etag).toBe(created.headers.get('etag'));
    const raw = await fetch(cards[0]?.url as string, { headers: alice.basic });
    expect(await raw.text()).toBe(card);

    const updated = await carddav.updateVCard({
      vCard: { ...(cards[0] as { url: string }), data: vcard('ada', 'Ada King') },
    });
    expect(updated.status).toBe(204);
    const stale = await carddav.updateVCard({
      vCard: { ...(cards[0] as { url: string }), data: vcard('ada', 'Lost') },
    });
    expect(stale.status).toBe(412);
    const history = (await api('GET', '/v1/items/ada/revisions')).json().revisions;
    expect(history.map((r: { deviceId: string }) => r.deviceId)).toEqual([alice.appPasswordId, alice.appPasswordId]);

    const [current] = await carddav.fetchVCards({ addressBook: book as DAVAddressBook });
    expect(current?.data).toContain('FN:Ada King');
    const deleted = await carddav.deleteVCard({ vCard: current as { url: string; etag: string } });
    expect(deleted.status).toBe(204);
    expect(await carddav.fetchVCards({ addressBook: book as DAVAddressBook })).toHaveLength(0);
  });

  it('syncs with sync-collection, seeing changes made through the JSON API', async () => {
    const [book] = (await carddav.fetchAddressBooks()) as DAVAddressBook[];
    // tsdav attaches a multiget only to calendars; address books need it passed in.
    const collection = { ...(book as DAVAddressBook), objects: [], objectMultiGet: addressBookMultiGet };
    const synced = await carddav.smartCollectionSyncDetailed({ collection, method: 'webdav' });
    expect(synced.objects.created).toHaveLength(0);
    const id = randomUUID();
    const pushed = await api('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId: 'contacts',
          itemId: id,
          op: 'put',
          baseRevision: null,
          content: vcard(id, 'From The App'),
        },
      ],
    });
    expect(pushed.json().results[0].status).toBe('applied');
    const { isDirty } = await carddav.isCollectionDirty({ collection: book as DAVAddressBook });
    expect(isDirty).toBe(true);
    const next = await carddav.smartCollectionSyncDetailed({
      collection: { ...collection, syncToken: synced.syncToken },
      method: 'webdav',
    });
    expect(next.objects.created.map((o) => o.url)).toEqual([
      `${url}/dav/addressbooks/${alice.username}/contacts/${id}.vcf`,
    ]);
    expect(next.objects.created[0]?.data).toBe(vcard(id, 'From The App').trimEnd());
    const deleted = await carddav.deleteVCard({ vCard: next.objects.created[0] as { url: string; etag: string } });
    expect(deleted.status).toBe(204);
    const last = await carddav.smartCollectionSyncDetailed({
      collection: { ...collection, syncToken: next.syncToken },
      method: 'webdav',
    });
    expect(last.objects.deleted.map((o) => o.url)).toEqual([next.objects.created[0]?.url]);
  });

  it('makes a calendar, stores a recurring event and finds it by time range', async () => {
    const calendarUrl = `${url}/dav/calendars/${alice.username}/work/`;
    await caldav.makeCalendar({ url: calendarUrl, props: { displayname: 'Work' } });
    const calendars = await caldav.fetchCalendars();
    const work = calendars.find((c) => c.url === calendarUrl) as DAVCalendar;
    expect(work?.displayName).toBe('Work');
    expect(work?.components).toEqual(['VEVENT', 'VTODO']);
    const event = vevent('standup', 'Standup');
    const created = await caldav.createCalendarObject({ calendar: work, filename: 'standup.ics', iCalString: event });
    expect(created.status).toBe(201);

    const all = await caldav.fetchCalendarObjects({ calendar: work });
    expect(all.map((o) => o.data)).toEqual([event.trimEnd()]);
    // The series is weekly from 1 March 2026, four times: the fourth is on 22 March.
    const fourth = await caldav.fetchCalendarObjects({
      calendar: work,
      timeRange: { start: '2026-03-22T00:00:00Z', end: '2026-03-23T00:00:00Z' },
    });
    expect(fourth.map((o) => o.url)).toEqual([`${calendarUrl}standup.ics`]);
    const after = await caldav.fetchCalendarObjects({
      calendar: work,
      timeRange: { start: '2026-03-29T00:00:00Z', end: '2026-03-30T00:00:00Z' },
    });
    expect(after).toHaveLength(0);

    const removed = await caldav.deleteCalendarObject({ calendarObject: all[0] as { url: string; etag: string } });
    expect(removed.status).toBe(204);
  });
});
