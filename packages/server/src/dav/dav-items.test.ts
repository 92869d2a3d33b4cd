import { randomUUID } from 'node:crypto';
import { engines, startTestServer, type TestServer, vcard, vevent, vtodo } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDavUser,
  type DavCall,
  type DavUser,
  davClient,
  NS_ATTRS,
  parseMultistatus,
  prop,
  propfindBody,
} from '../test-support/dav.js';

/** Item and collection writes over DAV land in the revision log, with ETags and preconditions. */
describe.each(engines)('DAV items and collections on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;
  let books: string;
  let cals: string;

  const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) =>
    server.app.inject({
      method,
      url,
      headers: alice.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const head = async () => (await api('GET', '/v1/me')).json().head as number;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-items-${engine}`);
    dav = davClient(server, alice);
    books = `/dav/addressbooks/${alice.username}`;
    cals = `/dav/calendars/${alice.username}`;
    for (const [id, type] of [
      ['book', 'contacts'],
      ['book2', 'contacts'],
      ['cal', 'calendar'],
      ['todo', 'tasks'],
    ]) {
      expect((await api('POST', '/v1/collections', { id, type, name: id })).statusCode).toBe(201);
    }
  });
  afterAll(async () => server?.close());

  it('creates with If-None-Match: *, returns the exact bytes and the content hash as a strong ETag', async () => {
    const id = randomUUID();
    // A BOM, CRLF line ends, non-ASCII text and a trailing blank line all come back untouched.
    const card = `\uFEFF${vcard(id, 'Zoë Ångström')}\r\n`;
    const put = await dav('PUT', `${books}/book/${id}.vcf`, {
      body: Buffer.from(card, 'utf8'),
      contentType: 'text/vcard; charset=utf-8',
      headers: { 'if-none-match': '*' },
    });
    expect(put.statusCode).toBe(201);
    const etag = put.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);

    const get = await dav('GET', `${books}/book/${id}.vcf`);
    expect(get.statusCode).toBe(200);
    expect(get.rawPayload.equals(Buffer.from(card, 'utf8'))).toBe(true);
    expect(get.headers.etag).toBe(etag);
    expect(String(get.headers['content-type'])).toContain('text/vcard');

    const viaApi = (await api('GET', `/v1/items/${id}`)).json();
    expect(`"${viaApi.hash}"`).toBe(etag);
    expect(viaApi.content).toBe(card);
    const history = (await api('GET', `/v1/items/${id}/revisions`)).json().revisions;
    expect(history).toHaveLength(1);
    expect(history[0].deviceId).toBe(alice.appPasswordId);

    const headOnly = await dav('HEAD', `${books}/book/${id}.vcf`);
    expect(headOnly.statusCode).toBe(200);
    expect(headOnly.body).toBe('');
    expect(headOnly.headers.etag).toBe(etag);
    expect(headOnly.headers['content-length']).toBe(String(Buffer.byteLength(card)));
    const notModified = await dav('GET', `${books}/book/${id}.vcf`, { headers: { 'if-none-match': etag } });
    expect(notModified.statusCode).toBe(304);

    const again = await dav('PUT', `${books}/book/${id}.vcf`, {
      body: vcard(id, 'Someone Else'),
      headers: { 'if-none-match': '*' },
    });
    expect(again.statusCode).toBe(412);
    expect((await dav('GET', `${books}/book/${id}.vcf`)).rawPayload.equals(Buffer.from(card, 'utf8'))).toBe(true);
  });

  it('updates only with the current ETag; every version stays in the history', async () => {
    const id = randomUUID();
    const url = `${books}/book/${id}.vcf`;
    const first = await dav('PUT', url, { body: vcard(id, 'First Name') });
    expect(first.statusCode).toBe(201);
    const stale = await dav('PUT', url, { body: vcard(id, 'Lost Update'), headers: { 'if-match': '"0000"' } });
    expect(stale.statusCode).toBe(412);
    expect(stale.body).toContain('If-Match');
    const weak = await dav('PUT', url, { body: vcard(id, 'Weak'), headers: { 'if-match': `W/${first.headers.etag}` } });
    expect(weak.statusCode).toBe(412);
    const second = await dav('PUT', url, {
      body: vcard(id, 'Second Name'),
      headers: { 'if-match': first.headers.etag as string },
    });
    expect(second.statusCode).toBe(204);
    expect(second.headers.etag).not.toBe(first.headers.etag);
    const blind = await dav('PUT', url, { body: vcard(id, 'Third Name') });
    expect(blind.statusCode).toBe(204);
    const history = (await api('GET', `/v1/items/${id}/revisions`)).json().revisions;
    expect(history.map((r: { content: string }) => /FN:(.*)/.exec(r.content)?.[1]?.trim())).toEqual([
      'First Name',
      'Second Name',
      'Third Name',
    ]);
  });

  it('deletes with preconditions, answers 404 afterwards, and can bring the name back', async () => {
    const id = randomUUID();
    const url = `${books}/book/${id}.vcf`;
    const created = await dav('PUT', url, { body: vcard(id, 'To Delete') });
    expect((await dav('DELETE', url, { headers: { 'if-match': '"nope"' } })).statusCode).toBe(412);
    expect((await dav('DELETE', url, { headers: { 'if-match': created.headers.etag as string } })).statusCode).toBe(
      204,
    );
    expect((await dav('GET', url)).statusCode).toBe(404);
    expect((await dav('DELETE', url)).statusCode).toBe(404);
    expect((await dav('PUT', url, { body: vcard(id, 'Back'), headers: { 'if-match': '*' } })).statusCode).toBe(412);
    const item = (await api('GET', `/v1/items/${id}?includeDeleted=true`)).json();
    expect(item.deleted).toBe(true);
    const back = await dav('PUT', url, { body: vcard(id, 'Back Again'), headers: { 'if-none-match': '*' } });
    expect(back.statusCode).toBe(201);
    const history = (await api('GET', `/v1/items/${id}/revisions`)).json().revisions;
    expect(history.map((r: { op: string }) => r.op)).toEqual(['put', 'delete', 'put']);
  });

  it('keeps client-chosen names that are not item ids, per collection', async () => {
    const name = 'ada@example.org.vcf';
    expect(
      (await dav('PUT', `${books}/book/${encodeURIComponent(name)}`, { body: vcard('ada', 'Ada') })).statusCode,
    ).toBe(201);
    // The same name in another collection is another item.
    expect(
      (await dav('PUT', `${books}/book2/${encodeURIComponent(name)}`, { body: vcard('ada', 'Ada Two') })).statusCode,
    ).toBe(201);
    // A name whose stem is an id already used in another collection (a client moving an event keeps its name).
    const taken = randomUUID();
    expect((await dav('PUT', `${books}/book/${taken}.vcf`, { body: vcard(taken, 'Mover') })).statusCode).toBe(201);
    expect((await dav('DELETE', `${books}/book/${taken}.vcf`)).statusCode).toBe(204);
    expect((await dav('PUT', `${books}/book2/${taken}.vcf`, { body: vcard(taken, 'Moved') })).statusCode).toBe(201);
    // Another extension is another name.
    expect((await dav('PUT', `${books}/book2/plain`, { body: vcard('plain', 'No Extension') })).statusCode).toBe(201);

    const listing = parseMultistatus(
      (await dav('PROPFIND', `${books}/book2/`, { depth: '1', body: propfindBody('<d:getetag/>') })).body,
    ).responses.map((r) => decodeURIComponent(r.href));
    expect(listing).toEqual(
      expect.arrayContaining([`${books}/book2/${name}`, `${books}/book2/${taken}.vcf`, `${books}/book2/plain`]),
    );
    expect((await dav('GET', `${books}/book/${encodeURIComponent(name)}`)).body).toContain('FN:Ada\r\n');
    expect((await dav('GET', `${books}/book2/${encodeURIComponent(name)}`)).body).toContain('FN:Ada Two');
    expect((await dav('GET', `${books}/book2/${taken}.vcf`)).body).toContain('FN:Moved');
    expect((await dav('GET', `${books}/book/${taken}.vcf`)).statusCode).toBe(404);
    expect((await dav('GET', `${books}/book2/plain.vcf`)).statusCode).toBe(404);
  });

  it('refuses invalid data with the RFC preconditions and writes nothing', async () => {
    const before = await head();
    const badCard = await dav('PUT', `${books}/book/bad.vcf`, { body: 'BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n' });
    expect(badCard.statusCode).toBe(403);
    expect(badCard.body).toContain('valid-address-data');
    const wrongKind = await dav('PUT', `${cals}/todo/event.ics`, { body: vevent('event', 'Not a task') });
    expect(wrongKind.statusCode).toBe(403);
    expect(wrongKind.body).toContain('supported-calendar-component');
    const badEvent = await dav('PUT', `${cals}/cal/bad.ics`, { body: 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n' });
    expect(badEvent.statusCode).toBe(403);
    expect(badEvent.body).toContain('valid-calendar-data');
    const latin1 = await dav('PUT', `${books}/book/latin.vcf`, { body: Buffer.from(vcard('l', 'Zoë'), 'latin1') });
    expect(latin1.statusCode).toBe(415);
    const empty = await dav('PUT', `${books}/book/empty.vcf`, { body: '' });
    expect(empty.statusCode).toBe(400);
    expect(await head()).toBe(before);
  });

  it('stores events and tasks in their own collections', async () => {
    expect((await dav('PUT', `${cals}/cal/standup.ics`, { body: vevent('standup', 'Standup') })).statusCode).toBe(201);
    expect((await dav('PUT', `${cals}/todo/rent.ics`, { body: vtodo('rent', 'Pay rent') })).statusCode).toBe(201);
    const event = await dav('GET', `${cals}/cal/standup.ics`);
    expect(String(event.headers['content-type'])).toContain('text/calendar');
    expect(event.body).toBe(vevent('standup', 'Standup'));
    expect((await api('GET', '/v1/items/rent')).json().collectionId).toBe('todo');
  });

  it('keeps tasks in a calendar made without a component set, seen by queries and the JSON API', async () => {
    expect((await dav('MKCALENDAR', `${cals}/mixed/`)).statusCode).toBe(201);
    const shown = await dav('PROPFIND', `${cals}/mixed/`, {
      depth: '0',
      body: propfindBody('<cal:supported-calendar-component-set/>'),
    });
    const set = prop(parseMultistatus(shown.body).responses[0], 'supported-calendar-component-set');
    expect(set?.children.map((c) => c.attrs.name)).toEqual(['VEVENT', 'VTODO']);
    expect((await dav('PUT', `${cals}/mixed/chore.ics`, { body: vtodo('chore', 'Chore') })).statusCode).toBe(201);
    expect((await dav('PUT', `${cals}/mixed/meet.ics`, { body: vevent('meet', 'Meet') })).statusCode).toBe(201);
    expect((await dav('GET', `${cals}/mixed/chore.ics`)).body).toBe(vtodo('chore', 'Chore'));
    const item = (await api('GET', '/v1/items/chore')).json();
    expect(item).toMatchObject({ collectionId: 'mixed', deleted: false });
    const query = async (component: string) =>
      parseMultistatus(
        (
          await dav('REPORT', `${cals}/mixed/`, {
            depth: '1',
            body: `<cal:calendar-query ${NS_ATTRS}><d:prop><d:getetag/></d:prop><cal:filter><cal:comp-filter name="VCALENDAR"><cal:comp-filter name="${component}"/></cal:comp-filter></cal:filter></cal:calendar-query>`,
          })
        ).body,
      ).responses.map((r) => r.href.split('/').at(-1));
    expect(await query('VTODO')).toEqual(['chore.ics']);
    expect(await query('VEVENT')).toEqual(['meet.ics']);
  });

  it('creates the same new name in two collections at once without a conflict', async () => {
    for (const id of ['race-a', 'race-b']) expect((await dav('MKCALENDAR', `${cals}/${id}/`)).statusCode).toBe(201);
    const names = Array.from({ length: 12 }, () => randomUUID());
    const puts = await Promise.all(
      names.flatMap((uid) =>
        ['race-a', 'race-b'].map((id) => dav('PUT', `${cals}/${id}/${uid}.ics`, { body: vevent(uid, `In ${id}`) })),
      ),
    );
    expect(puts.map((p) => p.statusCode)).toEqual(puts.map(() => 201));
    for (const uid of names) {
      for (const id of ['race-a', 'race-b']) {
        const got = await dav('GET', `${cals}/${id}/${uid}.ics`);
        expect(got.statusCode).toBe(200);
        expect(got.body).toBe(vevent(uid, `In ${id}`));
      }
    }
  });

  it('shows changes made through the JSON API', async () => {
    const pushed = await api('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId: 'book',
          itemId: 'from-api',
          op: 'put',
          baseRevision: null,
          content: vcard('from-api', 'From Api'),
        },
      ],
    });
    expect(pushed.json().results[0].status).toBe('applied');
    const get = await dav('GET', `${books}/book/from-api.vcf`);
    expect(get.statusCode).toBe(200);
    expect(get.body).toBe(vcard('from-api', 'From Api'));
  });

  it('makes address books, calendars and task lists with MKCOL and MKCALENDAR', async () => {
    const mkcol = await dav('MKCOL', `${books}/family/`, {
      body: `<d:mkcol ${NS_ATTRS}><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype><d:displayname>Family</d:displayname><card:addressbook-description>Relatives</card:addressbook-description></d:prop></d:set></d:mkcol>`,
    });
    expect(mkcol.statusCode).toBe(201);
    const mkcalendar = await dav('MKCALENDAR', `${cals}/errands/`, {
      body: `<cal:mkcalendar ${NS_ATTRS}><d:set><d:prop><d:displayname>Errands</d:displayname><ical:calendar-color>#FF8800FF</ical:calendar-color><cal:calendar-timezone>BEGIN:VCALENDAR\nEND:VCALENDAR</cal:calendar-timezone><cal:supported-calendar-component-set><cal:comp name="VTODO"/></cal:supported-calendar-component-set></d:prop></d:set></cal:mkcalendar>`,
    });
    expect(mkcalendar.statusCode).toBe(201);
    const plain = await dav('MKCALENDAR', `${cals}/plain/`);
    expect(plain.statusCode).toBe(201);
    const collections = (await api('GET', '/v1/collections')).json().collections as {
      id: string;
      type: string;
      name: string;
      description: string;
      color: string | null;
    }[];
    expect(collections.find((c) => c.id === 'family')).toMatchObject({
      type: 'contacts',
      name: 'Family',
      description: 'Relatives',
    });
    expect(collections.find((c) => c.id === 'errands')).toMatchObject({
      type: 'tasks',
      name: 'Errands',
      color: '#FF8800',
    });
    expect(collections.find((c) => c.id === 'plain')).toMatchObject({ type: 'calendar', name: 'plain' });

    expect((await dav('MKCOL', `${books}/family/`)).statusCode).toBe(405);
    expect((await dav('MKCOL', `${books}/bad%20name/`)).statusCode).toBe(403);
    expect((await dav('MKCALENDAR', `${books}/wrong/`)).statusCode).toBe(403);
    const wrongType = await dav('MKCOL', `${books}/wrong/`, {
      body: `<d:mkcol ${NS_ATTRS}><d:set><d:prop><d:resourcetype><d:collection/><cal:calendar/></d:resourcetype></d:prop></d:set></d:mkcol>`,
    });
    expect(wrongType.statusCode).toBe(403);
    expect(wrongType.body).toContain('valid-resourcetype');
  });

  it('renames and recolours with PROPPATCH, all or nothing', async () => {
    const patch = (props: string) =>
      dav('PROPPATCH', `${cals}/cal/`, {
        body: `<d:propertyupdate ${NS_ATTRS}><d:set><d:prop>${props}</d:prop></d:set></d:propertyupdate>`,
      });
    const ok = await patch(
      '<d:displayname>Renamed</d:displayname><ical:calendar-color>#112233</ical:calendar-color><cal:calendar-description>Desc</cal:calendar-description>',
    );
    expect(ok.statusCode).toBe(207);
    const [response] = parseMultistatus(ok.body).responses;
    expect([...(response?.props.keys() ?? [])]).toEqual([200]);
    expect((await api('GET', '/v1/collections/cal')).json()).toMatchObject({
      name: 'Renamed',
      color: '#112233',
      description: 'Desc',
    });

    const before = await head();
    const mixed = await patch('<d:displayname>Not Applied</d:displayname><ical:calendar-order>3</ical:calendar-order>');
    const [failed] = parseMultistatus(mixed.body).responses;
    expect(failed?.props.get(403)?.has('calendar-order')).toBe(true);
    expect(failed?.props.get(424)?.has('displayname')).toBe(true);
    expect(await head()).toBe(before);
    expect((await api('GET', '/v1/collections/cal')).json().name).toBe('Renamed');

    const shown = parseMultistatus(
      (
        await dav('PROPFIND', `${cals}/cal/`, {
          depth: '0',
          body: propfindBody('<d:displayname/><ical:calendar-color/>'),
        })
      ).body,
    ).responses[0];
    expect(prop(shown, 'displayname')?.text).toBe('Renamed');
    expect(prop(shown, 'calendar-color')?.text).toBe('#112233');
  });

  it('deletes a collection with its items, keeping them in history', async () => {
    const id = randomUUID();
    expect((await dav('PUT', `${books}/book2/${id}.vcf`, { body: vcard(id, 'Goes With Book') })).statusCode).toBe(201);
    expect((await dav('DELETE', `${books}/book2/`)).statusCode).toBe(204);
    expect((await dav('PROPFIND', `${books}/book2/`, { depth: '0' })).statusCode).toBe(404);
    expect((await api('GET', `/v1/items/${id}?includeDeleted=true`)).json().deleted).toBe(true);
    expect((await api('GET', `/v1/items/${id}/revisions`)).json().revisions).toHaveLength(2);
    expect((await dav('DELETE', `${books}/`)).statusCode).toBe(403);
  });

  it('makes a deleted collection name again as a new incarnation that restore and sync tokens tell apart', async () => {
    const syncBody = (token: string) =>
      `<d:sync-collection ${NS_ATTRS}><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`;
    expect((await dav('MKCALENDAR', `${cals}/reuse1/`)).statusCode).toBe(201);
    expect((await dav('PUT', `${cals}/reuse1/old.ics`, { body: vevent('old', 'Old') })).statusCode).toBe(201);
    const oldToken = parseMultistatus((await dav('REPORT', `${cals}/reuse1/`, { body: syncBody('') })).body).syncToken;
    const beforeDelete = await head();
    expect((await dav('DELETE', `${cals}/reuse1/`)).statusCode).toBe(204);
    expect((await dav('PROPFIND', `${cals}/reuse1/`, { depth: '0' })).statusCode).toBe(404);

    expect((await dav('MKCALENDAR', `${cals}/reuse1/`)).statusCode).toBe(201);
    const listing = await dav('PROPFIND', `${cals}/reuse1/`, { depth: '1' });
    expect(parseMultistatus(listing.body).responses).toHaveLength(1);
    expect((await dav('GET', `${cals}/reuse1/old.ics`)).statusCode).toBe(404);
    const stale = await dav('REPORT', `${cals}/reuse1/`, { body: syncBody(oldToken ?? '') });
    expect(stale.statusCode).toBe(403);
    expect(stale.body).toContain('valid-sync-token');
    const fresh = parseMultistatus((await dav('REPORT', `${cals}/reuse1/`, { body: syncBody('') })).body).syncToken;
    expect((await dav('REPORT', `${cals}/reuse1/`, { body: syncBody(fresh ?? '') })).statusCode).toBe(207);

    const again = await dav('MKCALENDAR', `${cals}/reuse1/`);
    expect(again.statusCode).toBe(405);
    expect(again.body).toContain('resource-must-be-null');
    const otherKind = await dav('MKCALENDAR', `${cals}/reuse2/`);
    expect(otherKind.statusCode).toBe(201);
    expect((await dav('DELETE', `${cals}/reuse2/`)).statusCode).toBe(204);
    const asTasks = await dav('MKCALENDAR', `${cals}/reuse2/`, {
      body: `<cal:mkcalendar ${NS_ATTRS}><d:set><d:prop><cal:supported-calendar-component-set><cal:comp name="VTODO"/></cal:supported-calendar-component-set></d:prop></d:set></cal:mkcalendar>`,
    });
    expect(asTasks.statusCode).toBe(403);
    expect(asTasks.body).toContain('resource-must-be-null');

    // Point-in-time restore to before the delete brings the old event back into the same collection.
    const restored = await api('POST', '/v1/restore', { revision: beforeDelete, collectionIds: ['reuse1'] });
    expect(restored.statusCode).toBe(200);
    const back = await dav('GET', `${cals}/reuse1/old.ics`);
    expect(back.statusCode).toBe(200);
    expect(back.body).toBe(vevent('old', 'Old'));

    // Address books alike, with extended MKCOL.
    const mkcol = `<d:mkcol ${NS_ATTRS}><d:set><d:prop><d:resourcetype><d:collection/><card:addressbook/></d:resourcetype></d:prop></d:set></d:mkcol>`;
    expect((await dav('MKCOL', `${books}/reuse-book/`, { body: mkcol })).statusCode).toBe(201);
    expect((await dav('DELETE', `${books}/reuse-book/`)).statusCode).toBe(204);
    expect((await dav('MKCOL', `${books}/reuse-book/`, { body: mkcol })).statusCode).toBe(201);
    const taken = await dav('MKCOL', `${books}/reuse-book/`, { body: mkcol });
    expect(taken.statusCode).toBe(405);
    expect(taken.body).toContain('resource-must-be-null');
  });

  it('refuses methods it does not implement with 405 and an Allow header', async () => {
    const move = await dav('MOVE', `${books}/book/x.vcf`, { headers: { destination: `${books}/book/y.vcf` } });
    expect(move.statusCode).toBe(405);
    expect(String(move.headers.allow)).toContain('PUT');
    const getCollection = await dav('GET', `${books}/book/`);
    expect(getCollection.statusCode).toBe(405);
  });
});
