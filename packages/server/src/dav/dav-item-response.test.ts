import { startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DavResource } from './dav-paths.js';
import type { DavCollection, DavItem } from './dav-store.js';
import { itemResponse } from './item-response.js';
import { createScope, type DataOptions, type PropRequest, propertiesOf, propstats } from './properties.js';
import { APPLE_ICAL, CALDAV, CARDDAV, DAV, propResponse } from './xml-write.js';

const q = (ns: string, name: string) => ({ ns, name });
const contacts: DavCollection = { id: 'book', type: 'contacts', name: 'Book', description: '', color: null };
const calendar: DavCollection = { id: 'cal', type: 'calendar', name: 'Cal', description: '', color: '#ff0000' };
const item = (content?: string | null): DavItem => ({
  id: 'i1',
  name: 'a&b <c>.vcf',
  hash: 'abc123',
  size: 42,
  updatedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
  headSeq: 7,
  deleted: false,
  ...(content === undefined ? {} : { content }),
});

const requests: [string, PropRequest][] = [
  ['a listing', { mode: 'prop', names: [q(DAV, 'resourcetype'), q(DAV, 'getetag')] }],
  ['a multiget', { mode: 'prop', names: [q(DAV, 'getetag'), q(CARDDAV, 'address-data')] }],
  ['calendar data', { mode: 'prop', names: [q(CALDAV, 'calendar-data'), q(DAV, 'getetag')] }],
  [
    'every item and common property, one named twice',
    {
      mode: 'prop',
      names: [
        q(DAV, 'current-user-principal'),
        q(DAV, 'getcontenttype'),
        q(DAV, 'getlastmodified'),
        q(DAV, 'getcontentlength'),
        q(DAV, 'getetag'),
        q(DAV, 'owner'),
        q(DAV, 'principal-collection-set'),
        q(DAV, 'current-user-privilege-set'),
        q(DAV, 'getetag'),
        q(DAV, 'resourcetype'),
      ],
    },
  ],
  [
    'unknown properties among known ones',
    { mode: 'prop', names: [q(DAV, 'displayname'), q(DAV, 'getetag'), q('urn:x', 'odd'), q(APPLE_ICAL, 'c')] },
  ],
  ['unknown properties only', { mode: 'prop', names: [q('urn:x', 'odd'), q(DAV, 'sync-token')] }],
  ['no properties', { mode: 'prop', names: [] }],
];

describe('item responses written from a plan', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await server?.close();
  });

  const cases = requests.flatMap(([label, request]) =>
    [
      { collection: contacts, content: undefined, data: {} },
      { collection: contacts, content: 'BEGIN:VCARD\r\nFN:A & <B>\r\nEND:VCARD\r\n', data: {} },
      { collection: contacts, content: '', data: {} },
      { collection: calendar, content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', data: {} },
      {
        collection: calendar,
        content: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n',
        data: { calendarData: (text: string) => text.replace('END', 'X-EXPANDED:1\r\nEND') },
      },
    ].map((c) => ({ label, request, ...c })),
  );

  it.each(cases)('equal the generic ones for $label ($collection.type, content $content)', async (c) => {
    const scope = createScope(server.ctx, { userId: 'u1', username: 'al ice', deviceId: 'd1' });
    const it = item(c.content);
    const target: DavResource = {
      kind: 'item',
      family: 'addressbooks',
      collection: c.collection,
      name: it.name,
      item: it,
    };
    const href = '/dav/addressbooks/al%20ice/book/a%26b%20%3Cc%3E.vcf';
    const data: DataOptions = c.data;
    const generic = propResponse(href, await propstats(propertiesOf(scope, target, data), c.request));
    // Twice: the second is written from the plan the first made.
    expect(itemResponse(scope, c.request, c.collection, it, data, href)).toBe(generic);
    expect(itemResponse(scope, c.request, c.collection, it, data, href)).toBe(generic);
  });

  it('leaves allprop and propname to the generic path', () => {
    const scope = createScope(server.ctx, { userId: 'u1', username: 'alice', deviceId: 'd1' });
    for (const request of [{ mode: 'allprop', include: [] }, { mode: 'propname' }] as PropRequest[]) {
      expect(itemResponse(scope, request, contacts, item('x'), {}, '/x')).toBeNull();
    }
  });
});
