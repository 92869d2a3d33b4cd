import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { engines, startTestServer, type TestServer, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavUser, parseMultistatus } from '../test-support/dav.js';

const corpus = fileURLToPath(new URL('../../../../test/fixtures/corpus/images/', import.meta.url));
const MAX_BLOB = 256 * 1024;

/**
 * Plain WebDAV for photos under /dav/files/<user>/, over real HTTP: folders
 * are photo collections, files are photo items written through the revision
 * log, and another user's paths answer 404 like missing ones.
 */
describe.each(engines)('WebDAV files on %s', (engine) => {
  let server: TestServer;
  let url: string;
  let alice: DavUser;
  let mallory: DavUser;
  let exif: Buffer;
  let png: Buffer;

  const call = (
    user: DavUser,
    method: string,
    path: string,
    init: { body?: Buffer | string; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${url}${path}`, {
      method,
      headers: { ...user.basic, ...init.headers },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await server.app.inject({
      method: method as 'GET',
      url: path,
      headers: alice.auth,
      ...(body === undefined ? {} : { payload: body as object }),
    });
    return response.json();
  };
  const home = () => `/dav/files/${alice.username}/`;

  beforeAll(async () => {
    server = await startTestServer(engine, { 'max-blob-bytes': String(MAX_BLOB) });
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    alice = await addDavUser(server, `alice-files-${engine}`);
    mallory = await addDavUser(server, `mallory-files-${engine}`);
    exif = await readFile(`${corpus}photo-exif.jpg`);
    png = await readFile(`${corpus}photo.png`);
  });
  afterAll(async () => server?.close());

  it('answers OPTIONS without credentials, advertising class 1', async () => {
    const response = await fetch(`${url}${home()}`, { method: 'OPTIONS' });
    expect(response.status).toBe(200);
    expect(response.headers.get('dav')).toBe('1');
    expect(response.headers.get('allow')).toContain('PROPFIND');
  });

  it('asks for app-password credentials', async () => {
    const response = await fetch(`${url}${home()}`, { method: 'PROPFIND', headers: { depth: '1' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Basic');
  });

  it('makes a photo collection with MKCOL and lists photo collections and the Inbox as folders', async () => {
    await api('POST', '/v1/collections', { id: 'camera', type: 'photos', name: 'Camera' });
    await api('POST', '/v1/collections', { id: 'book', type: 'contacts', name: 'Book' });
    expect((await call(alice, 'MKCOL', `${home()}Trip%20to%20Rome/`)).status).toBe(201);
    expect((await call(alice, 'MKCOL', `${home()}Trip%20to%20Rome/`)).status).toBe(405);
    const collections = (await api('GET', '/v1/collections')).collections as { type: string; name: string }[];
    expect(collections.find((c) => c.name === 'Trip to Rome')?.type).toBe('photos');
    const listing = await call(alice, 'PROPFIND', home(), { headers: { depth: '1' } });
    expect(listing.status).toBe(207);
    const { responses } = parseMultistatus(await listing.text());
    expect(responses.map((r) => r.href)).toEqual([
      home(),
      `${home()}Inbox/`,
      `${home()}Camera/`,
      `${home()}Trip%20to%20Rome/`,
    ]);
    expect(responses[2]?.props.get(200)?.get('resourcetype')?.children[0]?.name).toBe('collection');
  });

  it('makes one folder from concurrent MKCOLs of one name, as parallel transfers send them', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(alice, 'MKCOL', `${home()}Summer%20Pictures/`).then((r) => r.status)),
    );
    expect(answers.filter((status) => status === 201)).toHaveLength(1);
    expect(answers.filter((status) => status === 405)).toHaveLength(5);
    const collections = (await api('GET', '/v1/collections')).collections as { name: string }[];
    expect(collections.filter((c) => c.name === 'Summer Pictures')).toHaveLength(1);
    expect((await call(alice, 'DELETE', `${home()}Summer%20Pictures/`)).status).toBe(204);
    expect((await call(alice, 'MKCOL', `${home()}Summer%20Pictures/`)).status).toBe(201);
    expect((await call(alice, 'PROPFIND', `${home()}Summer%20Pictures/`, { headers: { depth: '0' } })).status).toBe(
      207,
    );
    expect((await call(alice, 'DELETE', `${home()}Summer%20Pictures/`)).status).toBe(204);
  });

  it('stores a PUT image as a photo item with EXIF metadata and gives back the original bytes', async () => {
    const put = await call(alice, 'PUT', `${home()}Camera/IMG_0001.jpg`, {
      body: exif,
      headers: { 'content-type': 'image/jpeg' },
    });
    expect(put.status).toBe(201);
    const sha = createHash('sha256').update(exif).digest('hex');
    expect(put.headers.get('etag')).toBe(`"${sha}"`);
    const get = await call(alice, 'GET', `${home()}Camera/IMG_0001.jpg`);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await get.arrayBuffer()).equals(exif)).toBe(true);
    const items = (await api('GET', '/v1/collections/camera/items')).items as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      content: { filename: 'IMG_0001.jpg' },
      blob: { sha256: sha, contentType: 'image/jpeg' },
      meta: { size: exif.length, takenAt: expect.any(String) },
    });
    const listing = await call(alice, 'PROPFIND', `${home()}Camera/`, { headers: { depth: '1' } });
    const file = parseMultistatus(await listing.text()).responses.find((r) => r.href.endsWith('IMG_0001.jpg'));
    const props = file?.props.get(200);
    expect(props?.get('getcontentlength')?.text).toBe(String(exif.length));
    expect(props?.get('getcontenttype')?.text).toBe('image/jpeg');
    expect(props?.get('getetag')?.text).toBe(`"${sha}"`);
    expect(props?.get('getlastmodified')?.text).toMatch(/GMT$/);
  });

  it('lists a photo made through the API under its file name', async () => {
    const sha = createHash('sha256').update(png).digest('hex');
    await server.app.inject({ method: 'PUT', url: `/v1/blobs/${sha}`, headers: alice.auth, payload: png });
    const pushed = await api('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId: 'camera',
          itemId: 'api-photo',
          op: 'put',
          baseRevision: null,
          content: { filename: 'screenshot.png', caption: 'from the app' },
          blob: { sha256: sha, contentType: 'image/png' },
        },
      ],
    });
    expect(pushed.results[0].status).toBe('applied');
    const get = await call(alice, 'GET', `${home()}Camera/screenshot.png`);
    expect(Buffer.from(await get.arrayBuffer()).equals(png)).toBe(true);
  });

  it('writes a PUT over an existing name as a new revision, keeping the caption', async () => {
    const put = await call(alice, 'PUT', `${home()}Camera/screenshot.png`, { body: exif });
    expect(put.status).toBe(204);
    const item = await api('GET', '/v1/items/api-photo');
    expect(item.content).toEqual({ filename: 'screenshot.png', caption: 'from the app' });
    expect(item.blob.contentType).toBe('image/png');
    const history = (await api('GET', '/v1/items/api-photo/revisions')).revisions as unknown[];
    expect(history).toHaveLength(2);
  });

  it('deletes a file as a tombstone, keeping its history', async () => {
    expect((await call(alice, 'DELETE', `${home()}Camera/screenshot.png`)).status).toBe(204);
    expect((await call(alice, 'GET', `${home()}Camera/screenshot.png`)).status).toBe(404);
    const item = await api('GET', '/v1/items/api-photo?includeDeleted=true');
    expect(item.deleted).toBe(true);
    const history = (await api('GET', '/v1/items/api-photo/revisions')).revisions as { op: string }[];
    expect(history.map((r) => r.op)).toEqual(['put', 'put', 'delete']);
    expect((await call(alice, 'DELETE', `${home()}Camera/screenshot.png`)).status).toBe(404);
  });

  it('refuses files that are not images or videos, and files outside a folder', async () => {
    const text = await call(alice, 'PUT', `${home()}Camera/notes.txt`, {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect((await call(alice, 'PUT', `${home()}Nowhere/a.jpg`, { body: exif })).status).toBe(409);
    expect((await call(alice, 'PUT', `${home()}a.jpg`, { body: exif })).status).toBe(405);
  });

  it('imports a file dropped into the Inbox and writes its report beside it', async () => {
    const cards = `${vcard('inbox-ada', 'Ada Lovelace')}${vcard('inbox-alan', 'Alan Turing')}BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n`;
    const put = await call(alice, 'PUT', `${home()}Inbox/friends.vcf`, {
      body: cards,
      headers: { 'content-type': 'text/vcard' },
    });
    expect(put.status).toBe(201);
    expect(await put.text()).toContain('2 created, 0 updated, 0 skipped, 1 rejected');
    // The account's address book takes them, as `holdfast import` would.
    const items = (await api('GET', '/v1/collections/book/items')).items as { meta: { fn: string } }[];
    expect(items.map((i) => i.meta.fn).sort()).toEqual(['Ada Lovelace', 'Alan Turing']);

    const listing = await call(alice, 'PROPFIND', `${home()}Inbox/`, { headers: { depth: '1' } });
    const hrefs = parseMultistatus(await listing.text()).responses.map((r) => r.href);
    expect(hrefs).toEqual([
      `${home()}Inbox/`,
      `${home()}Inbox/friends.vcf`,
      `${home()}Inbox/friends.vcf.import-report.txt`,
    ]);
    const dropped = await call(alice, 'GET', `${home()}Inbox/friends.vcf`);
    expect(await dropped.text()).toBe(cards);
    const report = await call(alice, 'GET', `${home()}Inbox/friends.vcf.import-report.txt`);
    expect(report.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const text = await report.text();
    expect(text).toContain('(vcard, friends.vcf): 2 created, 0 updated, 0 skipped, 1 rejected');
    expect(text).toMatch(/rejected +card 3/);

    // The same file again writes nothing; the report beside it is the latest import's.
    const again = await call(alice, 'PUT', `${home()}Inbox/friends.vcf`, { body: cards });
    expect(await again.text()).toContain('0 created, 0 updated, 2 skipped, 1 rejected');
    const latest = await call(alice, 'GET', `${home()}Inbox/friends.vcf.import-report.txt`);
    expect(await latest.text()).toContain('0 created, 0 updated, 2 skipped');
    expect((await call(alice, 'DELETE', `${home()}Inbox/friends.vcf.import-report.txt`)).status).toBe(403);
    expect((await call(alice, 'DELETE', `${home()}Inbox/friends.vcf`)).status).toBe(403);
  });

  it('imports a lone Markdown note or photo dropped into the Inbox, as a folder holding just it would', async () => {
    const note = '---\ntitle: Groceries\ntags: [home]\n---\n- milk\n- bread\n';
    const put = await call(alice, 'PUT', `${home()}Inbox/Groceries.md`, { body: note });
    expect(put.status).toBe(201);
    expect(await put.text()).toContain('1 created, 0 updated, 0 skipped, 0 rejected');
    const photo = await call(alice, 'PUT', `${home()}Inbox/Holiday.png`, { body: png });
    expect(photo.status).toBe(201);
    expect(await photo.text()).toContain('1 created, 0 updated, 0 skipped, 0 rejected');
    const collections = (await api('GET', '/v1/collections')).collections as { id: string; type: string }[];
    const itemsOf = async (type: string) => {
      const out: { content: Record<string, unknown> }[] = [];
      for (const c of collections.filter((c) => c.type === type)) {
        out.push(...((await api('GET', `/v1/collections/${c.id}/items`)).items as typeof out));
      }
      return out;
    };
    expect((await itemsOf('notes')).map((i) => i.content.title)).toContain('Groceries');
    expect((await itemsOf('photos')).map((i) => i.content.filename)).toContain('Holiday.png');
    // Dropped again, nothing new.
    const again = await call(alice, 'PUT', `${home()}Inbox/Groceries.md`, { body: note });
    expect(await again.text()).toContain('0 created, 0 updated, 1 skipped');
  });

  it('refuses an Inbox drop it cannot read with 415, keeping nothing', async () => {
    const before = await api('GET', '/v1/me');
    const response = await call(alice, 'PUT', `${home()}Inbox/notes.txt`, { body: 'just text' });
    expect(response.status).toBe(415);
    expect((await api('GET', '/v1/me')).head).toBe(before.head);
    const sha = createHash('sha256').update('just text').digest('hex');
    const blob = await server.app.inject({ method: 'HEAD', url: `/v1/blobs/${sha}`, headers: alice.auth });
    expect(blob.statusCode).toBe(404);
  });

  it.each([
    ['PROPFIND', () => `/dav/files/${alice.username}/Inbox/`],
    ['PUT', () => `/dav/files/${alice.username}/Inbox/planted.vcf`],
    ['PROPFIND', () => `/dav/files/${alice.username}/`],
    ['PROPFIND', () => `/dav/files/${alice.username}/Camera/`],
    ['GET', () => `/dav/files/${alice.username}/Camera/IMG_0001.jpg`],
    ['PUT', () => `/dav/files/${alice.username}/Camera/IMG_0001.jpg`],
    ['PUT', () => `/dav/files/${alice.username}/Camera/planted.jpg`],
    ['DELETE', () => `/dav/files/${alice.username}/Camera/IMG_0001.jpg`],
    ['DELETE', () => `/dav/files/${alice.username}/Camera/`],
    ['MKCOL', () => `/dav/files/${alice.username}/Planted/`],
  ])("another user's %s %s is 404 and changes nothing", async (method, path) => {
    const before = await api('GET', '/v1/me');
    const body = method === 'PUT' ? png : undefined;
    const response = await call(mallory, method, path(), body ? { body } : {});
    expect(response.status).toBe(404);
    expect((await api('GET', '/v1/me')).head).toBe(before.head);
  });

  it('refuses a body over the blob limit with 413 and stores nothing', async () => {
    const big = Buffer.alloc(MAX_BLOB + 1, 7);
    const before = await api('GET', '/v1/me');
    const response = await call(alice, 'PUT', `${home()}Camera/big.jpg`, { body: big });
    expect(response.status).toBe(413);
    expect((await api('GET', '/v1/me')).head).toBe(before.head);
    const streamed = await fetch(`${url}${home()}Camera/big.jpg`, {
      method: 'PUT',
      headers: alice.basic,
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await call(alice, 'GET', `${home()}Camera/big.jpg`)).status).toBe(404);
  });

  it('checks credentials before reading the body', async () => {
    const wrong = { authorization: `Basic ${Buffer.from(`${alice.username}:wrong`).toString('base64')}` };
    let pulled = 0;
    const body = new ReadableStream({
      pull(controller) {
        pulled++;
        if (pulled > 1024) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const response = await fetch(`${url}${home()}Camera/x.jpg`, {
      method: 'PUT',
      headers: wrong,
      body,
      duplex: 'half',
    } as RequestInit).catch(() => null);
    if (response) expect(response.status).toBe(401);
    expect(pulled).toBeLessThan(1024);
  });
});
