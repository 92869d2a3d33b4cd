import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addAccount,
  type ListeningServer,
  loginBody,
  send,
  startListeningServer,
} from '@holdfast/test-support/real-http';
import { afterEach, describe, expect, it } from 'vitest';
import { checkDataDirPermissions } from '../store/data-dir.js';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe('hardening', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const signIn = async (name: string) => {
    const account = await addAccount((server as ListeningServer).ctx, name);
    const response = await send(`${server?.url}/v1/auth/login`, loginBody(account.username, account.password));
    return { authorization: `Bearer ${(JSON.parse(response.body) as { token: string }).token}` };
  };

  it('a blob upload does not reveal that another user stored the same bytes', async () => {
    server = await startListeningServer();
    const alice = await signIn('alice');
    const bob = await signIn('bob');
    const bytes = Buffer.from('a scan of alice’s passport');
    const url = `${server.url}/v1/blobs/${createHash('sha256').update(bytes).digest('hex')}`;
    const put = (auth: Record<string, string>) =>
      send(url, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: bytes });
    expect((await put(alice)).status).toBe(201);
    // Bob's first upload looks exactly like a new blob; only his own repeat says "already stored".
    expect((await put(bob)).status).toBe(201);
    expect((await put(bob)).status).toBe(200);
  });

  it('keeps the data directory owner-only, and tightens one an older release left open', async () => {
    const previous = process.umask(0o022);
    const dir = await mkdtemp(join(tmpdir(), 'holdfast-modes-'));
    try {
      await chmod(dir, 0o755);
      await writeFile(join(dir, 'holdfast.json'), '{}', { mode: 0o644 });
      await mkdir(join(dir, 'blobs'), { mode: 0o755 });
      expect((await checkDataDirPermissions(dir)).map((f) => f.mode)).toEqual(['0755', '0755', '0644']);

      server = await startListeningServer({}, dir);
      const alice = await signIn('alice');
      const bytes = Buffer.from('private bytes');
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const put = await send(`${server.url}/v1/blobs/${sha256}`, { method: 'PUT', headers: alice, body: bytes });
      expect(put.status).toBe(201);

      expect(await modeOf(dir)).toBe(0o700);
      expect(await modeOf(join(dir, 'blobs'))).toBe(0o700);
      expect(await modeOf(join(dir, 'holdfast.json'))).toBe(0o600);
      for (const file of ['holdfast.db', 'holdfast.db-wal', 'holdfast.db-shm']) {
        expect(await modeOf(join(dir, file)), file).toBe(0o600);
      }
      const blobDir = join(dir, 'blobs', sha256.slice(0, 2), sha256.slice(2, 4));
      expect(await modeOf(blobDir)).toBe(0o700);
      expect(await modeOf(join(blobDir, sha256))).toBe(0o600);
      expect(await checkDataDirPermissions(dir)).toEqual([]);
    } finally {
      process.umask(previous);
      await server?.close();
      server = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a JSON body with invalid UTF-8 instead of storing U+FFFD', async () => {
    server = await startListeningServer();
    const alice = await signIn('alice');
    const json = { 'content-type': 'application/json', ...alice };
    const created = await send(`${server.url}/v1/collections`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ type: 'notes', name: 'notes' }),
    });
    const collectionId = (JSON.parse(created.body) as { id: string }).id;
    const change = JSON.stringify({
      changes: [
        {
          clientChangeId: '6b0d8a3e-5d0e-4c55-9b1e-1f0b7f1d2c3a',
          collectionId,
          itemId: 'n1',
          op: 'put',
          baseRevision: null,
          content: { title: 'BROKEN', body: 'text' },
        },
      ],
    });
    // A lone continuation byte where "BROKEN" was.
    const [before, after] = change.split('BROKEN') as [string, string];
    const body = Buffer.concat([Buffer.from(before), Buffer.from([0x80]), Buffer.from(after)]);
    const pushed = await send(`${server.url}/v1/push`, { method: 'POST', headers: json, body });
    expect(pushed.status).toBe(400);
    expect(pushed.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(pushed.body)).toMatchObject({ code: 'invalid_request' });
    expect(JSON.parse(pushed.body).detail ?? JSON.parse(pushed.body).title).toMatch(/UTF-8/);
    const item = await send(`${server.url}/v1/items/n1`, { headers: alice });
    expect(item.status).toBe(404);
  });

  it('logs a client that hangs up mid-upload as routine, not as a server error', async () => {
    server = await startListeningServer();
    const alice = await signIn('alice');
    const { port } = new URL(server.url);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `PUT /v1/blobs/${'a'.repeat(64)} HTTP/1.1\r\nhost: x\r\nauthorization: ${alice.authorization}\r\n` +
            'content-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\nonly a little',
        );
        setTimeout(() => socket.destroy(), 200);
      });
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    const logs = server.logs;
    await expect.poll(() => logs.some((l) => l.msg === 'client aborted the request'), { timeout: 5000 }).toBe(true);
    expect(logs.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('keeps the connection of a request without a body open when it is answered at once', async () => {
    server = await startListeningServer();
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    let closed = false;
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('close', () => {
      closed = true;
    });
    const answers = (count: number) => (received.match(/^HTTP\/1\.1 /gm) ?? []).length >= count;
    // Both are answered without waiting for anything: before Node has marked the request complete.
    socket.write('OPTIONS /dav/ HTTP/1.1\r\nhost: x\r\n\r\n');
    await expect.poll(() => answers(1)).toBe(true);
    socket.write('GET /.well-known/carddav HTTP/1.1\r\nhost: x\r\n\r\n');
    await expect.poll(() => answers(2)).toBe(true);
    socket.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    await expect.poll(() => answers(3)).toBe(true);
    const heads = received.split(/(?=HTTP\/1\.1 \d{3} )/).map((response) => response.split('\r\n\r\n')[0]);
    expect(heads.map((head) => head?.split('\r\n')[0])).toEqual([
      'HTTP/1.1 200 OK',
      'HTTP/1.1 301 Moved Permanently',
      'HTTP/1.1 200 OK',
    ]);
    for (const head of heads) expect(head).toContain('\r\nConnection: keep-alive');
    expect(closed).toBe(false);
    socket.destroy();
  });
});
