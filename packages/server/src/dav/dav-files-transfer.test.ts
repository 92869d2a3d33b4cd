import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { engines, startTestServer, type TestServer, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavUser, parseMultistatus } from '../test-support/dav.js';

const corpus = fileURLToPath(new URL('../../../../test/fixtures/corpus/images/', import.meta.url));

interface Item {
  id: string;
  content: { filename?: string; caption?: string };
  blob: { sha256: string; contentType: string };
  deleted?: boolean;
}

/**
 * COPY and MOVE under /dav/files over real HTTP: renames keep the photo item
 * and its history, moves between folders leave a tombstone beside a new item
 * with the same blob, folders rename and copy as collections, and every
 * Destination outside the caller's own root is refused.
 */
describe.each(engines)('WebDAV files COPY and MOVE on %s', (engine) => {
  let server: TestServer;
  let url: string;
  let alice: DavUser;
  let mallory: DavUser;
  let exif: Buffer;
  let png: Buffer;

  const call = (user: DavUser, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) =>
    fetch(`${url}${path}`, { method, headers: { ...user.basic, ...headers }, ...(body ? { body } : {}) });
  const api = async (method: string, path: string, body?: unknown) =>
    (
      await server.app.inject({
        method: method as 'GET',
        url: path,
        headers: alice.auth,
        ...(body === undefined ? {} : { payload: body as object }),
      })
    ).json();
  const home = () => `/dav/files/${alice.username}/`;
  const transfer = (method: 'COPY' | 'MOVE', from: string, to: string, headers: Record<string, string> = {}) =>
    call(alice, method, `${home()}${from}`, { destination: `${url}${home()}${to}`, ...headers });
  const head = async () => (await api('GET', '/v1/me')).head as number;

  async function folder(name: string): Promise<string> {
    expect((await call(alice, 'MKCOL', `${home()}${encodeURIComponent(name)}/`)).status).toBe(201);
    const collections = (await api('GET', '/v1/collections')).collections as { id: string; name: string }[];
    return collections.find((c) => c.name === name)?.id as string;
  }
  async function put(path: string, bytes: Buffer) {
    expect([201, 204]).toContain((await call(alice, 'PUT', `${home()}${path}`, {}, bytes)).status);
  }
  const items = async (collectionId: string) =>
    (await api('GET', `/v1/collections/${collectionId}/items`)).items as Item[];
  const history = async (itemId: string) =>
    (await api('GET', `/v1/items/${itemId}/revisions`)).revisions as { op: string; content: Item['content'] | null }[];
  async function names(path: string): Promise<string[]> {
    const listing = await call(alice, 'PROPFIND', `${home()}${path}`, { depth: '1' });
    expect(listing.status).toBe(207);
    return parseMultistatus(await listing.text())
      .responses.map((r) => decodeURIComponent(r.href.slice(`${home()}${path}`.length)))
      .filter((name) => name !== '');
  }
  async function bytesOf(path: string): Promise<Buffer> {
    const response = await call(alice, 'GET', `${home()}${path}`);
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  }

  beforeAll(async () => {
    server = await startTestServer(engine);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    alice = await addDavUser(server, `alice-move-${engine}`);
    mallory = await addDavUser(server, `mallory-move-${engine}`);
    exif = await readFile(`${corpus}photo-exif.jpg`);
    png = await readFile(`${corpus}photo.png`);
  });
  afterAll(async () => server?.close());

  it('advertises COPY and MOVE in Allow', async () => {
    const response = await fetch(`${url}${home()}`, { method: 'OPTIONS' });
    expect(response.headers.get('allow')).toContain('COPY, MOVE');
  });

  it('renames a file in its folder as a new revision of the same item, keeping its caption and history', async () => {
    const id = await folder('Rename');
    await put('Rename/IMG_1.jpg', exif);
    const [first] = (await items(id)) as (Item & { revision: number })[];
    const captioned = await api('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId: id,
          itemId: first?.id,
          op: 'put',
          baseRevision: first?.revision,
          content: { ...first?.content, caption: 'sunset' },
          blob: first?.blob,
        },
      ],
    });
    expect(captioned.results[0].status).toBe('applied');
    const photo = first;
    const moved = await transfer('MOVE', 'Rename/IMG_1.jpg', 'Rename/Beach%20day.jpg');
    expect(moved.status).toBe(201);
    expect(await names('Rename/')).toEqual(['Beach day.jpg']);
    expect((await bytesOf('Rename/Beach%20day.jpg')).equals(exif)).toBe(true);
    expect((await call(alice, 'GET', `${home()}Rename/IMG_1.jpg`)).status).toBe(404);
    const after = await items(id);
    expect(after.map((i) => [i.id, i.content])).toEqual([
      [photo?.id, { filename: 'Beach day.jpg', caption: 'sunset' }],
    ]);
    expect((await history(photo?.id as string)).map((r) => [r.op, r.content?.filename])).toEqual([
      ['put', 'IMG_1.jpg'],
      ['put', 'IMG_1.jpg'],
      ['put', 'Beach day.jpg'],
    ]);
  });

  it('moves a file to another folder as a new item with the same blob and a tombstone, history kept', async () => {
    const from = await folder('Move from');
    const to = await folder('Move to');
    await put('Move%20from/a.png', png);
    const [source] = await items(from);
    const moved = await transfer('MOVE', 'Move%20from/a.png', 'Move%20to/b.png', { overwrite: 'F' });
    expect(moved.status).toBe(201);
    expect(await names('Move%20from/')).toEqual([]);
    expect(await names('Move%20to/')).toEqual(['b.png']);
    expect((await bytesOf('Move%20to/b.png')).equals(png)).toBe(true);
    const [copy] = await items(to);
    expect(copy?.blob).toEqual(source?.blob);
    expect((await history(source?.id as string)).map((r) => r.op)).toEqual(['put', 'delete']);
  });

  it('replaces an existing file on MOVE with Overwrite T (204) and refuses it with Overwrite F (412)', async () => {
    const id = await folder('Overwrite');
    await put('Overwrite/old.jpg', exif);
    await put('Overwrite/new.png', png);
    const before = await head();
    const refused = await transfer('MOVE', 'Overwrite/new.png', 'Overwrite/old.jpg', { overwrite: 'F' });
    expect(refused.status).toBe(412);
    expect(await head()).toBe(before);
    const list = await items(id);
    const old = list.find((i) => i.content.filename === 'old.jpg');
    const fresh = list.find((i) => i.content.filename === 'new.png');
    const moved = await transfer('MOVE', 'Overwrite/new.png', 'Overwrite/old.jpg');
    expect(moved.status).toBe(204);
    expect(await names('Overwrite/')).toEqual(['old.jpg']);
    expect((await bytesOf('Overwrite/old.jpg')).equals(png)).toBe(true);
    // The replaced file is a new revision of its item; the moved one ends in a tombstone.
    expect((await history(old?.id as string)).map((r) => r.op)).toEqual(['put', 'put']);
    expect((await history(fresh?.id as string)).map((r) => r.op)).toEqual(['put', 'delete']);
  });

  it('copies a file as a new item sharing the blob, and over an existing one only with Overwrite T', async () => {
    const id = await folder('Copies');
    await put('Copies/one.jpg', exif);
    await put('Copies/two.png', png);
    const copied = await transfer('COPY', 'Copies/one.jpg', 'Copies/one%20copy.jpg');
    expect(copied.status).toBe(201);
    expect((await bytesOf('Copies/one.jpg')).equals(exif)).toBe(true);
    expect((await bytesOf('Copies/one%20copy.jpg')).equals(exif)).toBe(true);
    const list = await items(id);
    expect(list).toHaveLength(3);
    const sha = createHash('sha256').update(exif).digest('hex');
    expect(list.filter((i) => i.blob.sha256 === sha)).toHaveLength(2);
    const before = await head();
    expect((await transfer('COPY', 'Copies/one.jpg', 'Copies/two.png', { overwrite: 'F' })).status).toBe(412);
    expect(await head()).toBe(before);
    expect((await transfer('COPY', 'Copies/one.jpg', 'Copies/two.png', { overwrite: 'T' })).status).toBe(204);
    expect((await bytesOf('Copies/two.png')).equals(exif)).toBe(true);
    expect(await names('Copies/')).toEqual(['one.jpg', 'two.png', 'one copy.jpg']);
  });

  it('renames a folder, keeping its collection, and never replaces or shadows another folder', async () => {
    const id = await folder('Old name');
    await folder('Taken place');
    await put('Old%20name/x.jpg', exif);
    expect((await transfer('MOVE', 'Old%20name/', 'Taken%20place/', { overwrite: 'F' })).status).toBe(412);
    expect((await transfer('MOVE', 'Old%20name/', 'Taken%20place/')).status).toBe(403);
    expect((await transfer('MOVE', 'Old%20name/', 'taken%20place/')).status).toBe(403);
    expect((await transfer('MOVE', 'Old%20name/', 'inbox/')).status).toBe(403);
    expect((await transfer('MOVE', 'Old%20name/', 'New%20name/', { depth: '0' })).status).toBe(400);
    expect((await transfer('MOVE', 'Old%20name/', 'Old%20name/')).status).toBe(403);
    expect((await transfer('MOVE', 'Old%20name/', 'New%20name/')).status).toBe(201);
    const root = await names('');
    expect(root).toContain('New name/');
    expect(root).not.toContain('Old name/');
    const collection = await api('GET', `/v1/collections/${id}`);
    expect(collection.name).toBe('New name');
    expect((await bytesOf('New%20name/x.jpg')).equals(exif)).toBe(true);
  });

  it('copies a folder with its photos at Depth infinity and empty at Depth 0', async () => {
    await folder('Album');
    await put('Album/a.jpg', exif);
    await put('Album/b.png', png);
    expect((await transfer('COPY', 'Album/', 'Album%202/')).status).toBe(201);
    // Copied in one commit: same creation time, so listed in id order.
    expect((await names('Album%202/')).sort()).toEqual(['a.jpg', 'b.png']);
    expect((await bytesOf('Album%202/b.png')).equals(png)).toBe(true);
    expect(await names('Album/')).toEqual(['a.jpg', 'b.png']);
    expect((await transfer('COPY', 'Album/', 'Album%203/', { depth: '0' })).status).toBe(201);
    expect(await names('Album%203/')).toEqual([]);
    expect((await transfer('COPY', 'Album/', 'Album%204/', { depth: '1' })).status).toBe(400);
    expect((await transfer('COPY', 'Album/', 'Album%202/', { overwrite: 'F' })).status).toBe(412);
    expect((await transfer('COPY', 'Album/', 'album%202/')).status).toBe(403);
    expect((await transfer('COPY', 'Album/', 'Album/a.jpg')).status).toBe(403);
  });

  it('imports a file moved into the Inbox as a drop, and keeps a photo the importer cannot read', async () => {
    const id = await folder('To import');
    const cards = `${vcard('moved-ada', 'Ada Lovelace')}`;
    await put('To%20import/cards.jpg', Buffer.from(cards));
    await put('To%20import/photo.jpg', exif);
    const moved = await transfer('MOVE', 'To%20import/cards.jpg', 'Inbox/cards.vcf');
    expect(moved.status).toBe(201);
    expect(await moved.text()).toContain('1 created');
    expect(await names('Inbox/')).toEqual(expect.arrayContaining(['cards.vcf', 'cards.vcf.import-report.txt']));
    expect((await items(id)).map((i) => i.content.filename)).toEqual(['photo.jpg']);
    const before = await head();
    // Named as nothing Holdfast imports (a photo by its own name would be imported as a photo).
    expect((await transfer('MOVE', 'To%20import/photo.jpg', 'Inbox/photo.dat')).status).toBe(415);
    expect(await head()).toBe(before);
    expect((await items(id)).map((i) => i.content.filename)).toEqual(['photo.jpg']);
    expect((await transfer('COPY', 'To%20import/photo.jpg', 'Inbox/cards.vcf', { overwrite: 'F' })).status).toBe(412);
  });

  it('answers 404 for a missing source and 403 for the root, the Inbox and files outside a folder', async () => {
    await folder('Edges');
    await put('Edges/e.jpg', exif);
    expect((await transfer('MOVE', 'Edges/missing.jpg', 'Edges/f.jpg')).status).toBe(404);
    expect((await transfer('MOVE', 'Nowhere/', 'Somewhere/')).status).toBe(404);
    expect((await transfer('COPY', '', 'Copy/')).status).toBe(403);
    expect((await transfer('MOVE', 'Inbox/', 'Outbox/')).status).toBe(403);
    expect((await transfer('MOVE', 'Edges/e.jpg', 'loose.jpg')).status).toBe(403);
    expect((await transfer('MOVE', 'Edges/e.jpg', 'Edges/')).status).toBe(403);
    expect((await transfer('MOVE', 'Edges/e.jpg', 'Edges/e.jpg')).status).toBe(403);
    expect((await transfer('MOVE', 'Edges/e.jpg', 'No%20folder/e.jpg')).status).toBe(409);
    expect((await transfer('MOVE', 'Edges/e.jpg', 'Edges/f.jpg', { overwrite: 'maybe' })).status).toBe(400);
    expect(await names('Edges/')).toEqual(['e.jpg']);
    // Looking a destination up before copying to it (as rclone does) finds nothing rather than a conflict.
    for (const method of ['PROPFIND', 'GET', 'HEAD', 'DELETE']) {
      expect((await call(alice, method, `${home()}No%20folder/e.jpg`)).status).toBe(404);
    }
  });

  it.each([
    ['no Destination', () => ({}), 400],
    ['another host', () => ({ destination: `http://elsewhere.example${home()}Dest/e.jpg` }), 502],
    ['another namespace', () => ({ destination: `/dav/calendars/${alice.username}/x/e.ics` }), 502],
    ['a path outside /dav', () => ({ destination: '/v1/items/e' }), 502],
    ["another user's root", () => ({ destination: `${url}/dav/files/${mallory.username}/Dest/e.jpg` }), 403],
    ['a dot-dot path', () => ({ destination: `${home()}Dest/../../${mallory.username}/Dest/e.jpg` }), 403],
    ['an encoded slash', () => ({ destination: `${home()}Dest%2Fe.jpg` }), 403],
    ['an encoded dot-dot', () => ({ destination: `${home()}%2e%2e/${mallory.username}/Dest/e.jpg` }), 403],
  ])('refuses a Destination with %s and changes nothing', async (_what, headers, status) => {
    await call(alice, 'MKCOL', `${home()}Dest/`);
    await put('Dest/e.jpg', exif);
    await call(mallory, 'MKCOL', `/dav/files/${mallory.username}/Dest/`);
    const before = await head();
    const response = await call(alice, 'MOVE', `${home()}Dest/e.jpg`, headers());
    expect(response.status).toBe(status);
    expect(await head()).toBe(before);
    expect(await names('Dest/')).toEqual(['e.jpg']);
  });

  it('refuses a COPY past the item quota with 507, writing nothing', async () => {
    const limited = await startTestServer(engine, { 'quota-items-per-user': '3' });
    try {
      const base = await limited.app.listen({ host: '127.0.0.1', port: 0 });
      const bob = await addDavUser(limited, `bob-quota-${engine}`);
      const bobHome = `${base}/dav/files/${bob.username}/`;
      const send = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer) =>
        fetch(`${bobHome}${path}`, { method, headers: { ...bob.basic, ...headers }, ...(body ? { body } : {}) });
      expect((await send('MKCOL', 'Full/')).status).toBe(201);
      // Photos pushed through the API, so the usage counted is exactly two items.
      const collections = (
        await limited.app.inject({ method: 'GET', url: '/v1/collections', headers: bob.auth })
      ).json().collections as { id: string; name: string }[];
      const full = collections.find((c) => c.name === 'Full')?.id;
      for (const [filename, bytes, contentType] of [
        ['a.jpg', exif, 'image/jpeg'],
        ['b.png', png, 'image/png'],
      ] as const) {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        await limited.app.inject({ method: 'PUT', url: `/v1/blobs/${sha256}`, headers: bob.auth, payload: bytes });
        const pushed = await limited.app.inject({
          method: 'POST',
          url: '/v1/push',
          headers: bob.auth,
          payload: {
            changes: [
              {
                clientChangeId: randomUUID(),
                collectionId: full,
                itemId: randomUUID(),
                op: 'put',
                baseRevision: null,
                content: { filename },
                blob: { sha256, contentType },
              },
            ],
          },
        });
        expect(pushed.json().results[0].status).toBe('applied');
      }
      const me = async () =>
        (await limited.app.inject({ method: 'GET', url: '/v1/me', headers: bob.auth })).json().head as number;
      const before = await me();
      const refused = await send('COPY', 'Full/', { destination: `${bobHome}Full%202/` });
      expect(refused.status).toBe(507);
      expect(await refused.text()).toContain('quota-not-exceeded');
      expect((await send('COPY', 'Full/a.jpg', { destination: `${bobHome}Full/c.jpg` })).status).toBe(201);
      expect((await send('COPY', 'Full/a.jpg', { destination: `${bobHome}Full/d.jpg` })).status).toBe(507);
      expect(await me()).toBe(before + 1);
      // A rename adds no item, so it is never refused for quota.
      expect((await send('MOVE', 'Full/c.jpg', { destination: `${bobHome}Full/e.jpg` })).status).toBe(201);
    } finally {
      await limited.close();
    }
  });

  it("answers 404 to another user's COPY or MOVE of alice's file and changes nothing", async () => {
    await call(alice, 'MKCOL', `${home()}Private/`);
    await put('Private/p.jpg', exif);
    const before = await head();
    for (const method of ['COPY', 'MOVE']) {
      const response = await call(mallory, method, `${home()}Private/p.jpg`, {
        destination: `/dav/files/${mallory.username}/p.jpg`,
      });
      expect(response.status).toBe(404);
    }
    expect(await head()).toBe(before);
  });
});
