import { createHash, randomBytes } from 'node:crypto';
import { addUser, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../blobs/blob-store.js';

/** Frames in the SQLite write-ahead log: every commit appends the pages it changed. */
async function walFrames(server: TestServer): Promise<number> {
  const { rows } = await sql<{ log: number }>`PRAGMA wal_checkpoint(PASSIVE)`.execute(server.ctx.db.kysely);
  return rows[0]?.log ?? Number.NaN;
}

/**
 * The store's own puts, each held until `count` have stored their bytes, so
 * that many uploads reach their database record at the same moment.
 */
function heldTogether(store: BlobStore, count: number): BlobStore {
  let arrived = 0;
  let release = () => {};
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    ...store,
    async put(sha256, body, options) {
      const stored = await store.put(sha256, body, options);
      if (++arrived === count) release();
      await all;
      return stored;
    },
  };
}

describe('blob upload records on sqlite', () => {
  let server: TestServer;
  let user: TestUser;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    user = await addUser(server);
  });
  afterAll(async () => server?.close());

  const upload = (bytes: Buffer) =>
    server.app.inject({
      method: 'PUT',
      url: `/v1/blobs/${createHash('sha256').update(bytes).digest('hex')}`,
      headers: { ...user.auth, 'content-type': 'application/octet-stream' },
      payload: bytes,
    });

  it('commits the records of uploads that finish together once, not once each', async () => {
    // What one upload's record costs alone: the pages a commit of it writes.
    await upload(randomBytes(100));
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(server.ctx.db.kysely);
    expect(await upload(randomBytes(100))).toMatchObject({ statusCode: 201 });
    const alone = await walFrames(server);
    expect(alone).toBeGreaterThan(0);

    const count = 10;
    const store = server.ctx.blobs;
    server.ctx.blobs = heldTogether(store, count);
    try {
      await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(server.ctx.db.kysely);
      const bodies = Array.from({ length: count }, () => randomBytes(100));
      const responses = await Promise.all(bodies.map(upload));
      expect(responses.map((r) => r.statusCode)).toEqual(bodies.map(() => 201));
      // One commit of ten records rewrites about the pages one record does; ten commits write ten times as many.
      expect(await walFrames(server)).toBeLessThan(alone * 3);
      for (const bytes of bodies) {
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        const head = await server.app.inject({ method: 'HEAD', url: `/v1/blobs/${sha256}`, headers: user.auth });
        expect(head.statusCode).toBe(200);
      }
    } finally {
      server.ctx.blobs = store;
    }
  });
});
