import { randomUUID } from 'node:crypto';
import {
  addUser,
  engines,
  startTestServer,
  type TestServer,
  type TestUser,
  vcard,
} from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Bad input gets a clear 4xx problem+json and leaves the log exactly as it was. */
describe.each(engines)('bad input on %s', (engine) => {
  let server: TestServer;
  let alice: TestUser;
  let contacts: string;

  beforeAll(async () => {
    server = await startTestServer(engine, { 'max-body-bytes': String(256 * 1024), 'max-blob-bytes': '1024' });
    alice = await addUser(server, `alice-bad-${engine}`);
    contacts = (
      await server.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: alice.auth,
        payload: { type: 'contacts', name: 'c' },
      })
    ).json().id;
  });
  afterAll(async () => server?.close());

  const head = async () =>
    (await server.app.inject({ method: 'GET', url: '/v1/me', headers: alice.auth })).json().head as number;

  const expectProblem = (
    response: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
    status: number,
    code: string,
  ) => {
    expect(response.statusCode).toBe(status);
    expect(String(response.headers['content-type'])).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status, code });
  };

  it.each([
    ['malformed JSON', '{"changes": [', 'application/json', 400, 'invalid_request'],
    ['wrong content type', 'changes=1', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    ['unknown field', JSON.stringify({ changes: [], extra: 1 }), 'application/json', 400, 'invalid_request'],
    ['empty batch', JSON.stringify({ changes: [] }), 'application/json', 400, 'invalid_request'],
    [
      'wrong types',
      JSON.stringify({ changes: [{ clientChangeId: 5, op: 'put' }] }),
      'application/json',
      400,
      'invalid_request',
    ],
    [
      'oversize body',
      JSON.stringify({ changes: [{ pad: 'x'.repeat(300 * 1024) }] }),
      'application/json',
      413,
      'payload_too_large',
    ],
  ])('%s is refused whole', async (_name, payload, contentType, status, code) => {
    const before = await head();
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: { ...alice.auth, 'content-type': contentType },
      payload,
    });
    expectProblem(response, status, code);
    expect(await head()).toBe(before);
  });

  it('rejects invalid content per change and still applies the good ones in the batch', async () => {
    const before = await head();
    const change = (itemId: string, content: unknown) => ({
      clientChangeId: randomUUID(),
      collectionId: contacts,
      itemId,
      op: 'put',
      baseRevision: null,
      content,
    });
    const response = await server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: alice.auth,
      payload: {
        changes: [
          change('bad1', 'BEGIN:VCARD\r\nthis is not a vcard'),
          change('good', vcard('good', 'Good Person')),
          change('bad2', { title: 'a note in a contacts collection' }),
          change('bad3', 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n'),
          { ...change('bad4', vcard('x', 'Nowhere')), collectionId: 'no-such-collection' },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    const results = response.json().results;
    expect(results.map((r: { status: string }) => r.status)).toEqual([
      'rejected',
      'applied',
      'rejected',
      'rejected',
      'rejected',
    ]);
    expect(results[0].code).toBe('invalid_content');
    expect(results[0].message.length).toBeGreaterThan(5);
    expect(results[4].code).toBe('not_found');
    expect(await head()).toBe(before + 1);
    for (const id of ['bad1', 'bad2', 'bad3', 'bad4']) {
      expect(
        (await server.app.inject({ method: 'GET', url: `/v1/items/${id}?includeDeleted=true`, headers: alice.auth }))
          .statusCode,
      ).toBe(404);
    }
  });

  it('refuses an oversize blob and keeps nothing', async () => {
    const body = Buffer.alloc(4096, 1);
    const { createHash } = await import('node:crypto');
    const sha = createHash('sha256').update(body).digest('hex');
    const response = await server.app.inject({
      method: 'PUT',
      url: `/v1/blobs/${sha}`,
      headers: { ...alice.auth, 'content-type': 'application/octet-stream' },
      payload: body,
    });
    expectProblem(response, 413, 'payload_too_large');
    expect(await server.ctx.blobs.stat(sha)).toBeNull();
  });

  it.each([
    ['/v1/blobs/not-a-hash', 'GET'],
    ['/v1/items/..%2Fetc', 'GET'],
    ['/v1/changes?limit=0', 'GET'],
    ['/v1/changes?limit=abc', 'GET'],
    ['/v1/changes?bogus=1', 'GET'],
  ])('%s is a 400, not a crash', async (url, method) => {
    const response = await server.app.inject({ method: method as 'GET', url, headers: alice.auth });
    expectProblem(response, 400, 'invalid_request');
  });

  it('unknown routes and methods are problem+json, never HTML or a redirect', async () => {
    for (const [method, url] of [
      // GET of other paths is the web portal's (web-portal.test.ts); these are not.
      ['POST', '/'],
      ['GET', '/v1/nope'],
      ['DELETE', '/v1/changes'],
      ['POST', '/login'],
      ['GET', '/healthz/nope'],
    ]) {
      const response = await server.app.inject({ method: method as 'GET', url, headers: alice.auth });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(String(response.headers['content-type'])).toContain('application/problem+json');
      expect(response.headers.location).toBeUndefined();
    }
  });

  it('login with bad input is a 400, with wrong password a 401', async () => {
    expectProblem(
      await server.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'x' } }),
      400,
      'invalid_request',
    );
    expectProblem(
      await server.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { username: alice.username, password: 'nope' },
      }),
      401,
      'unauthorized',
    );
  });
});
