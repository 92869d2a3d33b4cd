import { addUser, engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { afterEach, describe, expect, it } from 'vitest';

const basic = (username: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
});

describe.each(engines)('app passwords and device names over the API (%s)', (engine) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('creates an app password that DAV accepts, lists it without the secret, and revokes it', async () => {
    server = await startTestServer(engine);
    const s = server;
    const alice = await addUser(s);
    const bob = await addUser(s);
    const created = await s.app.inject({
      method: 'POST',
      url: '/v1/app-passwords',
      headers: alice.auth,
      payload: { label: 'iPhone' },
    });
    expect(created.statusCode).toBe(201);
    const { id, password, label } = created.json();
    expect(label).toBe('iPhone');
    expect(password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){5}$/);
    const dav = () =>
      s.app.inject({ method: 'PROPFIND', url: '/dav/', headers: { ...basic(alice.username, password), depth: '0' } });
    expect((await dav()).statusCode).toBe(207);

    const list = await s.app.inject({ method: 'GET', url: '/v1/app-passwords', headers: alice.auth });
    expect(list.json().appPasswords).toEqual([
      expect.objectContaining({ id, label: 'iPhone', revokedAt: null, lastUsedAt: expect.any(String) }),
    ]);
    expect(list.body).not.toContain(password);
    // Another person sees none of it and cannot revoke it.
    const theirs = await s.app.inject({ method: 'GET', url: '/v1/app-passwords', headers: bob.auth });
    expect(theirs.json().appPasswords).toEqual([]);
    const foreign = await s.app.inject({ method: 'DELETE', url: `/v1/app-passwords/${id}`, headers: bob.auth });
    expect(foreign.statusCode).toBe(404);
    expect((await dav()).statusCode).toBe(207);

    const revoked = await s.app.inject({ method: 'DELETE', url: `/v1/app-passwords/${id}`, headers: alice.auth });
    expect(revoked.statusCode).toBe(204);
    expect((await dav()).statusCode).toBe(401);
    const bad = await s.app.inject({
      method: 'POST',
      url: '/v1/app-passwords',
      headers: alice.auth,
      payload: { label: '' },
    });
    expect(bad.statusCode).toBe(400);
  });

  it("renames the caller's own devices only", async () => {
    server = await startTestServer(engine);
    const s = server;
    const alice = await addUser(s);
    const bob = await addUser(s);
    const rename = (auth: Record<string, string>, id: string, name: string) =>
      s.app.inject({ method: 'PATCH', url: `/v1/devices/${id}`, headers: auth, payload: { name } });
    expect((await rename(alice.auth, alice.deviceId, 'Kitchen tablet')).statusCode).toBe(204);
    const devices = await s.app.inject({ method: 'GET', url: '/v1/devices', headers: alice.auth });
    expect(devices.json().devices[0].name).toBe('Kitchen tablet');
    expect((await rename(bob.auth, alice.deviceId, 'Mine now')).statusCode).toBe(404);
    expect((await rename(alice.auth, alice.deviceId, '')).statusCode).toBe(400);
  });
});
