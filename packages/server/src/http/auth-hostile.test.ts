import {
  addAccount,
  basic,
  type ListeningServer,
  loginBody,
  send,
  startListeningServer,
} from '@holdfast/test-support/real-http';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppPassword } from '../auth/accounts.js';

/** Attacks a hostile client can run against sign-in, each over real HTTP. */
describe('sign-in under attack', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const login = (username: string, password: string, from?: string, headers: Record<string, string> = {}) => {
    const body = loginBody(username, password);
    return send(`${server?.url}/v1/auth/login`, {
      ...body,
      headers: { ...body.headers, ...headers },
      ...(from ? { from } : {}),
    });
  };
  const dav = (authorization: Record<string, string>, from?: string) =>
    send(`${server?.url}/dav/`, {
      method: 'PROPFIND',
      headers: { ...authorization, depth: '0' },
      ...(from ? { from } : {}),
    });

  it('a burst of concurrent guesses cannot outrun the throttle, even with the right password inside it', async () => {
    server = await startListeningServer();
    const alice = await addAccount(server.ctx, 'alice');
    const attempts = Array.from({ length: 60 }, (_, i) =>
      login(alice.username, i === 54 ? alice.password : `guess-${i}`),
    );
    const statuses = (await Promise.all(attempts)).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toEqual([]);
    // Only the burst reached the password check; everything else was refused before it.
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(server.ctx.config.loginBurst);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(60 - server.ctx.config.loginBurst);
  });

  it('a stranger hammering a username locks out only themselves, on login and on DAV', async () => {
    server = await startListeningServer();
    const alice = await addAccount(server.ctx, 'alice');
    const app = await createAppPassword(server.ctx, 'alice', 'phone');
    const stranger = '127.0.0.2';
    const tries: number[] = [];
    for (let i = 0; i < 40; i++) tries.push((await login('alice', `guess-${i}`, stranger)).status);
    for (let i = 0; i < 40; i++) tries.push((await dav(basic('alice', `guess-${i}`), stranger)).status);
    expect(tries.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(tries.slice(10, 40).every((s) => s === 429)).toBe(true);
    expect(tries.slice(40, 50).every((s) => s === 401)).toBe(true);
    expect(tries.slice(50).every((s) => s === 429)).toBe(true);
    // Even the right password waits out the stranger's own lock-out: a throttled guess learns nothing.
    const locked = await login('alice', alice.password, stranger);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);

    const owner = '127.0.0.3';
    expect((await login('alice', alice.password, owner)).status).toBe(200);
    expect((await dav(basic('alice', app.password), owner)).status).toBe(207);
  });

  it('a DAV client syncing in parallel with the right app password is never throttled', async () => {
    server = await startListeningServer();
    await addAccount(server.ctx, 'alice');
    const app = await createAppPassword(server.ctx, 'alice', 'phone');
    const statuses = await Promise.all(
      Array.from({ length: 3 * server.ctx.config.davLoginBurst }, () => dav(basic('alice', app.password))),
    );
    expect(statuses.map((r) => r.status)).toEqual(statuses.map(() => 207));
  });

  it('DAV failures and device logins have separate budgets', async () => {
    server = await startListeningServer();
    const alice = await addAccount(server.ctx, 'alice');
    const from = '127.0.0.4';
    for (let i = 0; i < 12; i++) await dav(basic('alice', `stale-${i}`), from);
    expect((await dav(basic('alice', 'stale'), from)).status).toBe(429);
    expect((await login('alice', alice.password, from)).status).toBe(200);
  });

  it('one address spraying made-up usernames runs out of its own budget', async () => {
    server = await startListeningServer({ 'login-address-burst': '20' });
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await login(`nobody-${i}`, 'guess', '127.0.0.5')).status);
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    // Another address is untouched.
    expect((await login('nobody-x', 'guess', '127.0.0.6')).status).toBe(401);
  });

  it('logs failed sign-ins and lock-outs with username and address, never the password', async () => {
    server = await startListeningServer({ 'login-burst': '2' });
    await addAccount(server.ctx, 'alice');
    for (let i = 0; i < 3; i++) await login('alice', 'secret-guess-xyz', '127.0.0.7');
    const warnings = server.logs.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([
      'failed sign-in',
      'failed sign-in; now locked out',
      'sign-in refused: locked out',
    ]);
    for (const line of warnings) expect(line).toMatchObject({ username: 'alice', clientAddress: '127.0.0.7' });
    expect(JSON.stringify(server.logs)).not.toContain('secret-guess-xyz');
  });

  describe('behind a reverse proxy', () => {
    const attackThenOwner = async () => {
      const alice = await addAccount(server?.ctx as ListeningServer['ctx'], 'alice');
      for (let i = 0; i < 12; i++) await login('alice', `guess-${i}`, undefined, { 'x-forwarded-for': '203.0.113.1' });
      return (await login('alice', alice.password, undefined, { 'x-forwarded-for': '203.0.113.2' })).status;
    };

    it('with trustedProxies, clients behind the proxy are throttled apart', async () => {
      server = await startListeningServer({ 'trusted-proxies': '127.0.0.1' });
      expect(await attackThenOwner()).toBe(200);
    });

    it('without it, X-Forwarded-For is ignored', async () => {
      server = await startListeningServer();
      expect(await attackThenOwner()).toBe(429);
    });
  });

  it('accepts the bearer scheme in any case and marks JSON nosniff and no-store', async () => {
    server = await startListeningServer();
    const alice = await addAccount(server.ctx, 'alice');
    const { token } = JSON.parse((await login(alice.username, alice.password)).body) as { token: string };
    const me = await send(`${server.url}/v1/me`, { headers: { authorization: `bearer ${token}` } });
    expect(me.status).toBe(200);
    expect(me.headers['x-content-type-options']).toBe('nosniff');
    expect(me.headers['cache-control']).toBe('no-store');
    const denied = await send(`${server.url}/v1/me`, { headers: { authorization: 'BEARER not-a-real-token' } });
    expect(denied.status).toBe(401);
    expect(denied.headers['x-content-type-options']).toBe('nosniff');
    expect(denied.headers['cache-control']).toBe('no-store');
  });
});
