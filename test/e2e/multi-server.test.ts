import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const card = (id: string) => `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${id}\r\nFN:${id}\r\nEND:VCARD\r\n`;

/** Several stateless servers on one PostgreSQL database behave as one. */
describe('two servers on one PostgreSQL database', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('share one gap-free log and deliver live events across servers', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const dirs = [await mkdtemp(join(tmpdir(), 'holdfast-a-')), await mkdtemp(join(tmpdir(), 'holdfast-b-'))];
    for (const dir of dirs) cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const argsFor = (dir: string) => ['--data', dir, '--database', db.url];
    expect((await runCli(['user', 'add', 'shared', ...argsFor(dirs[0]!)], { stdin: 'shared-password\n' })).code).toBe(
      0,
    );

    const servers: ServerProcess[] = [];
    for (const dir of dirs) servers.push(await startServerProcess(argsFor(dir)));
    for (const server of servers) cleanups.push(() => server.stop());
    const [a, b] = servers as [ServerProcess, ServerProcess];

    const tokenA = (
      await api(a.url, 'POST', '/v1/auth/login', { body: { username: 'shared', password: 'shared-password' } })
    ).body.token;
    const tokenB = (
      await api(b.url, 'POST', '/v1/auth/login', { body: { username: 'shared', password: 'shared-password' } })
    ).body.token;
    const collectionId = (
      await api(a.url, 'POST', '/v1/collections', { token: tokenA, body: { type: 'contacts', name: 'c' } })
    ).body.id;

    // Listen on A.
    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const events = await fetch(`${a.url}/v1/events`, {
      headers: { authorization: `Bearer ${tokenA}` },
      signal: controller.signal,
    });
    const reader = events.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += decoder.decode(value);
      }
    };
    await readUntil('event: ready');

    // Write through B; A's listener hears it.
    const viaB = await api(b.url, 'POST', '/v1/push', {
      token: tokenB,
      body: {
        changes: [
          { clientChangeId: 'b-1', collectionId, itemId: 'from-b', op: 'put', baseRevision: null, content: card('b') },
        ],
      },
    });
    const revision = viaB.body.results[0].revision;
    await readUntil(`"head":${revision}`);

    // Both servers write at once; the sequence stays gap-free and each change lands once.
    const pushMany = (url: string, token: string, prefix: string) =>
      Promise.all(
        Array.from({ length: 10 }, (_, batch) =>
          api(url, 'POST', '/v1/push', {
            token,
            body: {
              changes: Array.from({ length: 10 }, (_, i) => ({
                clientChangeId: `${prefix}-${batch}-${i}`,
                collectionId,
                itemId: `${prefix}-${batch}-${i}`,
                op: 'put',
                baseRevision: null,
                content: card(`${prefix}${batch}${i}`),
              })),
            },
          }),
        ),
      );
    const [ra, rb] = await Promise.all([pushMany(a.url, tokenA, 'a'), pushMany(b.url, tokenB, 'b')]);
    for (const response of [...ra, ...rb]) {
      expect(response.status).toBe(200);
      for (const result of response.body.results) expect(result.status).toBe('applied');
    }
    const feed = await api(a.url, 'GET', '/v1/changes?limit=1000', { token: tokenA });
    const seqs = feed.body.changes.map((c: { revision: number }) => c.revision);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(seqs.length).toBe(1 + 1 + 200);
    // Racing writes to one item from both servers: exactly one wins, the other sees the conflict.
    const race = await Promise.all(
      [a, b].map((server, i) =>
        api(server.url, 'POST', '/v1/push', {
          token: i === 0 ? tokenA : tokenB,
          body: {
            changes: [
              {
                clientChangeId: `race-${i}`,
                collectionId,
                itemId: 'from-b',
                op: 'put',
                baseRevision: revision,
                content: card(`r${i}`),
              },
            ],
          },
        }),
      ),
    );
    expect(race.map((r) => r.body.results[0].status).sort()).toEqual(['applied', 'conflict']);
  }, 120_000);
});
