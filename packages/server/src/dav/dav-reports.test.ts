import { engines, startTestServer, type TestServer, vcard, vtodo } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDavUser,
  type DavCall,
  type DavUser,
  davClient,
  NS_ATTRS,
  parseMultistatus,
  prop,
} from '../test-support/dav.js';

const ics = (...lines: string[]) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Holdfast//Test//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');

/** Weekly on Mondays 09:00Z, ten times; 16 March cancelled; 9 March moved to 20 April. */
const RECURRING = ics(
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20260302T090000Z',
  'DTEND:20260302T100000Z',
  'RRULE:FREQ=WEEKLY;COUNT=10',
  'EXDATE:20260316T090000Z',
  'SUMMARY:Weekly sync',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:weekly',
  'DTSTAMP:20260101T000000Z',
  'RECURRENCE-ID:20260309T090000Z',
  'DTSTART:20260420T100000Z',
  'DTEND:20260420T110000Z',
  'SUMMARY:Weekly sync (moved)',
  'END:VEVENT',
);

const SINGLE = ics(
  'BEGIN:VEVENT',
  'UID:single',
  'DTSTAMP:20260101T000000Z',
  'DTSTART:20260601T120000Z',
  'DTEND:20260601T130000Z',
  'SUMMARY:Dentist',
  'END:VEVENT',
);

const ALL_DAY = ics(
  'BEGIN:VEVENT',
  'UID:allday',
  'DTSTAMP:20260101T000000Z',
  'DTSTART;VALUE=DATE:20260510',
  'SUMMARY:Holiday',
  'END:VEVENT',
);

/** 23:00 in New York on 1 July is 03:00Z on 2 July: only the VTIMEZONE says so. */
const ZONED = ics(
  'BEGIN:VTIMEZONE',
  'TZID:America/New_York',
  'BEGIN:DAYLIGHT',
  'TZOFFSETFROM:-0500',
  'TZOFFSETTO:-0400',
  'TZNAME:EDT',
  'DTSTART:19700308T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU',
  'END:DAYLIGHT',
  'BEGIN:STANDARD',
  'TZOFFSETFROM:-0400',
  'TZOFFSETTO:-0500',
  'TZNAME:EST',
  'DTSTART:19701101T020000',
  'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU',
  'END:STANDARD',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:zoned',
  'DTSTAMP:20260101T000000Z',
  'DTSTART;TZID=America/New_York:20260701T230000',
  'DTEND;TZID=America/New_York:20260701T233000',
  'SUMMARY:Late call',
  'END:VEVENT',
);

