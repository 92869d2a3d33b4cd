import { createHash, randomUUID } from 'node:crypto';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
} from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every endpoint, called by Mallory with Alice's ids, answers 404 and changes
 * nothing: ids are scoped to their owner in the store layer, so another
 * user's id is indistinguishable from one that never existed.
 */
describe.each(engines)('user isolation on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let mallory: TestUser;
  let collectionId: string;
  let itemRevision: number;
  const blob = Buffer.from('alice private attachment');
  const blobSha = createHash('sha256').update(blob).digest('hex');

  beforeAll(async () => {
    server = await startTestServer(engine);
    alice = await addUser(server, `alice-iso-${engine}`);
    mallory = await addUser(server, `mallory-iso-${engine}`);
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { type: 'contacts', name: 'Private' },
    });
    collectionId = created.json().id;
    const pushed = await server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: alice.auth,
      payload: {
        changes: [
          {
            clientChangeId: 'a-1',
            collectionId,
            itemId: 'secret',
            op: 'put',
            baseRevision: null,
            content: vcard('s', 'Secret'),
          },
        ],
      },
    });
    itemRevision = pushed.json().results[0].revision;
    await server.app.inject({ method: 'PUT', url: `/v1/blobs/${blobSha}`, headers: alice.auth, payload: blob });
  });
  afterAll(async () => server?.close());

  const call = (method: string, url: string, payload?: unknown) =>
    server.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...mallory.auth,
        ...(payload instanceof Buffer ? { 'content-type': 'application/octet-stream' } : {}),
      },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });

  it.each([
    ['GET', () => `/v1/collections/${collectionId}`],
    ['PATCH', () => `/v1/collections/${collectionId}`, { name: 'pwned' }],
    ['DELETE', () => `/v1/collections/${collectionId}`],
    ['GET', () => `/v1/collections/${collectionId}/items`],
    ['GET', () => '/v1/items/secret'],
    ['GET', () => '/v1/items/secret?includeDeleted=true'],
    ['GET', () => '/v1/items/secret/revisions'],
    ['GET', () => `/v1/items/secret/revisions/${itemRevision}`],
    ['GET', () => `/v1/blobs/${blobSha}`],
    ['HEAD', () => `/v1/blobs/${blobSha}`],
    ['DELETE', () => `/v1/devices/${alice.deviceId}`],
  ] as [string, () => string, unknown?][])('%s %s with a foreign id is 404', async (method, url, payload) => {
    const response = await call(method, url(), payload);
    expect(response.statusCode).toBe(404);
    if (method !== 'HEAD') expect(response.json().code).toBe('not_found');
  });

  it("cannot push into, over or delete another user's items", async () => {
    const changes = [
      {
        clientChangeId: randomUUID(),
        collectionId,
        itemId: 'secret',
        op: 'put',
        baseRevision: itemRevision,
        content: vcard('s', 'Pwned'),
      },
      { clientChangeId: randomUUID(), collectionId, itemId: 'secret', op: 'delete', baseRevision: itemRevision },
    ];
    const response = await call('POST', '/v1/push', { changes });
    expect(response.statusCode).toBe(200);
    for (const result of response.json().results)
      expect(result).toMatchObject({ status: 'rejected', code: 'not_found' });
  });

  it("cannot reference another user's blob in a photo", async () => {
    const own = (await call('POST', '/v1/collections', { type: 'photos', name: 'mine' })).json().id;
    const response = await call('POST', '/v1/push', {
      changes: [
        {
          clientChangeId: randomUUID(),
          collectionId: own,
          itemId: 'stolen',
          op: 'put',
          baseRevision: null,
          content: {},
          blob: { sha256: blobSha, contentType: 'application/octet-stream' },
        },
      ],
    });
    expect(response.json().results[0]).toMatchObject({ status: 'rejected', code: 'not_found' });
  });

  it("gets only its own blobs from a batch download that names another user's", async () => {
    const own = Buffer.from('mallory own bytes');
    const ownSha = createHash('sha256').update(own).digest('hex');
    await call('PUT', `/v1/blobs/${ownSha}`, own);
    const absent = 'f'.repeat(64);
    const batch = (user: TestUser, shas: string[]) =>
      server.app.inject({ method: 'GET', url: `/v1/blobs?sha256=${shas.join(',')}`, headers: user.auth });
    const split = (body: Buffer) => {
      const newline = body.indexOf(10);
      return { manifest: JSON.parse(body.subarray(0, newline).toString()), bytes: body.subarray(newline + 1) };
    };

    const stolen = await batch(mallory, [blobSha, ownSha, absent]);
    expect(stolen.statusCode).toBe(200);
    expect(stolen.headers['content-type']).toBe('application/vnd.holdfast.blobs');
    const got = split(stolen.rawPayload);
    expect(got.manifest).toEqual({ blobs: [{ sha256: ownSha, size: own.length }] });
    expect(got.bytes.equals(own)).toBe(true);

    const owner = split((await batch(alice, [absent, blobSha, blobSha])).rawPayload);
    expect(owner.manifest).toEqual({ blobs: [{ sha256: blobSha, size: blob.length }] });
    expect(owner.bytes.equals(blob)).toBe(true);

    for (const query of ['', 'sha256=', 'sha256=xyz', `sha256=${Array(101).fill(ownSha).join(',')}`]) {
      const bad = await server.app.inject({ method: 'GET', url: `/v1/blobs?${query}`, headers: mallory.auth });
      expect(bad.statusCode, query.slice(0, 20)).toBe(400);
      expect(bad.headers['content-type']).toContain('application/problem+json');
      expect(bad.json().code).toBe('invalid_request');
    }
  });

  it("sees none of the other user's data in lists or the change feed", async () => {
    const collections = (await call('GET', '/v1/collections?includeDeleted=true')).json().collections;
    expect(collections.find((c: { id: string }) => c.id === collectionId)).toBeUndefined();
    const feed = (await call('GET', '/v1/changes?limit=1000')).json().changes;
    expect(feed.every((c: { collectionId: string }) => c.collectionId !== collectionId)).toBe(true);
    const devices = (await call('GET', '/v1/devices')).json().devices;
    expect(devices.map((d: { id: string }) => d.id)).toEqual([mallory.deviceId]);
  });

  it("left Alice's data untouched", async () => {
    const item = await server.app.inject({ method: 'GET', url: '/v1/items/secret', headers: alice.auth });
    expect(item.json()).toMatchObject({ revision: itemRevision, deleted: false });
    expect(item.json().content).toContain('FN:Secret');
    const col = await server.app.inject({ method: 'GET', url: `/v1/collections/${collectionId}`, headers: alice.auth });
    expect(col.json().name).toBe('Private');
  });

  it('refuses requests without a valid token, and revoked tokens', async () => {
    for (const headers of [{}, { authorization: 'Bearer nonsense-token-value' }, { authorization: 'Basic YTpi' }]) {
      const response = await server.app.inject({ method: 'GET', url: '/v1/collections', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe('unauthorized');
    }
    const device = await addUser(server, `revoked-${engine}`);
    expect((await server.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: device.auth })).statusCode).toBe(
      204,
    );
    const after = await server.app.inject({ method: 'GET', url: '/v1/me', headers: device.auth });
    expect(after.statusCode).toBe(401);
  });

  it('rate-limits failed logins per username', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { username: alice.username, password: `wrong-${i}` },
      });
      statuses.push(response.statusCode);
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(10).every((s) => s === 429)).toBe(true);
    // Even the right password waits out the lockout: a throttled guess learns nothing.
    const right = await server.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: alice.username, password: alice.password },
    });
    expect(right.statusCode).toBe(429);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
  });
});
