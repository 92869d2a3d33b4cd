import { randomUUID } from 'node:crypto';
import { engines, startTestServer, type TestServer, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addDavUser,
  type DavCall,
  type DavUser,
  davClient,
  NS_ATTRS,
  parseMultistatus,
  propfindBody,
} from '../test-support/dav.js';

const COUNT = 450;

/** Collections larger than one page (200) are listed whole, each member once, by every listing path. */
describe.each(engines)('DAV listings across pages on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;
  let book: string;
  const expected = new Set<string>();

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-large-${engine}`);
    dav = davClient(server, alice);
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { id: 'big', type: 'contacts', name: 'Big' },
    });
    expect(created.statusCode).toBe(201);
    book = `/dav/addressbooks/${alice.username}/big/`;
    const changes = Array.from({ length: COUNT }, (_, i) => {
      const id = `card-${String(i).padStart(4, '0')}`;
      expected.add(`${book}${id}.vcf`);
      return {
        clientChangeId: randomUUID(),
        collectionId: 'big',
        itemId: id,
        op: 'put',
        baseRevision: null,
        content: vcard(id, `Person ${i}`),
      };
    });
    const pushed = await server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: alice.auth,
      payload: { changes },
    });
    expect(pushed.json().results.every((r: { status: string }) => r.status === 'applied')).toBe(true);
  });
  afterAll(async () => server?.close());

  const hrefsOf = (body: string) =>
    parseMultistatus(body)
      .responses.filter((r) => r.status === null)
      .map((r) => r.href);
  const expectAll = (hrefs: string[]) => {
    expect(hrefs).toHaveLength(COUNT);
    expect(new Set(hrefs)).toEqual(expected);
  };

  it('lists every member with PROPFIND depth 1', async () => {
    const response = await dav('PROPFIND', book, { depth: '1', body: propfindBody('<d:getetag/>') });
    expectAll(hrefsOf(response.body).filter((h) => h !== book));
  });

  it('lists every member in an initial sync, and in limited pages that add up', async () => {
    const body = (token: string, limit?: number) =>
      `<d:sync-collection ${NS_ATTRS}><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level>${limit ? `<d:limit><d:nresults>${limit}</d:nresults></d:limit>` : ''}<d:prop><d:getetag/></d:prop></d:sync-collection>`;
    const whole = await dav('REPORT', book, { body: body('') });
    expectAll(hrefsOf(whole.body));

    const seen: string[] = [];
    let token = '';
    for (let round = 0; round < 10; round++) {
      const page = parseMultistatus((await dav('REPORT', book, { body: body(token, 200) })).body);
      seen.push(...page.responses.filter((r) => r.status === null).map((r) => r.href));
      token = page.syncToken as string;
      if (!page.responses.some((r) => r.status === 507)) break;
    }
    expectAll(seen);
  });

  it('returns every member from an unfiltered addressbook-query', async () => {
    const response = await dav('REPORT', book, {
      body: `<card:addressbook-query ${NS_ATTRS}><d:prop><d:getetag/><card:address-data/></d:prop><card:filter/></card:addressbook-query>`,
    });
    expectAll(hrefsOf(response.body));
  });
});
