import { randomUUID } from 'node:crypto';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMeta } from '../store/meta.js';
import { addDavUser, type DavCall, type DavUser, davClient } from '../test-support/dav.js';
import { CONTACT_INDEX_VERSION, rebuildContactIndex } from './contact-index.js';

const card = (uid: string, lines: string[]) =>
  ['BEGIN:VCARD', 'VERSION:3.0', `UID:${uid}`, ...lines, 'END:VCARD', ''].join('\r\n');

interface Hit {
  id: string;
  collectionId: string;
  revision: number;
  name: string;
  nicknames: string[];
  phones: string[];
  emails: string[];
  organization: string | null;
}

describe.each(engines)('contact search on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let bob: TestUser;
  let dav: DavCall;

  const call = (method: 'GET' | 'POST', url: string, payload?: unknown, user: TestUser = alice) =>
    server.app.inject({
      method,
      url,
      headers: user.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const push = async (user: TestUser, changes: object[]) => {
    const response = await call('POST', '/v1/push', { changes }, user);
    expect(response.statusCode).toBe(200);
    return response.json().results as { status: string; revision: number }[];
  };
  const put = (collectionId: string, itemId: string, content: string, baseRevision: number | null = null) => ({
    clientChangeId: randomUUID(),
    collectionId,
    itemId,
    op: 'put',
    baseRevision,
    content,
  });
  const search = async (q: string, extra = '', user: TestUser = alice) => {
    const response = await call('GET', `/v1/contacts/search?q=${encodeURIComponent(q)}${extra}`, undefined, user);
    expect(response.statusCode).toBe(200);
    return response.json() as { contacts: Hit[]; next: string | null };
  };
  const ids = async (q: string, user: TestUser = alice) => (await search(q, '', user)).contacts.map((c) => c.id).sort();

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-search-${engine}`);
    bob = await addUser(server, `bob-search-${engine}`);
    dav = davClient(server, alice);
    for (const user of [alice, bob])
      expect(
        (await call('POST', '/v1/collections', { id: 'people', type: 'contacts', name: 'People' }, user)).statusCode,
      ).toBe(201);
    expect((await call('POST', '/v1/collections', { id: 'cal', type: 'calendar', name: 'Cal' })).statusCode).toBe(201);
  });
  afterAll(async () => server?.close());

  it('indexes pushes as they happen: create, update, delete', async () => {
    const [created] = await push(alice, [
      put(
        'people',
        'ada',
        card('ada', [
          'FN:Ada Lovelace',
          'N:Lovelace;Ada;;;',
          'NICKNAME:Countess,Enchantress',
          'TEL;TYPE=CELL:+44 20 7946-0000',
          'EMAIL:ada@analytical.example',
          'ORG:Analytical Engines Ltd',
        ]),
      ),
      put('people', 'zoe', card('zoe', ['FN:Zoë Ångström', 'TEL:(555) 010-9999'])),
    ]);
    const ada = (await search('ada')).contacts.find((c) => c.id === 'ada');
    expect(ada).toEqual({
      id: 'ada',
      collectionId: 'people',
      revision: created?.revision,
      name: 'Ada Lovelace',
      nicknames: ['Countess', 'Enchantress'],
      phones: ['+44 20 7946-0000'],
      emails: ['ada@analytical.example'],
      organization: 'Analytical Engines Ltd',
    });
    // By nickname, by email, by word order and case, accents ignored.
    expect(await ids('enchantress')).toEqual(['ada']);
    expect(await ids('ANALYTICAL.example')).toEqual(['ada']);
    expect(await ids('lovelace ada')).toEqual(['ada']);
    expect(await ids('zoe angstrom')).toEqual(['zoe']);
    // Phone digits whatever the punctuation, with or without the trunk zero.
    expect(await ids('020 7946 0000')).toEqual(['ada']);
    expect(await ids('(0)20-7946-0000')).toEqual(['ada']);
    expect(await ids('79460000')).toEqual(['ada']);
    expect(await ids('555-010-9999')).toEqual(['zoe']);
    expect(await ids('%')).toEqual([]);

    const [updated] = await push(alice, [
      put('people', 'ada', card('ada', ['FN:Augusta Ada King', 'TEL:+44 20 1111 2222']), created?.revision as number),
    ]);
    expect(updated?.status).toBe('applied');
    expect(await ids('lovelace')).toEqual([]);
    expect(await ids('augusta')).toEqual(['ada']);
    expect(await ids('2011112222')).toEqual(['ada']);
    expect((await search('augusta')).contacts[0]?.revision).toBe(updated?.revision);

    await push(alice, [
      {
        clientChangeId: randomUUID(),
        collectionId: 'people',
        itemId: 'ada',
        op: 'delete',
        baseRevision: updated?.revision,
      },
    ]);
    expect(await ids('augusta')).toEqual([]);
    expect(await ids('zoe')).toEqual(['zoe']);
  });

  it('indexes CardDAV writes, and never shows another user or other item types', async () => {
    const url = `/dav/addressbooks/${alice.username}/people/grace.vcf`;
    const created = await dav('PUT', url, { body: card('grace', ['FN:Grace Hopper', 'EMAIL:grace@navy.example']) });
    expect(created.statusCode).toBe(201);
    expect(await ids('hopper')).toEqual(['grace']);
    const changed = await dav('PUT', url, {
      body: card('grace', ['FN:Rear Admiral Hopper', 'NICKNAME:Amazing Grace']),
      headers: { 'if-match': created.headers.etag as string },
    });
    expect(changed.statusCode).toBe(204);
    expect(await ids('admiral')).toEqual(['grace']);
    expect(await ids('amazing')).toEqual(['grace']);
    expect(await ids('navy')).toEqual([]);

    await push(bob, [put('people', 'bobs-grace', card('bobs-grace', ['FN:Grace Kelly', 'TEL:555 010 9999']))]);
    expect(await ids('grace', bob)).toEqual(['bobs-grace']);
    expect(await ids('grace')).toEqual(['grace']);
    expect(await ids('5550109999')).toEqual(['zoe']);
    await push(alice, [
      put(
        'cal',
        'ev',
        [
          'BEGIN:VCALENDAR',
          'VERSION:2.0',
          'BEGIN:VEVENT',
          'UID:ev',
          'DTSTAMP:20260101T000000Z',
          'SUMMARY:Grace party',
          'END:VEVENT',
          'END:VCALENDAR',
          '',
        ].join('\r\n'),
      ),
    ]);
    expect(await ids('party')).toEqual([]);

    expect((await dav('DELETE', url)).statusCode).toBe(204);
    expect(await ids('admiral')).toEqual([]);
    expect(await ids('grace', bob)).toEqual(['bobs-grace']);
  });

  it('lists everyone in name order a page at a time, and the index can be made again from the items', async () => {
    const names = ['Mallory', 'alice', 'Bob', 'Émile', 'dave', 'Carol', 'Oscar'];
    await push(
      alice,
      names.map((name, i) => put('people', `p${i}`, card(`p${i}`, [`FN:${name}`]))),
    );
    await push(alice, [put('people', 'nameless', card('nameless', ['NOTE:no name at all']))]);
    const seen: Hit[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: { contacts: Hit[]; next: string | null } = await search(
        '',
        `&limit=3${after ? `&after=${after}` : ''}`,
      );
      expect(page.contacts.length).toBeLessThanOrEqual(3);
      seen.push(...page.contacts);
      after = page.next;
      pages++;
    } while (after);
    expect(pages).toBe(3);
    expect(seen.map((c) => c.name)).toEqual([
      'alice',
      'Bob',
      'Carol',
      'dave',
      'Émile',
      'Mallory',
      'Oscar',
      'Zoë Ångström',
      '',
    ]);
    const everyone = (await search('', '&limit=500')).contacts;
    expect(everyone.map((c) => c.id)).toEqual(seen.map((c) => c.id));
    expect((await call('GET', '/v1/contacts/search?after=not-a-cursor')).json().code).toBe('invalid_cursor');

    // Derived data: dropped and made again from the items, it says the same.
    await rebuildContactIndex(server.ctx);
    expect(await readMeta(server.ctx.db, 'contact_search')).toBe(CONTACT_INDEX_VERSION);
    expect((await search('', '&limit=500')).contacts).toEqual(everyone);
    expect(await ids('grace', bob)).toEqual(['bobs-grace']);
  });
});
