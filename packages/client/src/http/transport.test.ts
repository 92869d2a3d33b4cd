import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeCursor } from '@holdfast/protocol';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClient, type HoldfastClient } from '../client.js';
import { HoldfastError } from '../errors.js';
import { createMemoryStore } from '../replica/memory-store.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const html =
  (status: number, body = '<html><body><h1>Sign in to the hotel Wi-Fi</h1></body></html>'): Handler =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(body);
const json =
  (status: number, body: unknown, type = 'application/json'): Handler =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': type }).end(typeof body === 'string' ? body : JSON.stringify(body));
const problem = (status: number, code: string) =>
  json(status, { type: 'x', title: code, status, code, detail: `a ${code} problem` }, 'application/problem+json');
const me: Handler = json(200, { userId: 'u1', deviceId: 'd1', username: 'ada', generation: 'gen-aaaaaaaa', head: 0 });
const emptyChanges: Handler = json(200, {
  changes: [],
  cursor: encodeCursor({ generation: 'gen-aaaaaaaa', seq: 0 }),
  hasMore: false,
  generation: 'gen-aaaaaaaa',
});

/** A tiny HTTP server that answers like a portal, a proxy or a broken server would. */
describe('requests that fail are errors, never empty results', () => {
  let server: Server;
  let url: string;
  let routes: Record<string, Handler>;
  let hits: string[];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      hits.push(`${req.method} ${path}`);
      (routes[path] ?? problem(404, 'not_found'))(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    routes = {};
    hits = [];
  });

  function loggedInClient(retryAttempts = 1): HoldfastClient {
    const store = createMemoryStore();
    store.transaction((tx) =>
      tx.setState({
        serverUrl: url,
        token: 'tok_0123456789',
        userId: 'u1',
        deviceId: 'd1',
        generation: 'gen-aaaaaaaa',
      }),
    );
    const client = createClient({ store, retry: { attempts: retryAttempts, baseMs: 1, maxMs: 2 } });
    client.createCollection({ id: 'notes', type: 'notes', name: 'Notes' });
    return client;
  }

  async function failure(client: HoldfastClient): Promise<HoldfastError> {
    const seen: HoldfastError[] = [];
    client.on('syncError', ({ error }) => seen.push(error));
    const error = await client.sync().then(
      (result) => {
        throw new Error(`sync succeeded: ${JSON.stringify(result)}`);
      },
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HoldfastError);
    expect(seen).toEqual([error]);
    // Nothing moved: the outbox still holds the local change and no cursor was saved.
    expect(client.status()).toMatchObject({ pendingChanges: 1 });
    expect(client.store.transaction((tx) => tx.getState().cursor)).toBeNull();
    return error as HoldfastError;
  }

  it('an HTML page with status 200 (a captive portal)', async () => {
    routes['/v1/me'] = html(200);
    const error = await failure(loggedInClient());
    expect(error).toMatchObject({ code: 'unexpected_response', status: 200 });
    expect(error.message).toContain('text/html');
  });

  it('a redirect, which is not followed', async () => {
    routes['/v1/me'] = (_req, res) => res.writeHead(302, { location: 'http://portal.example/login' }).end();
    routes['/login'] = me;
    const error = await failure(loggedInClient());
    expect(error).toMatchObject({
      code: 'redirect',
      status: 302,
      details: { location: 'http://portal.example/login' },
    });
    expect(hits).toEqual(['GET /v1/me']);
  });

  it('a 5xx HTML error page from a proxy, retried and then reported', async () => {
    routes['/v1/me'] = html(502, '<html>Bad Gateway</html>');
    const error = await failure(loggedInClient(3));
    expect(error).toMatchObject({ code: 'unavailable', status: 502, retryable: true });
    expect(hits).toEqual(['GET /v1/me', 'GET /v1/me', 'GET /v1/me']);
  });

  it('a 5xx problem, with its code', async () => {
    routes['/v1/me'] = problem(500, 'internal');
    expect(await failure(loggedInClient())).toMatchObject({
      code: 'internal',
      status: 500,
      message: 'a internal problem',
    });
  });

  it('an auth failure, which stops the sync and emits unauthorized', async () => {
    routes['/v1/me'] = problem(401, 'unauthorized');
    const client = loggedInClient(3);
    const events: HoldfastError[] = [];
    client.on('unauthorized', ({ error }) => events.push(error));
    const error = await failure(client);
    expect(error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(events).toEqual([error]);
    expect(hits).toEqual(['GET /v1/me']);
  });

  it('malformed JSON and JSON of the wrong shape', async () => {
    routes['/v1/me'] = json(200, '{"userId": "u1", ');
    expect(await failure(loggedInClient())).toMatchObject({ code: 'unexpected_response' });
    routes['/v1/me'] = json(200, { hello: 'world' });
    expect(await failure(loggedInClient())).toMatchObject({ code: 'unexpected_response' });
  });

  it('an HTML page where the change feed should be, after the push went through', async () => {
    routes['/v1/me'] = me;
    routes['/v1/collections'] = json(201, {
      id: 'notes',
      type: 'notes',
      name: 'Notes',
      description: '',
      color: null,
      revision: 1,
      deleted: false,
      createdAt: '2026-01-01T00:00:00Z',
      updatedAt: '2026-01-01T00:00:00Z',
    });
    routes['/v1/changes'] = html(200);
    const client = loggedInClient();
    const error = await client.sync().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unexpected_response' });
    expect(client.store.transaction((tx) => tx.getState().cursor)).toBeNull();
  });

  it('an empty feed from a well-behaved server is fine', async () => {
    routes['/v1/me'] = me;
    routes['/v1/changes'] = emptyChanges;
    routes['/v1/summary'] = json(200, { generation: 'gen-aaaaaaaa', head: 0, collections: [] });
    const store = createMemoryStore();
    store.transaction((tx) => tx.setState({ serverUrl: url, token: 'tok_0123456789', generation: 'gen-aaaaaaaa' }));
    const result = await createClient({ store }).sync();
    expect(result).toMatchObject({ pushed: 0, pulled: 0 });
  });

  it('no server at all', async () => {
    const store = createMemoryStore();
    store.transaction((tx) =>
      tx.setState({ serverUrl: 'http://127.0.0.1:9', token: 'tok_0123456789', generation: 'g' }),
    );
    const client = createClient({ store, retry: { attempts: 1 } });
    await expect(client.sync()).rejects.toMatchObject({ code: 'network', retryable: true });
  });

  it('offline, and not logged in', async () => {
    const client = loggedInClient();
    client.setOnline(false);
    await expect(client.sync()).rejects.toMatchObject({ code: 'offline' });
    expect(hits).toEqual([]);
    await expect(createClient({ store: createMemoryStore(), serverUrl: url }).sync()).rejects.toMatchObject({
      code: 'not_logged_in',
    });
  });

  it('a login answered by an HTML page', async () => {
    routes['/v1/auth/login'] = html(200);
    const client = createClient({ store: createMemoryStore(), serverUrl: url });
    await expect(client.login('ada', 'secret-password', 'phone')).rejects.toMatchObject({
      code: 'unexpected_response',
    });
    expect(client.status().loggedIn).toBe(false);
  });
});
