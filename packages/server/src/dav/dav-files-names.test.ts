import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../context.js';
import { addDavUser, type DavUser, parseMultistatus } from '../test-support/dav.js';
import { findFile, listFiles, type PhotoFolder } from './files-store.js';

const corpus = fileURLToPath(new URL('../../../../test/fixtures/corpus/images/', import.meta.url));

/**
 * A file is found by its name without listing its folder, under exactly the
 * names a listing gives: a shared filename stays with the oldest photo, the
 * others answer to `<id><extension>`, whatever order and overlaps the names have.
 */
describe.each(engines)('WebDAV file names on %s', (engine) => {
  let server: TestServer;
  let url: string;
  let alice: DavUser;
  let jpeg: Buffer;
  let blobCount = 0;
  const folder: PhotoFolder = { id: 'names', name: 'Names' };
  const home = () => `/dav/files/${alice.username}/Names/`;

  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method, headers: { ...alice.basic, ...headers } });
  const api = async (method: string, path: string, body?: unknown) =>
    (
      await server.app.inject({
        method: method as 'GET',
        url: path,
        headers: alice.auth,
        ...(body === undefined ? {} : { payload: body as object }),
      })
    ).json();

  /** Distinct bytes per photo, so each file's ETag tells which photo answered. */
  async function blob(): Promise<string> {
    const bytes = Buffer.concat([jpeg, Buffer.from(`trailer ${blobCount++}`)]);
    const sha = createHash('sha256').update(bytes).digest('hex');
    await server.app.inject({ method: 'PUT', url: `/v1/blobs/${sha}`, headers: alice.auth, payload: bytes });
    return sha;
  }

  /** Photos pushed in order (one push each, so each is newer than the last). */
  async function photos(collectionId: string, list: { id: string; filename?: string }[]): Promise<Map<string, string>> {
    const shas = new Map<string, string>();
    for (const { id, filename } of list) {
      const sha = await blob();
      shas.set(id, sha);
      const pushed = await api('POST', '/v1/push', {
        changes: [
          {
            clientChangeId: randomUUID(),
            collectionId,
            itemId: id,
            op: 'put',
            baseRevision: null,
            content: filename === undefined ? {} : { filename },
            blob: { sha256: sha, contentType: 'image/jpeg' },
          },
        ],
      });
      expect(pushed.results[0].status).toBe('applied');
      // Distinct creation times, so the order is the push order on every engine.
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    return shas;
  }

  const etagOf = async (name: string) => {
    const response = await call('PROPFIND', `${home()}${encodeURIComponent(name)}`, { depth: '0' });
    if (response.status !== 207) return response.status;
    return parseMultistatus(await response.text())
      .responses[0]?.props.get(200)
      ?.get('getetag')?.text;
  };

  let shas: Map<string, string>;

  beforeAll(async () => {
    server = await startTestServer(engine);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    alice = await addDavUser(server, `alice-names-${engine}`);
    jpeg = await readFile(`${corpus}photo-exif.jpg`);
    await api('POST', '/v1/collections', { id: folder.id, type: 'photos', name: folder.name });
    shas = await photos(folder.id, [
      { id: 'gone', filename: 'shared.jpg' },
      { id: 'older', filename: 'shared.jpg' },
      { id: 'newer', filename: 'shared.jpg' },
      { id: 'case', filename: 'SHARED.jpg' },
      // Its own filename is taken, so it is newer.jpg's neighbour `chain.jpg`...
      { id: 'chain', filename: 'newer.jpg' },
      // ...and this one's filename `chain.jpg` is taken by that id name.
      { id: 'link', filename: 'chain.jpg' },
      { id: 'bare' },
      { id: 'slash', filename: 'a/b.jpg' },
      { id: 'special', filename: '100% "off"_!é.jpg' },
      // An older photo's filename equal to a newer photo's id name: both answer to it, the older first.
      { id: 'early', filename: 'late.jpg' },
      { id: 'late' },
      // Each filename is the id name the one before had to take: deeper than a lookup follows, so it lists.
      ...Array.from({ length: 8 }, (_, i) => ({ id: `deep${i}`, filename: i < 2 ? 'deep.jpg' : `deep${i - 1}.jpg` })),
    ]);
    expect((await call('DELETE', `${home()}shared.jpg`)).status).toBe(204);
  });
  afterAll(async () => server?.close());

  it('keeps a shared filename with the oldest live photo and names the newer by id', async () => {
    expect(await etagOf('shared.jpg')).toBe(`"${shas.get('older')}"`);
    expect(await etagOf('newer.jpg')).toBe(`"${shas.get('newer')}"`);
    expect(await etagOf('gone.jpg')).toBe(404);
    expect(await etagOf('SHARED.jpg')).toBe(`"${shas.get('case')}"`);
    expect(await etagOf('chain.jpg')).toBe(`"${shas.get('chain')}"`);
    expect(await etagOf('link.jpg')).toBe(`"${shas.get('link')}"`);
    expect(await etagOf('bare.jpg')).toBe(`"${shas.get('bare')}"`);
    expect(await etagOf('slash.jpg')).toBe(`"${shas.get('slash')}"`);
    expect(await etagOf('100% "off"_!é.jpg')).toBe(`"${shas.get('special')}"`);
    expect(await etagOf('late.jpg')).toBe(`"${shas.get('early')}"`);
    expect(await etagOf('deep7.jpg')).toBe(`"${shas.get('deep7')}"`);
    expect(await etagOf('deep.jpg')).toBe(`"${shas.get('deep0')}"`);
    const get = await call('GET', `${home()}newer.jpg`);
    expect(get.headers.get('etag')).toBe(`"${shas.get('newer')}"`);
  });

  it('finds every listed name as the listing names it, and nothing else', async () => {
    const listed = await listFiles(server.ctx, alice.userId, folder);
    const first = new Map<string, string>();
    for (const file of listed) if (!first.has(file.name)) first.set(file.name, file.id);
    expect([...first.keys()]).toContain('shared.jpg');
    for (const [name, id] of first) {
      expect((await findFile(server.ctx, alice.userId, folder, name))?.id, name).toBe(id);
    }
    for (const name of ['gone.jpg', 'gone', 'older.jpg', 'shared.JPG', 'a/b.jpg', 'missing.jpg', 'bare', 'bare.png']) {
      expect(await findFile(server.ctx, alice.userId, folder, name), name).toBeNull();
    }
  });

  it('reads the same few rows to find a file in a folder of many photos', async () => {
    const many: PhotoFolder = { id: 'many', name: 'Many' };
    await api('POST', '/v1/collections', { id: many.id, type: 'photos', name: many.name });
    const sha = await blob();
    const changes = Array.from({ length: 300 }, (_, i) => ({
      clientChangeId: randomUUID(),
      collectionId: many.id,
      itemId: `many-${i}`,
      op: 'put',
      baseRevision: null,
      content: { filename: i % 2 ? `IMG_${i}.jpg` : 'image.jpg' },
      blob: { sha256: sha, contentType: 'image/jpeg' },
    }));
    expect((await api('POST', '/v1/push', { changes })).results).toHaveLength(300);
    let rows = 0;
    const counter: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        rows += args.result.rows.length;
        return args.result;
      },
    };
    const counted: Context = {
      ...server.ctx,
      db: { ...server.ctx.db, kysely: server.ctx.db.kysely.withPlugin(counter) },
    };
    const listed = await listFiles(server.ctx, alice.userId, many);
    for (const name of ['IMG_299.jpg', 'image.jpg', listed[299]?.name ?? '', listed[298]?.name ?? '', 'none.jpg']) {
      rows = 0;
      const found = await findFile(counted, alice.userId, many, name);
      expect(found?.id).toBe(listed.find((f) => f.name === name)?.id);
      expect(rows, name).toBeLessThanOrEqual(4);
    }
  });
});
