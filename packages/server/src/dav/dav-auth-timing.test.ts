import { randomUUID } from 'node:crypto';
import { addUser, engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { addAccount, basic, type ListeningServer, send, startListeningServer } from '@holdfast/test-support/real-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppPassword } from '../auth/accounts.js';
import { hashPassword } from '../auth/passwords.js';
import { insertAppPassword, revokeAppPassword } from '../store/app-passwords.js';

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/**
 * A failed DAV sign-in must take the same time whether the user exists and
 * however many app passwords they have, or timing tells a prober both.
 */
describe('DAV Basic auth timing', () => {
  let server: ListeningServer;
  beforeAll(async () => {
    // Generous budgets: this measures the check, not the throttle.
    server = await startListeningServer({ 'dav-login-burst': '1000', 'login-address-burst': '100000' });
    await addAccount(server.ctx, 'none');
    await addAccount(server.ctx, 'five');
    for (let i = 0; i < 5; i++) await createAppPassword(server.ctx, 'five', `device ${i}`);
  });
  afterAll(() => server.close());

  const attempt = async (username: string, password: string) => {
    const started = performance.now();
    const response = await send(`${server.url}/dav/`, {
      method: 'PROPFIND',
      headers: { ...basic(username, password), depth: '0' },
    });
    expect(response.status).toBe(401);
    return performance.now() - started;
  };

  const medians = async (password: () => string) => {
    const users = ['ghost', 'none', 'five'];
    const times = new Map<string, number[]>(users.map((u) => [u, []]));
    await attempt('warm-up', password());
    // Interleaved, so load on the machine hits every case alike.
    for (let round = 0; round < 9; round++) {
      for (const user of users) times.get(user)?.push(await attempt(user, password()));
    }
    return users.map((user) => median(times.get(user) ?? []));
  };

  it('costs the same for an unknown user and users with 0 or 5 app passwords', async () => {
    // Shaped like a real app password (it names an id), and shaped like anything else.
    for (const password of [() => 'abcde-fghjk-mnpqr-stuvw-xyz23-45678', () => `wrong-${randomUUID()}`]) {
      const [ghost, none, five] = await medians(password);
      const all = [ghost, none, five] as number[];
      expect(Math.max(...all) / Math.min(...all), `medians ${all.map((t) => t.toFixed(1)).join(', ')} ms`).toBeLessThan(
        2,
      );
    }
  });
});

describe.each(engines)('app passwords from before they carried an id, on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine);
  });
  afterAll(() => server.close());

  it('still open DAV, and stop when revoked', async () => {
    const legacy = 'abcde-fghjk-mnpqr-stuvw';
    const user = await addUser(server, `legacy-${engine}`);
    const id = randomUUID();
    await insertAppPassword(server.ctx.db.kysely, {
      id,
      user_id: user.userId,
      label: 'old phone',
      password_hash: await hashPassword(legacy),
      created_at: Date.now(),
      last_used_at: null,
      revoked_at: null,
    });
    const propfind = (password: string) =>
      server.app.inject({
        method: 'PROPFIND',
        url: '/dav/',
        headers: { ...basic(user.username, password), depth: '0' },
      });
    expect((await propfind(legacy)).statusCode).toBe(207);
    expect((await propfind('abcde-fghjk-mnpqr-zzzzz')).statusCode).toBe(401);
    expect(await revokeAppPassword(server.ctx.db.kysely, user.userId, id, Date.now())).toBe(true);
    expect((await propfind(legacy)).statusCode).toBe(401);
  });
});
