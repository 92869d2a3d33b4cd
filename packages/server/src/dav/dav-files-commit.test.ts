import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavUser } from '../test-support/dav.js';

const corpus = fileURLToPath(new URL('../../../../test/fixtures/corpus/images/', import.meta.url));

/** A photo PUT over WebDAV, over real HTTP: what it costs the write queue. */
describe.each(engines)('WebDAV photo upload commits on %s', (engine) => {
  let server: TestServer;
  let url: string;
  let alice: DavUser;
  beforeAll(async () => {
    server = await startTestServer(engine);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
    alice = await addDavUser(server, `alice-commit-${engine}`);
    const made = await fetch(`${url}/dav/files/${alice.username}/Camera/`, { method: 'MKCOL', headers: alice.basic });
    expect(made.status).toBe(201);
  });
  afterAll(async () => server?.close());

  it('records the blob in the commit of the photo revision: one write queued, not two', async () => {
    const photo = await readFile(`${corpus}photo-exif.jpg`);
    const sha256 = createHash('sha256').update(photo).digest('hex');
    const waiting = server.ctx.commits.waiting;
    const push = waiting.push.bind(waiting);
    let queued = 0;
    waiting.push = (...items) => {
      queued += items.length;
      return push(...items);
    };
    try {
      const put = await fetch(`${url}/dav/files/${alice.username}/Camera/IMG_0001.jpg`, {
        method: 'PUT',
        headers: { ...alice.basic, 'content-type': 'image/jpeg' },
        body: photo,
      });
      expect(put.status).toBe(201);
    } finally {
      waiting.push = push;
    }
    expect(queued).toBe(1);
    // Recorded for the uploader: the blob API answers it, and the photo item refers to it with its metadata.
    const download = await server.app.inject({ method: 'GET', url: `/v1/blobs/${sha256}`, headers: alice.auth });
    expect(download.statusCode).toBe(200);
    expect(Buffer.compare(download.rawPayload, photo)).toBe(0);
    const changes = (await server.app.inject({ method: 'GET', url: '/v1/changes', headers: alice.auth })).json() as {
      changes: { content?: { filename?: string }; blob?: { sha256: string }; meta?: { size?: number } }[];
    };
    const item = changes.changes.find((c) => c.content?.filename === 'IMG_0001.jpg');
    expect(item?.blob?.sha256).toBe(sha256);
    expect(item?.meta?.size).toBe(photo.length);
  });
});
