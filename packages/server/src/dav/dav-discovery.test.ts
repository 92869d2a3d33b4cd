import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDavUser,
  type DavCall,
  type DavUser,
  davClient,
  hrefText,
  NS_ATTRS,
  parseMultistatus,
  prop,
  propfindBody,
} from '../test-support/dav.js';
import { childrenOf } from './xml-parse.js';

/** What a client does on first contact: discovery, principal, homes, collections (RFC 6764, 5397, 6352, 4791). */
describe.each(engines)('DAV discovery on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-disc-${engine}`);
    dav = davClient(server, alice);
  });
  afterAll(async () => server?.close());

  it.each(['/.well-known/carddav', '/.well-known/caldav'])('redirects %s to the DAV root', async (url) => {
    for (const method of ['GET', 'PROPFIND']) {
      const response = await server.app.inject({ method: method as 'GET', url });
      expect(response.statusCode).toBe(301);
      expect(response.headers.location).toBe('/dav/');
    }
  });

  it('gives a fresh account a default address book, calendar and task list on its first home listing', async () => {
    const fresh = await addDavUser(server, `fresh-disc-${engine}`);
    const call = davClient(server, fresh);
    const list = async (family: string) => {
      const response = await call('PROPFIND', `/dav/${family}/${fresh.username}/`, {
        depth: '1',
        body: propfindBody('<d:displayname/><d:resourcetype/>'),
      });
      expect(response.statusCode).toBe(207);
      return parseMultistatus(response.body)
        .responses.slice(1)
        .map((r) => [r.href, prop(r, 'displayname')?.text])
        .sort();
    };
    const [books, calendars] = await Promise.all([list('addressbooks'), list('calendars')]);
    expect(books).toEqual([[`/dav/addressbooks/${fresh.username}/contacts/`, 'Contacts']]);
    expect(calendars).toEqual([
      [`/dav/calendars/${fresh.username}/calendar/`, 'Calendar'],
      [`/dav/calendars/${fresh.username}/tasks/`, 'Tasks'],
    ]);
    // Concurrent listings make each once; deleting the calendar does not bring it back.
    await Promise.all([list('calendars'), list('calendars')]);
    expect((await call('DELETE', `/dav/calendars/${fresh.username}/calendar/`)).statusCode).toBe(204);
    expect(await list('calendars')).toEqual([[`/dav/calendars/${fresh.username}/tasks/`, 'Tasks']]);
  });

  it('answers OPTIONS without credentials, naming its compliance classes', async () => {
    const response = await server.app.inject({ method: 'OPTIONS', url: '/dav/' });
    expect(response.statusCode).toBe(200);
    const classes = String(response.headers.dav)
      .split(',')
      .map((s) => s.trim());
    expect(classes).toEqual(expect.arrayContaining(['1', '3', 'addressbook', 'calendar-access', 'sync-collection']));
    expect(String(response.headers.allow)).toContain('PROPFIND');
    expect(String(response.headers.allow)).toContain('MKCALENDAR');
  });

  it('finds the principal, then both homes, from the root', async () => {
    const root = await dav('PROPFIND', '/dav/', { depth: '0', body: propfindBody('<d:current-user-principal/>') });
    expect(root.statusCode).toBe(207);
    expect(String(root.headers['content-type'])).toContain('application/xml');
    const principal = hrefText(prop(parseMultistatus(root.body).responses[0], 'current-user-principal'));
    expect(principal).toBe(`/dav/principals/${alice.username}/`);

    const homes = await dav('PROPFIND', principal as string, {
      depth: '0',
      body: propfindBody(
        '<card:addressbook-home-set/><cal:calendar-home-set/><d:principal-URL/><d:displayname/><d:resourcetype/>',
      ),
    });
    const [me] = parseMultistatus(homes.body).responses;
    expect(hrefText(prop(me, 'addressbook-home-set'))).toBe(`/dav/addressbooks/${alice.username}/`);
    expect(hrefText(prop(me, 'calendar-home-set'))).toBe(`/dav/calendars/${alice.username}/`);
    expect(hrefText(prop(me, 'principal-URL'))).toBe(principal);
    expect(prop(me, 'displayname')?.text).toBe(alice.username);
    expect(prop(me, 'resourcetype')?.children.map((c) => c.name)).toEqual(['principal']);
  });

  it('lists collections of each kind with their CardDAV/CalDAV properties', async () => {
    const headers = alice.auth;
    for (const [type, name] of [
      ['contacts', 'Friends'],
      ['calendar', 'Work'],
      ['tasks', 'Chores'],
      ['notes', 'Journal'],
    ]) {
      const created = await server.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers,
        payload: { id: `${type}-1`, type, name, color: type === 'calendar' ? '#336699' : null },
      });
      expect(created.statusCode).toBe(201);
    }
    const props =
      '<d:resourcetype/><d:displayname/><cs:getctag/><d:sync-token/><d:supported-report-set/><d:current-user-privilege-set/>' +
      '<card:supported-address-data/><cal:supported-calendar-component-set/><ical:calendar-color/><d:unknown-prop/>';
    const books = parseMultistatus(
      (await dav('PROPFIND', `/dav/addressbooks/${alice.username}/`, { depth: '1', body: propfindBody(props) })).body,
    ).responses;
    expect(books.map((r) => r.href)).toEqual([
      `/dav/addressbooks/${alice.username}/`,
      `/dav/addressbooks/${alice.username}/contacts-1/`,
    ]);
    const book = books[1];
    expect(
      prop(book, 'resourcetype')
        ?.children.map((c) => c.name)
        .sort(),
    ).toEqual(['addressbook', 'collection']);
    expect(prop(book, 'displayname')?.text).toBe('Friends');
    expect(prop(book, 'getctag')?.text).toMatch(/^https:\/\/holdfast\.dev\/sync\//);
    expect(prop(book, 'sync-token')?.text).toBe(prop(book, 'getctag')?.text);
    const reports = (prop(book, 'supported-report-set')?.children ?? []).map((r) => r.children[0]?.children[0]?.name);
    expect(reports.sort()).toEqual(['addressbook-multiget', 'addressbook-query', 'sync-collection']);
    const privileges = (prop(book, 'current-user-privilege-set')?.children ?? []).map((p) => p.children[0]?.name);
    expect(privileges).toEqual(expect.arrayContaining(['read', 'write', 'bind', 'unbind']));
    expect(prop(book, 'supported-address-data')?.children.map((c) => c.attrs.version)).toEqual(['3.0', '4.0']);
    expect(book?.props.get(404)?.has('unknown-prop')).toBe(true);

    const calendars = parseMultistatus(
      (await dav('PROPFIND', `/dav/calendars/${alice.username}/`, { depth: '1', body: propfindBody(props) })).body,
    ).responses;
    expect(calendars.map((r) => r.href).slice(1)).toEqual([
      `/dav/calendars/${alice.username}/calendar-1/`,
      `/dav/calendars/${alice.username}/tasks-1/`,
      // Notes are journals (VJOURNAL) to CalDAV clients.
      `/dav/calendars/${alice.username}/notes-1/`,
    ]);
    const components = calendars
      .slice(1)
      .map(
        (r) =>
          childrenOf(prop(r, 'supported-calendar-component-set') as never, 'urn:ietf:params:xml:ns:caldav', 'comp')[0]
            ?.attrs.name,
      );
    expect(components).toEqual(['VEVENT', 'VTODO', 'VJOURNAL']);
    expect(prop(calendars[1], 'calendar-color')?.text).toBe('#336699');
    expect(
      prop(calendars[1], 'resourcetype')
        ?.children.map((c) => c.name)
        .sort(),
    ).toEqual(['calendar', 'collection']);
  });

  it('answers allprop and propname', async () => {
    const allprop = await dav('PROPFIND', `/dav/calendars/${alice.username}/calendar-1/`, {
      depth: '0',
      body: `<d:propfind ${NS_ATTRS}><d:allprop/></d:propfind>`,
    });
    const [all] = parseMultistatus(allprop.body).responses;
    expect(prop(all, 'displayname')?.text).toBe('Work');
    expect(prop(all, 'getctag')).toBeDefined();
    const names = await dav('PROPFIND', `/dav/calendars/${alice.username}/calendar-1/`, {
      depth: '0',
      body: `<d:propfind ${NS_ATTRS}><d:propname/></d:propfind>`,
    });
    const [named] = parseMultistatus(names.body).responses;
    expect(named?.props.get(200)?.has('supported-calendar-component-set')).toBe(true);
    expect(prop(named, 'displayname')?.text).toBe('');
    const empty = await dav('PROPFIND', `/dav/calendars/${alice.username}/calendar-1/`, { depth: '0' });
    expect(parseMultistatus(empty.body).responses[0]?.props.get(200)?.has('resourcetype')).toBe(true);
  });

  it('asks for credentials with a Basic challenge and accepts only app passwords', async () => {
    const anonymous = await server.app.inject({ method: 'PROPFIND', url: '/dav/', headers: { depth: '0' } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Basic realm="Holdfast"/);
    const accountPassword = `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`;
    const withAccountPassword = await server.app.inject({
      method: 'PROPFIND',
      url: '/dav/',
      headers: { depth: '0', authorization: accountPassword },
    });
    expect(withAccountPassword.statusCode).toBe(401);
    const bearer = await server.app.inject({
      method: 'PROPFIND',
      url: '/dav/',
      headers: { depth: '0', ...alice.auth },
    });
    expect(bearer.statusCode).toBe(401);
  });
});
