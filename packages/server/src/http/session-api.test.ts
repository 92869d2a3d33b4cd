import { createUser } from '@holdfast/server';
import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { setUserDisabled } from '../auth/accounts.js';

const cookieOf = (response: LightMyRequestResponse): string => {
  const header = String(response.headers['set-cookie'] ?? '');
  const match = /holdfast_session=([^;]*)/.exec(header);
  if (!match?.[1]) throw new Error(`no session cookie in ${header}`);
  return match[1];
};

describe.each(engines)('web sessions (%s)', (engine) => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (settings: Record<string, string> = {}) => {
    server = await startTestServer(engine, settings);
    await createUser(server.ctx, 'alice', 'alice-password');
    return server;
  };
  const signIn = (s: TestServer, password = 'alice-password', headers: Record<string, string> = {}) =>
    s.app.inject({ method: 'POST', url: '/v1/session', payload: { username: 'alice', password }, headers });
  const withCookie = (token: string, csrf?: string) => ({
    cookie: `holdfast_session=${token}`,
    ...(csrf ? { 'x-csrf-token': csrf } : {}),
  });

  it('signs in with a strict HttpOnly cookie, and the cookie stands in for the token on the API', async () => {
    const s = await start();
    const response = await signIn(s);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ user: { username: 'alice' }, csrfToken: expect.any(String) });
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    const setCookie = String(response.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Path=\//);
    // Plain HTTP from a client that is not a trusted proxy: no Secure flag.
    expect(setCookie).not.toMatch(/Secure/);
    const token = cookieOf(response);

    const session = await s.app.inject({ method: 'GET', url: '/v1/session', headers: withCookie(token) });
    expect(session.json()).toMatchObject({ user: { username: 'alice' }, csrfToken: body.csrfToken });
    const me = await s.app.inject({ method: 'GET', url: '/v1/me', headers: withCookie(token) });
    expect(me.json()).toMatchObject({ username: 'alice' });
    expect(me.json()).not.toHaveProperty('info');

    const devices = await s.app.inject({ method: 'GET', url: '/v1/devices', headers: withCookie(token) });
    expect(devices.json().devices).toEqual([expect.objectContaining({ name: 'Web browser', current: true })]);
  });

  it('refuses cookie-authenticated writes without the session CSRF token', async () => {
    const s = await start();
    const first = await signIn(s);
    const token = cookieOf(first);
    const csrf = first.json().csrfToken as string;
    const other = (await signIn(s)).json().csrfToken as string;
    const create = (headers: Record<string, string>) =>
      s.app.inject({ method: 'POST', url: '/v1/collections', headers, payload: { type: 'contacts', name: 'People' } });
    const missing = await create(withCookie(token));
    expect(missing.statusCode).toBe(403);
    expect(missing.json().code).toBe('csrf_failed');
    // Another session's token is no good either.
    expect((await create(withCookie(token, other))).json().code).toBe('csrf_failed');
    expect((await create(withCookie(token, csrf))).statusCode).toBeLessThan(300);
  });

  it('says "wrong username or password", never which, and shares the login throttle', async () => {
    const s = await start({ 'login-burst': '3' });
    const wrong = await signIn(s, 'not-the-password');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'unauthorized', detail: 'Wrong username or password.' });
    const nobody = await s.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { username: 'nobody', password: 'whatever-it-is' },
    });
    expect(nobody.json().detail).toBe('Wrong username or password.');
    await signIn(s, 'guess-2');
    // Two portal failures and one device-login failure use up the same budget of three.
    const device = await s.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'alice', password: 'guess-3' },
    });
    expect(device.statusCode).toBe(401);
    expect((await signIn(s)).statusCode).toBe(429);
  });

  it('answers what happened to an ended session: revoked, expired, disabled', async () => {
    const s = await start({ 'session-idle-minutes': '10', 'session-max-days': '1' });
    const read = (token: string) => s.app.inject({ method: 'GET', url: '/v1/session', headers: withCookie(token) });

    const revoked = cookieOf(await signIn(s));
    const keeper = await signIn(s);
    const keeperToken = cookieOf(keeper);
    const list = await s.app.inject({ method: 'GET', url: '/v1/devices', headers: withCookie(keeperToken) });
    const target = list.json().devices.find((d: { current: boolean }) => !d.current);
    const revoke = await s.app.inject({
      method: 'DELETE',
      url: `/v1/devices/${target.id}`,
      headers: withCookie(keeperToken, keeper.json().csrfToken),
    });
    expect(revoke.statusCode).toBe(204);
    const afterRevoke = await read(revoked);
    expect(afterRevoke.statusCode).toBe(401);
    expect(afterRevoke.json().code).toBe('session_revoked');
    // The cookie is left alone, so each visit until the next sign-in says what happened.
    expect(afterRevoke.headers['set-cookie']).toBeUndefined();
    const api = await s.app.inject({ method: 'GET', url: '/v1/collections', headers: withCookie(revoked) });
    expect(api.json().code).toBe('session_revoked');

    const realNow = s.ctx.now;
    s.ctx.now = () => realNow() + 11 * 60_000;
    const idle = await read(keeperToken);
    expect(idle.statusCode).toBe(401);
    expect(idle.json().code).toBe('session_expired');

    const busy = cookieOf(await signIn(s));
    // Active every few minutes, yet past its absolute end.
    for (let minutes = 0; minutes <= 24 * 60; minutes += 5) {
      s.ctx.now = () => realNow() + 11 * 60_000 + minutes * 60_000;
      const answer = await read(busy);
      if (answer.statusCode !== 200) {
        expect(answer.json().code).toBe('session_expired');
        expect(minutes).toBeGreaterThanOrEqual(24 * 60 - 5);
        break;
      }
    }
    expect((await read(busy)).json().code).toBe('session_expired');
    s.ctx.now = realNow;

    const live = cookieOf(await signIn(s));
    await setUserDisabled(s.ctx, 'alice', true);
    const disabled = await read(live);
    expect(disabled.statusCode).toBe(403);
    expect(disabled.json().code).toBe('account_disabled');
    // The right password is told the account is disabled; a wrong one learns nothing.
    expect((await signIn(s)).json().code).toBe('account_disabled');
    expect((await signIn(s, 'wrong-password')).json().code).toBe('unauthorized');
  });

  it('disabling ends every session for good; device tokens are refused while disabled and work again after', async () => {
    const s = await start();
    const read = (token: string) => s.app.inject({ method: 'GET', url: '/v1/session', headers: withCookie(token) });
    const first = cookieOf(await signIn(s));
    const second = cookieOf(await signIn(s));
    const phone = await s.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'alice', password: 'alice-password', deviceName: 'phone' },
    });
    const bearer = { authorization: `Bearer ${phone.json().token}` };
    const me = () => s.app.inject({ method: 'GET', url: '/v1/me', headers: bearer });

    await setUserDisabled(s.ctx, 'alice', true);
    expect((await read(first)).json().code).toBe('account_disabled');
    expect((await me()).statusCode).toBe(401);

    await setUserDisabled(s.ctx, 'alice', false);
    // Enabling the account does not bring a browser session back: it was ended when the account was disabled.
    for (const token of [first, second]) {
      const answer = await read(token);
      expect(answer.statusCode).toBe(401);
      expect(answer.json().code).toBe('session_revoked');
      const api = await s.app.inject({ method: 'GET', url: '/v1/collections', headers: withCookie(token) });
      expect(api.json().code).toBe('session_revoked');
    }
    // A syncing device needs no new login.
    expect((await me()).statusCode).toBe(200);
    const devices = (await s.app.inject({ method: 'GET', url: '/v1/devices', headers: bearer })).json().devices;
    expect(devices.filter((d: { revokedAt: string | null }) => d.revokedAt === null)).toEqual([
      expect.objectContaining({ name: 'phone' }),
    ]);
    expect((await read(cookieOf(await signIn(s)))).statusCode).toBe(200);
  });

  it('signs out: the cookie is cleared and the device revoked', async () => {
    const s = await start();
    const first = await signIn(s);
    const token = cookieOf(first);
    const noCsrf = await s.app.inject({ method: 'DELETE', url: '/v1/session', headers: withCookie(token) });
    expect(noCsrf.json().code).toBe('csrf_failed');
    const out = await s.app.inject({
      method: 'DELETE',
      url: '/v1/session',
      headers: withCookie(token, first.json().csrfToken),
    });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/holdfast_session=;/);
    const after = await s.app.inject({ method: 'GET', url: '/v1/session', headers: withCookie(token) });
    expect(after.json().code).toBe('session_revoked');
    const none = await s.app.inject({ method: 'GET', url: '/v1/session' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('unauthorized');
  });

  it('signs out everywhere: every session of the person ends, this one too, and syncing devices stay', async () => {
    const s = await start();
    await createUser(s.ctx, 'bob', 'bob-password');
    const here = await signIn(s);
    const elsewhere = cookieOf(await signIn(s));
    const bobs = cookieOf(
      await s.app.inject({
        method: 'POST',
        url: '/v1/session',
        payload: { username: 'bob', password: 'bob-password' },
      }),
    );
    const phone = await s.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'alice', password: 'alice-password' },
    });
    const token = cookieOf(here);
    const noCsrf = await s.app.inject({ method: 'DELETE', url: '/v1/sessions', headers: withCookie(token) });
    expect(noCsrf.json().code).toBe('csrf_failed');

    const out = await s.app.inject({
      method: 'DELETE',
      url: '/v1/sessions',
      headers: withCookie(token, here.json().csrfToken),
    });
    expect(out.statusCode).toBe(200);
    expect(out.json()).toEqual({ signedOut: 2 });
    expect(String(out.headers['set-cookie'])).toMatch(/holdfast_session=;/);
    const read = (t: string) => s.app.inject({ method: 'GET', url: '/v1/session', headers: withCookie(t) });
    expect((await read(token)).json().code).toBe('session_revoked');
    expect((await read(elsewhere)).json().code).toBe('session_revoked');
    // Another person's session and the person's phone are left alone.
    expect((await read(bobs)).statusCode).toBe(200);
    const me = await s.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${phone.json().token}` },
    });
    expect(me.statusCode).toBe(200);
  });

  it('changes the own password: the current one must be right, other sessions end, this one and devices stay', async () => {
    const s = await start({ 'login-burst': '3' });
    const here = await signIn(s);
    const token = cookieOf(here);
    const headers = withCookie(token, here.json().csrfToken);
    const elsewhere = cookieOf(await signIn(s));
    const phone = await s.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { username: 'alice', password: 'alice-password' },
    });
    const change = (currentPassword: string, newPassword: string) =>
      s.app.inject({ method: 'POST', url: '/v1/me/password', headers, payload: { currentPassword, newPassword } });

    const short = await change('alice-password', 'short');
    expect(short.statusCode).toBe(400);
    expect(short.json().detail).toBe('Passwords need at least 8 characters.');
    const wrong = await change('not-the-password', 'a new long password');
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ code: 'forbidden', detail: 'The current password is not right.' });

    const changed = await change('alice-password', 'a new long password');
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toEqual({ signedOut: 1 });
    const read = (t: string) => s.app.inject({ method: 'GET', url: '/v1/session', headers: withCookie(t) });
    expect((await read(token)).statusCode).toBe(200);
    expect((await read(elsewhere)).json().code).toBe('session_revoked');
    const me = await s.app.inject({
      method: 'GET',
      url: '/v1/me',
      headers: { authorization: `Bearer ${phone.json().token}` },
    });
    expect(me.statusCode).toBe(200);
    expect((await signIn(s, 'alice-password')).statusCode).toBe(401);
    expect((await signIn(s, 'a new long password')).statusCode).toBe(200);

    // Guessing the current password spends the same budget as guessing at sign-in (3 here: one wrong above,
    // one wrong sign-in, and this one).
    expect((await change('guess-two', 'another long password')).statusCode).toBe(403);
    expect((await change('a new long password', 'another long password')).statusCode).toBe(429);
  });

  it('marks the cookie Secure when a trusted proxy says the request came over TLS', async () => {
    const s = await start({ 'trusted-proxies': '127.0.0.1' });
    const response = await signIn(s, 'alice-password', { 'x-forwarded-proto': 'https' });
    expect(String(response.headers['set-cookie'])).toMatch(/Secure/);
  });
});
