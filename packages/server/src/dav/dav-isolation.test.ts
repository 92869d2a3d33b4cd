import { engines, startTestServer, type TestServer, vcard, vevent } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUserDisabled } from '../auth/accounts.js';
import { revokeAppPassword } from '../store/app-passwords.js';
import {
  addDavUser,
  type DavCall,
  type DavUser,
  davClient,
  NS_ATTRS,
  parseMultistatus,
  propfindBody,
} from '../test-support/dav.js';

/**
 * Mallory, authenticated as herself, aims every DAV method at Alice's paths:
 * each answers 404, exactly as for paths that do not exist, and nothing of
 * Alice's changes. Another user's principal is 404 too.
 */
describe.each(engines)('DAV isolation and authentication on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let mallory: DavUser;
  let asAlice: DavCall;
  let asMallory: DavCall;
  let aliceBook: string;
  let aliceCal: string;
  const secret = vcard('secret', 'Secret Person');

  const head = async () =>
    (await server.app.inject({ method: 'GET', url: '/v1/me', headers: alice.auth })).json().head as number;

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-iso-dav-${engine}`);
    mallory = await addDavUser(server, `mallory-iso-dav-${engine}`);
    asAlice = davClient(server, alice);
    asMallory = davClient(server, mallory);
    aliceBook = `/dav/addressbooks/${alice.username}/private/`;
    aliceCal = `/dav/calendars/${alice.username}/diary/`;
    expect((await asAlice('MKCOL', aliceBook)).statusCode).toBe(201);
    expect((await asAlice('MKCALENDAR', aliceCal)).statusCode).toBe(201);
    expect((await asAlice('PUT', `${aliceBook}secret.vcf`, { body: secret })).statusCode).toBe(201);
    expect((await asAlice('PUT', `${aliceCal}date.ics`, { body: vevent('date', 'Private date') })).statusCode).toBe(
      201,
    );
  });
  afterAll(async () => server?.close());

  it.each([
    ['PROPFIND', () => `/dav/principals/${alice.username}/`, undefined],
    ['PROPFIND', () => `/dav/addressbooks/${alice.username}/`, undefined],
    ['PROPFIND', () => aliceBook, undefined],
    ['PROPFIND', () => `${aliceBook}secret.vcf`, undefined],
    ['GET', () => `${aliceBook}secret.vcf`, undefined],
    ['HEAD', () => `${aliceBook}secret.vcf`, undefined],
    ['PUT', () => `${aliceBook}secret.vcf`, vcard('secret', 'Pwned')],
    ['PUT', () => `${aliceBook}planted.vcf`, vcard('planted', 'Planted')],
    ['DELETE', () => `${aliceBook}secret.vcf`, undefined],
    ['DELETE', () => aliceBook, undefined],
    ['MKCOL', () => `/dav/addressbooks/${alice.username}/new/`, undefined],
    ['MKCALENDAR', () => `/dav/calendars/${alice.username}/new/`, undefined],
    [
      'PROPPATCH',
      () => aliceCal,
      `<d:propertyupdate ${NS_ATTRS}><d:set><d:prop><d:displayname>pwned</d:displayname></d:prop></d:set></d:propertyupdate>`,
    ],
    [
      'REPORT',
      () => aliceBook,
      `<d:sync-collection ${NS_ATTRS}><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>`,
    ],
    [
      'REPORT',
      () => aliceCal,
      `<cal:calendar-query ${NS_ATTRS}><d:prop><cal:calendar-data/></d:prop><cal:filter><cal:comp-filter name="VCALENDAR"/></cal:filter></cal:calendar-query>`,
    ],
  ] as [string, () => string, string | undefined][])(
    '%s %s as another user is 404 and changes nothing',
    async (method, url, body) => {
      const before = await head();
      const response = await asMallory(method, url(), { depth: '0', ...(body === undefined ? {} : { body }) });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain('Secret');
      expect(await head()).toBe(before);
    },
  );

  it("cannot reach Alice's items through her own collections or a multiget", async () => {
    // Collection ids are per user: the same id in Mallory's home is Mallory's own, empty namespace.
    expect(
      (await asMallory('PROPFIND', `/dav/addressbooks/${mallory.username}/private/`, { depth: '0' })).statusCode,
    ).toBe(404);
    expect((await asMallory('MKCOL', `/dav/addressbooks/${mallory.username}/private/`)).statusCode).toBe(201);
    expect((await asMallory('GET', `/dav/addressbooks/${mallory.username}/private/secret.vcf`)).statusCode).toBe(404);
    const multiget = await asMallory('REPORT', `/dav/addressbooks/${mallory.username}/private/`, {
      body: `<card:addressbook-multiget ${NS_ATTRS}><d:prop><card:address-data/></d:prop><d:href>${aliceBook}secret.vcf</d:href></card:addressbook-multiget>`,
    });
    expect(multiget.statusCode).toBe(207);
    expect(parseMultistatus(multiget.body).responses.map((r) => r.status)).toEqual([404]);
    expect(multiget.body).not.toContain('Secret');
    // Writing the same names in her own collection touches only her data.
    expect(
      (
        await asMallory('PUT', `/dav/addressbooks/${mallory.username}/private/secret.vcf`, {
          body: vcard('secret', 'Mine'),
        })
      ).statusCode,
    ).toBe(201);
    const home = await asMallory('PROPFIND', `/dav/addressbooks/${mallory.username}/`, {
      depth: '1',
      body: propfindBody('<d:displayname/>'),
    });
    expect(parseMultistatus(home.body).responses.map((r) => r.href)).toEqual([
      `/dav/addressbooks/${mallory.username}/`,
      `/dav/addressbooks/${mallory.username}/private/`,
    ]);
  });

  it("left Alice's data exactly as it was", async () => {
    const get = await asAlice('GET', `${aliceBook}secret.vcf`);
    expect(get.body).toBe(secret);
    const history = await server.app.inject({ method: 'GET', url: '/v1/items/secret/revisions', headers: alice.auth });
    expect(history.json().revisions).toHaveLength(1);
  });

  it("refuses another user's app password, revoked app passwords and disabled users", async () => {
    const crossed = `Basic ${Buffer.from(`${mallory.username}:${alice.appPassword}`).toString('base64')}`;
    expect(
      (await server.app.inject({ method: 'PROPFIND', url: '/dav/', headers: { authorization: crossed } })).statusCode,
    ).toBe(401);

    const bob = await addDavUser(server, `bob-iso-dav-${engine}`);
    const asBob = davClient(server, bob);
    expect((await asBob('PROPFIND', '/dav/', { depth: '0' })).statusCode).toBe(207);
    expect(await revokeAppPassword(server.ctx.db.kysely, bob.userId, bob.appPasswordId, Date.now())).toBe(true);
    // Revocation is immediate even though the credential was just verified.
    expect((await asBob('PROPFIND', '/dav/', { depth: '0' })).statusCode).toBe(401);

    const carol = await addDavUser(server, `carol-iso-dav-${engine}`);
    const asCarol = davClient(server, carol);
    expect((await asCarol('PROPFIND', '/dav/', { depth: '0' })).statusCode).toBe(207);
    await setUserDisabled(server.ctx, carol.username, true);
    expect((await asCarol('PROPFIND', '/dav/', { depth: '0' })).statusCode).toBe(401);
  });

  it('throttles failed Basic logins, with a budget apart from device logins', async () => {
    const dave = await addDavUser(server, `dave-iso-dav-${engine}`);
    const wrong = (i: number) => `Basic ${Buffer.from(`${dave.username}:wrong-${i}`).toString('base64')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await server.app.inject({
        method: 'PROPFIND',
        url: '/dav/',
        headers: { authorization: wrong(i), depth: '0' },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    const right = await davClient(server, dave)('PROPFIND', '/dav/', { depth: '0' });
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
    // Device logins count apart: a phone retrying a stale app password does not block them.
    const login = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: dave.username, password: dave.password },
    });
    expect(login.statusCode).toBe(200);
  });
});
