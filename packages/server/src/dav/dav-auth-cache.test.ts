import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addUser, engines, startTestServer, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { basic, send } from '@holdfast/test-support/real-http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPassword, setPassword, setUserDisabled } from '../auth/accounts.js';
import { hashPassword, passwordVerifications } from '../auth/passwords.js';
import { loadConfig } from '../config.js';
import type { Context } from '../context.js';
import { buildApp } from '../http/app.js';
import { createContext } from '../main.js';
import { closeContext, createLogger } from '../open-context.js';
import { revokeAppPassword } from '../store/app-passwords.js';

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

const propfindAt = async (url: string, username: string, password: string) =>
  (await send(`${url}/dav/`, { method: 'PROPFIND', headers: { ...basic(username, password), depth: '0' } })).status;

/**
 * DAV clients send their app password on every request; after one argon2
 * check it is remembered, and every later request re-reads only the cheap
 * state. Changes are made straight in the database, as another server
 * sharing it would make them: the cache must notice on the next request.
 */
describe.each(engines)('remembered DAV credentials, on %s', (engine) => {
  let server: TestServer;
  let url: string;
  let counter = 0;
  beforeAll(async () => {
    server = await startTestServer(engine);
    url = await listen(server.app);
  });
  afterAll(() => server.close());

  const propfind = (username: string, password: string) => propfindAt(url, username, password);

  /** A user with an app password that has just been used once (so it is remembered). */
  const signedIn = async (): Promise<{ user: TestUser; app: { id: string; password: string } }> => {
    const user = await addUser(server, `cache-${engine}-${++counter}`);
    const app = await createAppPassword(server.ctx, user.username, 'phone');
    expect(await propfind(user.username, app.password)).toBe(207);
    return { user, app };
  };

  /** Argon2 runs during `work`. */
  const argon2Runs = async (work: () => Promise<void>) => {
    const before = passwordVerifications();
    await work();
    return passwordVerifications() - before;
  };

  it('verifies an app password once, then answers without argon2', async () => {
    const user = await addUser(server, `cache-${engine}-${++counter}`);
    const app = await createAppPassword(server.ctx, user.username, 'phone');
    expect(await argon2Runs(async () => expect(await propfind(user.username, app.password)).toBe(207))).toBe(1);
    const runs = await argon2Runs(async () => {
      for (let i = 0; i < 5; i++) expect(await propfind(user.username, app.password)).toBe(207);
    });
    expect(runs).toBe(0);
    const metrics = (await send(`${url}/metrics`)).body;
    expect(Number(/^holdfast_dav_credential_cache_total\{result="hit"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(4);
    expect(Number(/^holdfast_password_verifications_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
  });

  it('remembers no failure: every wrong password costs a full check', async () => {
    const { user } = await signedIn();
    const runs = await argon2Runs(async () => {
      for (let i = 0; i < 3; i++)
        expect(await propfind(user.username, 'abcde-fghjk-mnpqr-stuvw-xyz23-45678')).toBe(401);
    });
    expect(runs).toBe(3);
  });

  it('refuses a revoked app password on the very next request', async () => {
    const { user, app } = await signedIn();
    expect(await revokeAppPassword(server.ctx.db.kysely, user.userId, app.id, Date.now())).toBe(true);
    expect(await propfind(user.username, app.password)).toBe(401);
  });

  it('refuses a disabled user on the very next request, and takes them back once enabled', async () => {
    const { user, app } = await signedIn();
    await setUserDisabled(server.ctx, user.username, true);
    expect(await propfind(user.username, app.password)).toBe(401);
    await setUserDisabled(server.ctx, user.username, false);
    expect(await propfind(user.username, app.password)).toBe(207);
  });

  it('refuses an app password on the next request once its stored hash changed', async () => {
    const { user, app } = await signedIn();
    await server.ctx.db.kysely
      .updateTable('app_passwords')
      .set({ password_hash: await hashPassword('abcde-fghjk-another-secret') })
      .where('id', '=', app.id)
      .execute();
    expect(await propfind(user.username, app.password)).toBe(401);
  });

  it('checks again with argon2 after the account password changes', async () => {
    const { user, app } = await signedIn();
    await setPassword(server.ctx, user.username, 'a-brand-new-account-password');
    // App passwords outlive an account password change (as without the cache), but only after a full check.
    expect(await argon2Runs(async () => expect(await propfind(user.username, app.password)).toBe(207))).toBe(1);
    expect(await argon2Runs(async () => expect(await propfind(user.username, app.password)).toBe(207))).toBe(0);
  });

  it('does not let a remembered password open another account', async () => {
    const { app } = await signedIn();
    const other = await addUser(server, `cache-${engine}-${++counter}`);
    expect(await propfind(other.username, app.password)).toBe(401);
  });

  it('checks again with argon2 once the remembered verification is older than the TTL', async () => {
    const { user, app } = await signedIn();
    const realNow = server.ctx.now;
    server.ctx.now = () => realNow() + (server.ctx.config.davCredentialCacheSeconds + 1) * 1000;
    try {
      expect(await argon2Runs(async () => expect(await propfind(user.username, app.password)).toBe(207))).toBe(1);
    } finally {
      server.ctx.now = realNow;
    }
  });
});

describe('two servers on one PostgreSQL, each remembering the same credential', () => {
  let first: TestServer;
  let second: { ctx: Context; app: FastifyInstance; dataDir: string };
  let urls: [string, string];
  beforeAll(async () => {
    first = await startTestServer('postgres');
    const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-second-'));
    const config = loadConfig({
      flags: { data: dataDir, database: first.databaseUrl, 'log-level': 'silent' },
      env: {},
    });
    const ctx = await createContext(config, createLogger(config));
    second = { ctx, app: await buildApp(ctx), dataDir };
    urls = [await listen(first.app), await listen(second.app)];
  });
  afterAll(async () => {
    await second.app.close();
    await closeContext(second.ctx);
    await rm(second.dataDir, { recursive: true, force: true });
    await first.close();
  });

  it('refuses on both the request after one server revokes the app password or disables the user', async () => {
    for (const change of ['revoke', 'disable'] as const) {
      const user = await addUser(first, `shared-${change}`);
      const app = await createAppPassword(first.ctx, user.username, 'phone');
      for (const url of urls) expect(await propfindAt(url, user.username, app.password)).toBe(207);
      // Both remember it now: no argon2 on either.
      const before = passwordVerifications();
      for (const url of urls) expect(await propfindAt(url, user.username, app.password)).toBe(207);
      expect(passwordVerifications() - before).toBe(0);
      if (change === 'revoke') {
        expect(await revokeAppPassword(second.ctx.db.kysely, user.userId, app.id, Date.now())).toBe(true);
      } else {
        await setUserDisabled(second.ctx, user.username, true);
      }
      for (const url of urls) expect(await propfindAt(url, user.username, app.password)).toBe(401);
    }
  });
});

describe('the DAV credential cache turned off', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite', { 'dav-credential-cache-seconds': '0' });
  });
  afterAll(() => server.close());

  it('verifies every request with argon2', async () => {
    const user = await addUser(server, 'uncached');
    const app = await createAppPassword(server.ctx, user.username, 'phone');
    const before = passwordVerifications();
    for (let i = 0; i < 3; i++) {
      const response = await server.app.inject({
        method: 'PROPFIND',
        url: '/dav/',
        headers: { ...basic(user.username, app.password), depth: '0' },
      });
      expect(response.statusCode).toBe(207);
    }
    expect(passwordVerifications() - before).toBe(3);
  });
});