describe.each(engines)('DAV reports on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;
  let cal: string;
  let book: string;
  let todo: string;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-rep-${engine}`);
    dav = davClient(server, alice);
    for (const [id, type] of [
      ['cal', 'calendar'],
      ['book', 'contacts'],
      ['todo', 'tasks'],
    ]) {
      const created = await server.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: alice.auth,
        payload: { id, type, name: id },
      });
      expect(created.statusCode).toBe(201);
    }
    cal = `/dav/calendars/${alice.username}/cal/`;
    book = `/dav/addressbooks/${alice.username}/book/`;
    todo = `/dav/calendars/${alice.username}/todo/`;
    const puts: [string, string][] = [
      [`${cal}weekly.ics`, RECURRING],
      [`${cal}single.ics`, SINGLE],
      [`${cal}allday.ics`, ALL_DAY],
      [`${cal}zoned.ics`, ZONED],
      [`${book}ada.vcf`, vcard('ada', 'Ada Lovelace', '+44 20 7946 0000', 'ada@example.org')],
      [`${book}grace.vcf`, vcard('grace', 'Grace Hopper', '+1 555 0101', 'grace@navy.example')],
      [
        `${book}alan.vcf`,
        'BEGIN:VCARD\r\nVERSION:3.0\r\nUID:alan\r\nFN:Alan Turing\r\nN:Turing;Alan;;;\r\nEND:VCARD\r\n',
      ],
      [`${todo}rent.ics`, vtodo('rent', 'Pay rent')],
    ];
    for (const [url, body] of puts) expect((await dav('PUT', url, { body })).statusCode).toBe(201);
  });
  afterAll(async () => server?.close());

  const calendarQuery = async (filter: string, props = '<d:getetag/>') => {
    const response = await dav('REPORT', cal, {
      depth: '1',
      body: `<cal:calendar-query ${NS_ATTRS}><d:prop>${props}</d:prop><cal:filter><cal:comp-filter name="VCALENDAR">${filter}</cal:comp-filter></cal:filter></cal:calendar-query>`,
    });
    expect(response.statusCode).toBe(207);
    return parseMultistatus(response.body).responses;
  };
  const inRange = async (start: string, end?: string) => {
    const range = end ? `start="${start}" end="${end}"` : `start="${start}"`;
    const responses = await calendarQuery(
      `<cal:comp-filter name="VEVENT"><cal:time-range ${range}/></cal:comp-filter>`,
    );
    return responses.map((r) => r.href.split('/').at(-1)).sort();
  };

  it('lists every event for an empty VEVENT filter', async () => {
    const responses = await calendarQuery('<cal:comp-filter name="VEVENT"/>');
    expect(responses.map((r) => r.href.split('/').at(-1)).sort()).toEqual([
      'allday.ics',
      'single.ics',
      'weekly.ics',
      'zoned.ics',
    ]);
    expect(prop(responses[0], 'getetag')?.text).toMatch(/^"[0-9a-f]{64}"$/);
  });

  it('matches recurring events by their expanded instances, honouring EXDATE and overrides', async () => {
    expect(await inRange('20260302T000000Z', '20260303T000000Z')).toEqual(['weekly.ics']);
    // 16 March is cancelled, 9 March was moved away.
    expect(await inRange('20260316T000000Z', '20260317T000000Z')).toEqual([]);
    expect(await inRange('20260309T000000Z', '20260310T000000Z')).toEqual([]);
    // ...to 20 April.
    expect(await inRange('20260420T000000Z', '20260421T000000Z')).toEqual(['weekly.ics']);
    // The tenth and last instance is 4 May; nothing after.
    expect(await inRange('20260504T000000Z', '20260505T000000Z')).toEqual(['weekly.ics']);
    expect(await inRange('20260518T000000Z', '20260519T000000Z')).toEqual([]);
  });

  it('uses the VTIMEZONE of zoned times, all-day dates and open-ended ranges', async () => {
    expect(await inRange('20260702T020000Z', '20260702T040000Z')).toEqual(['zoned.ics']);
    expect(await inRange('20260701T220000Z', '20260701T233000Z')).toEqual([]);
    expect(await inRange('20260510T000000Z', '20260511T000000Z')).toEqual(['allday.ics']);
    // A date has no zone: it matches ranges within the widest UTC offsets of its day, never fewer.
    expect(await inRange('20260511T020000Z', '20260511T080000Z')).toEqual(['allday.ics']);
    expect(await inRange('20260512T000000Z', '20260513T000000Z')).toEqual([]);
    expect(await inRange('20260530T000000Z')).toEqual(['single.ics', 'zoned.ics']);
    expect(await inRange('20260601T123000Z', '20260601T124500Z')).toEqual(['single.ics']);
    expect(await inRange('20260601T130000Z', '20260601T140000Z')).toEqual([]);
  });

  it('filters on properties with text-match', async () => {
    const responses = await calendarQuery(
      '<cal:comp-filter name="VEVENT"><cal:prop-filter name="SUMMARY"><cal:text-match>DENTIST</cal:text-match></cal:prop-filter></cal:comp-filter>',
    );
    expect(responses.map((r) => r.href.split('/').at(-1))).toEqual(['single.ics']);
    const negated = await calendarQuery(
      '<cal:comp-filter name="VEVENT"><cal:prop-filter name="DTEND"><cal:is-not-defined/></cal:prop-filter></cal:comp-filter>',
    );
    expect(negated.map((r) => r.href.split('/').at(-1))).toEqual(['allday.ics']);
  });

  it('expands recurrences into instances when asked', async () => {
    const [weekly] = await calendarQuery(
      '<cal:comp-filter name="VEVENT"><cal:prop-filter name="UID"><cal:text-match collation="i;octet">weekly</cal:text-match></cal:prop-filter></cal:comp-filter>',
      '<cal:calendar-data><cal:expand start="20260301T000000Z" end="20260401T000000Z"/></cal:calendar-data>',
    );
    const data = prop(weekly, 'calendar-data')?.text ?? '';
    expect(data).not.toContain('RRULE');
    const ids = [...data.matchAll(/RECURRENCE-ID:(\S+)/g)].map((m) => m[1]);
    expect(ids).toEqual(['20260302T090000Z', '20260323T090000Z', '20260330T090000Z']);
  });

  it('queries task lists by due date', async () => {
    const query = async (start: string, end: string) => {
      const response = await dav('REPORT', todo, {
        depth: '1',
        body: `<cal:calendar-query ${NS_ATTRS}><d:prop><d:getetag/></d:prop><cal:filter><cal:comp-filter name="VCALENDAR"><cal:comp-filter name="VTODO"><cal:time-range start="${start}" end="${end}"/></cal:comp-filter></cal:comp-filter></cal:filter></cal:calendar-query>`,
      });
      return parseMultistatus(response.body).responses.length;
    };
    expect(await query('20260301T000000Z', '20260302T000000Z')).toBe(1);
    expect(await query('20260401T000000Z', '20260402T000000Z')).toBe(0);
  });

  it('returns exactly the stored data with calendar-multiget, 404 for unknown hrefs', async () => {
    const response = await dav('REPORT', cal, {
      depth: '1',
      body: `<cal:calendar-multiget ${NS_ATTRS}><d:prop><d:getetag/><cal:calendar-data/></d:prop><d:href>${cal}weekly.ics</d:href><d:href>${cal}missing.ics</d:href><d:href>http://localhost${cal}zoned.ics</d:href></cal:calendar-multiget>`,
    });
    const responses = parseMultistatus(response.body).responses;
    expect(responses.map((r) => r.href)).toEqual([
      `${cal}weekly.ics`,
      `${cal}missing.ics`,
      `http://localhost${cal}zoned.ics`,
    ]);
    expect(prop(responses[0], 'calendar-data')?.text).toBe(RECURRING);
    expect(responses[1]?.status).toBe(404);
    expect(prop(responses[2], 'calendar-data')?.text).toBe(ZONED);
  });

  it('filters contacts with addressbook-query', async () => {
    const query = async (filter: string, extra = '') => {
      const response = await dav('REPORT', book, {
        depth: '1',
        body: `<card:addressbook-query ${NS_ATTRS}><d:prop><d:getetag/><card:address-data/></d:prop><card:filter ${extra}>${filter}</card:filter></card:addressbook-query>`,
      });
      expect(response.statusCode).toBe(207);
      return parseMultistatus(response.body).responses;
    };
    const names = (responses: { href: string }[]) => responses.map((r) => r.href.split('/').at(-1)).sort();
    expect(
      names(
        await query(
          '<card:prop-filter name="FN"><card:text-match match-type="contains">LOVELACE</card:text-match></card:prop-filter>',
        ),
      ),
    ).toEqual(['ada.vcf']);
    expect(
      names(
        await query(
          '<card:prop-filter name="EMAIL"><card:text-match match-type="ends-with">.example</card:text-match></card:prop-filter>',
        ),
      ),
    ).toEqual(['grace.vcf']);
    expect(names(await query('<card:prop-filter name="EMAIL"><card:is-not-defined/></card:prop-filter>'))).toEqual([
      'alan.vcf',
    ]);
    expect(
      names(
        await query(
          '<card:prop-filter name="FN"><card:text-match match-type="starts-with">a</card:text-match></card:prop-filter><card:prop-filter name="TEL"/>',
          'test="allof"',
        ),
      ),
    ).toEqual(['ada.vcf']);
    expect(
      names(
        await query(
          '<card:prop-filter name="TEL"><card:param-filter name="TYPE"><card:text-match match-type="equals">cell</card:text-match></card:param-filter></card:prop-filter>',
        ),
      ),
    ).toEqual(['ada.vcf', 'grace.vcf']);
    const [ada] = await query(
      '<card:prop-filter name="UID"><card:text-match match-type="equals" collation="i;octet">ada</card:text-match></card:prop-filter>',
    );
    expect(prop(ada, 'address-data')?.text).toBe(vcard('ada', 'Ada Lovelace', '+44 20 7946 0000', 'ada@example.org'));
  });

  it('truncates addressbook-query at the client limit with 507', async () => {
    const response = await dav('REPORT', book, {
      depth: '1',
      body: `<card:addressbook-query ${NS_ATTRS}><d:prop><d:getetag/></d:prop><card:filter/><card:limit><card:nresults>2</card:nresults></card:limit></card:addressbook-query>`,
    });
    const responses = parseMultistatus(response.body).responses;
    expect(responses.filter((r) => r.status === null)).toHaveLength(2);
    expect(responses.at(-1)).toMatchObject({ href: book, status: 507 });
  });

  it('returns address data with addressbook-multiget and refuses unknown reports', async () => {
    const response = await dav('REPORT', book, {
      depth: '1',
      body: `<card:addressbook-multiget ${NS_ATTRS}><d:prop><card:address-data/></d:prop><d:href>${book}alan.vcf</d:href></card:addressbook-multiget>`,
    });
    const [alan] = parseMultistatus(response.body).responses;
    expect(prop(alan, 'address-data')?.text).toContain('FN:Alan Turing\r\n');
    const wrongFamily = await dav('REPORT', book, {
      body: `<cal:calendar-query ${NS_ATTRS}><cal:filter><cal:comp-filter name="VCALENDAR"/></cal:filter></cal:calendar-query>`,
    });
    expect(wrongFamily.statusCode).toBe(403);
    expect(wrongFamily.body).toContain('supported-report');
    const badRange = await dav('REPORT', cal, {
      body: `<cal:calendar-query ${NS_ATTRS}><cal:filter><cal:comp-filter name="VCALENDAR"><cal:comp-filter name="VEVENT"><cal:time-range start="2026-03-01"/></cal:comp-filter></cal:comp-filter></cal:filter></cal:calendar-query>`,
    });
    expect(badRange.statusCode).toBe(403);
    expect(badRange.body).toContain('valid-filter');
  });
  it('answers free-busy-query with a VFREEBUSY of opaque, not cancelled events, recurrences expanded', async () => {
    const fb = `/dav/calendars/${alice.username}/fb/`;
    expect((await dav('MKCALENDAR', fb)).statusCode).toBe(201);
    const event = (uid: string, start: string, end: string, ...extra: string[]) =>
      ics(
        'BEGIN:VEVENT',
        `UID:${uid}`,
        'DTSTAMP:20260101T000000Z',
        `DTSTART:${start}`,
        `DTEND:${end}`,
        ...extra,
        'END:VEVENT',
      );
    const events: [string, string][] = [
      ['busy', event('busy', '20270104T090000Z', '20270104T100000Z')],
      ['overlap', event('overlap', '20270104T093000Z', '20270104T110000Z')],
      ['free', event('free', '20270104T120000Z', '20270104T130000Z', 'TRANSP:TRANSPARENT')],
      ['cancelled', event('cancelled', '20270104T140000Z', '20270104T150000Z', 'STATUS:CANCELLED')],
      ['maybe', event('maybe', '20270105T080000Z', '20270105T083000Z', 'STATUS:TENTATIVE')],
      [
        'daily',
        ics(
          'BEGIN:VEVENT',
          'UID:daily',
          'DTSTAMP:20260101T000000Z',
          'DTSTART:20270101T170000Z',
          'DTEND:20270101T180000Z',
          'RRULE:FREQ=DAILY',
          'END:VEVENT',
          'BEGIN:VEVENT',
          'UID:daily',
          'DTSTAMP:20260101T000000Z',
          'RECURRENCE-ID:20270105T170000Z',
          'DTSTART:20270105T170000Z',
          'DTEND:20270105T180000Z',
          'STATUS:CANCELLED',
          'END:VEVENT',
        ),
      ],
    ];
    for (const [name, body] of events) expect((await dav('PUT', `${fb}${name}.ics`, { body })).statusCode).toBe(201);
    const query = (range: string) =>
      dav('REPORT', fb, {
        depth: '1',
        body: `<cal:free-busy-query ${NS_ATTRS}>${range}</cal:free-busy-query>`,
      });
    const response = await query('<cal:time-range start="20270104T000000Z" end="20270106T000000Z"/>');
    expect(response.statusCode).toBe(200);
    expect(String(response.headers['content-type'])).toContain('text/calendar');
    const lines = response.body.split('\r\n');
    expect(lines).toContain('BEGIN:VFREEBUSY');
    expect(lines).toContain('DTSTART:20270104T000000Z');
    expect(lines).toContain('DTEND:20270106T000000Z');
    expect(lines.filter((l) => l.startsWith('FREEBUSY'))).toEqual([
      'FREEBUSY;FBTYPE=BUSY:20270104T090000Z/20270104T110000Z',
      'FREEBUSY;FBTYPE=BUSY:20270104T170000Z/20270104T180000Z',
      'FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270105T080000Z/20270105T083000Z',
    ]);

    const noRange = await query('');
    expect(noRange.statusCode).toBe(403);
    expect(noRange.body).toContain('valid-filter');
    const onBook = await dav('REPORT', book, {
      body: `<cal:free-busy-query ${NS_ATTRS}><cal:time-range start="20270104T000000Z" end="20270106T000000Z"/></cal:free-busy-query>`,
    });
    expect(onBook.statusCode).toBe(403);
    expect(onBook.body).toContain('supported-report');
    const listed = await dav('PROPFIND', fb, {
      depth: '0',
      body: `<d:propfind ${NS_ATTRS}><d:prop><d:supported-report-set/></d:prop></d:propfind>`,
    });
    const names = (prop(parseMultistatus(listed.body).responses[0], 'supported-report-set')?.children ?? []).map(
      (r) => r.children[0]?.children[0]?.name,
    );
    expect(names).toContain('free-busy-query');
  });
});
