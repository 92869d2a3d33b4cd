import { randomUUID } from 'node:crypto';
import { decodeCursor, encodeCursor } from '@holdfast/protocol';
import { engines, startTestServer, type TestServer, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGeneration } from '../store/meta.js';
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

/** RFC 6578 sync-collection over the revision log, and CTags that follow it. */
describe.each(engines)('DAV sync-collection on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;
  let book: string;

  const api = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: unknown) =>
    server.app.inject({
      method,
      url,
      headers: alice.auth,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  const sync = async (token: string, url = book, limit?: number) => {
    const response = await dav('REPORT', url, {
      depth: '1',
      body: `<d:sync-collection ${NS_ATTRS}><d:sync-token>${token}</d:sync-token><d:sync-level>1</d:sync-level>${limit ? `<d:limit><d:nresults>${limit}</d:nresults></d:limit>` : ''}<d:prop><d:getetag/></d:prop></d:sync-collection>`,
    });
    return {
      response,
      ...(response.statusCode === 207 ? parseMultistatus(response.body) : { responses: [], syncToken: undefined }),
    };
  };
  const names = (responses: { href: string; status: number | null }[]) =>
    responses.map((r) => `${r.href.split('/').at(-1) || 'collection'}:${r.status ?? 200}`).sort();
  const ctag = async (url = book) => {
    const response = await dav('PROPFIND', url, { depth: '0', body: propfindBody('<cs:getctag/><d:sync-token/>') });
    const [self] = parseMultistatus(response.body).responses;
    return { ctag: prop(self, 'getctag')?.text, token: prop(self, 'sync-token')?.text };
  };
  const put = (name: string, fn: string) => dav('PUT', `${book}${name}.vcf`, { body: vcard(name, fn) });

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addDavUser(server, `alice-sync-${engine}`);
    dav = davClient(server, alice);
    for (const id of ['book', 'other']) {
      expect((await api('POST', '/v1/collections', { id, type: 'contacts', name: id })).statusCode).toBe(201);
    }
    book = `/dav/addressbooks/${alice.username}/book/`;
    for (const name of ['a', 'b', 'c']) expect((await put(name, name.toUpperCase())).statusCode).toBe(201);
  });
  afterAll(async () => server?.close());

  let token = '';

  it('lists every member and a token on the initial sync', async () => {
    const initial = await sync('');
    expect(initial.response.statusCode).toBe(207);
    expect(names(initial.responses)).toEqual(['a.vcf:200', 'b.vcf:200', 'c.vcf:200']);
    expect(initial.syncToken).toMatch(/^https:\/\/holdfast\.dev\/sync\/[A-Za-z0-9_-]+$/);
    expect(prop(initial.responses[0], 'getetag')?.text).toMatch(/^"[0-9a-f]{64}"$/);
    token = initial.syncToken as string;
    // The collection's sync-token and CTag say the same thing, so clients skip collections that did not move.
    expect(await ctag()).toEqual({ ctag: token, token });
  });

  it('reports nothing and keeps the token when nothing changed, even if other collections did', async () => {
    const other = `/dav/addressbooks/${alice.username}/other/`;
    expect((await dav('PUT', `${other}x.vcf`, { body: vcard('x', 'X') })).statusCode).toBe(201);
    const again = await sync(token);
    expect(again.responses).toEqual([]);
    expect(again.syncToken).toBe(token);
    expect((await ctag()).ctag).toBe(token);
  });

  it('reports additions, JSON API edits and deletions since the token', async () => {
    expect((await put('d', 'D')).statusCode).toBe(201);
    const b = (await api('GET', '/v1/items/b')).json();
    const pushed = await api('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId: 'book',
          itemId: 'b',
          op: 'put',
          baseRevision: b.revision,
          content: vcard('b', 'B from the app'),
        },
      ],
    });
    expect(pushed.json().results[0].status).toBe('applied');
    expect((await dav('DELETE', `${book}c.vcf`)).statusCode).toBe(204);
    // Created and deleted between two syncs: reported as gone, which is harmless.
    expect((await put('e', 'E')).statusCode).toBe(201);
    expect((await dav('DELETE', `${book}e.vcf`)).statusCode).toBe(204);

    const changes = await sync(token);
    expect(names(changes.responses)).toEqual(['b.vcf:200', 'c.vcf:404', 'd.vcf:200', 'e.vcf:404']);
    const newB = changes.responses.find((r) => r.href.endsWith('/b.vcf'));
    expect(prop(newB, 'getetag')?.text).toBe(`"${(await api('GET', '/v1/items/b')).json().hash}"`);
    expect(changes.syncToken).not.toBe(token);
    const tags = await ctag();
    expect(tags.ctag).toBe(changes.syncToken);
    token = changes.syncToken as string;
    expect((await sync(token)).responses).toEqual([]);
  });

  it('changes the CTag when the collection itself is renamed', async () => {
    const before = await ctag();
    const renamed = await dav('PROPPATCH', book, {
      body: `<d:propertyupdate ${NS_ATTRS}><d:set><d:prop><d:displayname>Renamed</d:displayname></d:prop></d:set></d:propertyupdate>`,
    });
    expect(renamed.statusCode).toBe(207);
    expect((await ctag()).ctag).not.toBe(before.ctag);
    const after = await sync(token);
    expect(after.responses).toEqual([]);
    token = after.syncToken as string;
  });

  it('truncates at the client limit with 507 and continues from the returned token', async () => {
    for (const name of ['f', 'g', 'h']) expect((await put(name, name)).statusCode).toBe(201);
    const first = await sync(token, book, 2);
    expect(names(first.responses)).toEqual(['collection:507', 'f.vcf:200', 'g.vcf:200']);
    const second = await sync(first.syncToken as string, book, 2);
    expect(names(second.responses)).toEqual(['h.vcf:200']);
    token = second.syncToken as string;

    const initialFirst = await sync('', book, 3);
    expect(initialFirst.responses.filter((r) => r.status === 507)).toHaveLength(1);
    const listed = initialFirst.responses.filter((r) => r.status === null).length;
    expect(listed).toBe(3);
    let rest = await sync(initialFirst.syncToken as string, book);
    const all = new Set(
      [...initialFirst.responses, ...rest.responses].filter((r) => r.status === null).map((r) => r.href),
    );
    expect([...all].map((h) => h.split('/').at(-1)).sort()).toEqual([
      'a.vcf',
      'b.vcf',
      'd.vcf',
      'f.vcf',
      'g.vcf',
      'h.vcf',
    ]);
    rest = await sync(rest.syncToken as string, book);
    expect(rest.responses).toEqual([]);
  });

  it('refuses malformed, foreign-lineage and future tokens with valid-sync-token', async () => {
    const generation = await readGeneration(server.ctx.db.kysely);
    const bad = [
      'garbage',
      'https://holdfast.dev/sync/not-a-cursor',
      `https://holdfast.dev/sync/${encodeCursor({ generation: 'AnotherLineage0000000', seq: 1 })}`,
      `https://holdfast.dev/sync/${encodeCursor({ generation, seq: 99_999_999 })}`,
    ];
    for (const candidate of bad) {
      const { response } = await sync(candidate);
      expect(response.statusCode).toBe(403);
      expect(response.body).toContain('<d:valid-sync-token/>');
    }
  });

  it('refuses a token whose position now holds other revisions (log rolled back and rewritten), accepts old-format ones', async () => {
    const issued = decodeCursor(token.slice('https://holdfast.dev/sync/'.length));
    expect(issued.chain).toMatch(/^[0-9a-f]{16}$/);
    const other = issued.chain === '0'.repeat(16) ? '1'.repeat(16) : '0'.repeat(16);
    const diverged = await sync(`https://holdfast.dev/sync/${encodeCursor({ ...issued, chain: other })}`);
    expect(diverged.response.statusCode).toBe(403);
    expect(diverged.response.body).toContain('<d:valid-sync-token/>');
    const old = await sync(
      `https://holdfast.dev/sync/${encodeCursor({ generation: issued.generation, seq: issued.seq })}`,
    );
    expect(old.response.statusCode).toBe(207);
  });

  it('refuses every old token after the server is restored (new generation), so clients resynchronise', async () => {
    expect((await sync(token)).response.statusCode).toBe(207);
    const before = await ctag();
    await server.ctx.db.kysely
      .updateTable('meta')
      .set({ value: 'RestoredLineage000000' })
      .where('key', '=', 'generation')
      .execute();
    const stale = await sync(token);
    expect(stale.response.statusCode).toBe(403);
    expect(stale.response.body).toContain('valid-sync-token');
    const after = await ctag();
    expect(after.ctag).not.toBe(before.ctag);
    const fresh = await sync('');
    expect(fresh.responses.length).toBe(6);
    expect((await sync(fresh.syncToken as string)).response.statusCode).toBe(207);
  });

  it('answers sync-collection only on collections that exist', async () => {
    const home = await sync('', `/dav/addressbooks/${alice.username}/`);
    expect(home.response.statusCode).toBe(403);
    expect((await dav('DELETE', `/dav/addressbooks/${alice.username}/other/`)).statusCode).toBe(204);
    const gone = await sync('', `/dav/addressbooks/${alice.username}/other/`);
    expect(gone.response.statusCode).toBe(404);
  });
});
