import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const card = (id: string) => `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:${id}\r\nFN:${id}\r\nEND:VCARD\r\n`;

/** A PostgreSQL cluster of this test's own, so stopping it disturbs no other test. */
async function startOwnPostgres(): Promise<{
  url: string;
  command: (line: 'stop' | 'start') => Promise<void>;
  close: () => Promise<void>;
}> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', `${root}node_modules/tsx/dist/loader.mjs`, `${root}packages/test-support/src/postgres-server.ts`],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  const waiters: { word: string; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk) => {
    out += chunk;
    for (const waiter of [...waiters]) {
      if (out.includes(`${waiter.word}\n`)) {
        out = out.replace(`${waiter.word}\n`, '');
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /^(postgres:\/\/\S+)\n/.exec(out);
      if (match?.[1]) {
        child.stdout.off('data', check);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`PostgreSQL exited with ${code}`)));
  });
  return {
    url,
    command: (line) =>
      new Promise<void>((resolve) => {
        waiters.push({ word: line === 'stop' ? 'stopped' : 'started', resolve });
        child.stdin.write(`${line}\n`);
      }),
    close: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

describe('live events across a PostgreSQL outage', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('come back after PostgreSQL restarts, on both servers, with nothing missed', async () => {
    const postgres = await startOwnPostgres();
    cleanups.push(postgres.close);
    const dirs = [await mkdtemp(join(tmpdir(), 'holdfast-oa-')), await mkdtemp(join(tmpdir(), 'holdfast-ob-'))];
    for (const dir of dirs) cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const argsFor = (dir: string) => ['--data', dir, '--database', postgres.url];
    const added = await runCli(['user', 'add', 'ann', ...argsFor(dirs[0]!)], { stdin: 'ann-password-1\n' });
    expect(added.code).toBe(0);
    const servers: ServerProcess[] = [];
    for (const dir of dirs) servers.push(await startServerProcess(argsFor(dir)));
    for (const server of servers) cleanups.push(() => server.stop());
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const login = async (url: string) =>
      (await api(url, 'POST', '/v1/auth/login', { body: { username: 'ann', password: 'ann-password-1' } })).body
        .token as string;
    const tokenA = await login(a.url);
    const tokenB = await login(b.url);
    const collectionId = (
      await api(a.url, 'POST', '/v1/collections', { token: tokenA, body: { type: 'contacts', name: 'c' } })
    ).body.id;

    const controller = new AbortController();
    cleanups.push(async () => controller.abort());
    const listen = async (url: string, token: string) => {
      const events = await fetch(`${url}/v1/events`, {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
      const reader = events.body!.getReader();
      const decoder = new TextDecoder();
      const stream = { text: '', until: async (_matches: (text: string) => boolean, _what: string) => {} };
      stream.until = async (matches, what) => {
        const deadline = setTimeout(() => controller.abort(), 30_000);
        try {
          while (!matches(stream.text)) {
            const { value, done } = await reader.read();
            if (done) throw new Error(`stream ended before ${what}`);
            stream.text += decoder.decode(value);
          }
        } finally {
          clearTimeout(deadline);
        }
      };
      await stream.until((text) => text.includes('event: ready'), 'ready');
      return stream;
    };
    const onA = await listen(a.url, tokenA);
    const onB = await listen(b.url, tokenB);

    const push = async (url: string, token: string, itemId: string) => {
      const response = await api(url, 'POST', '/v1/push', {
        token,
        body: {
          changes: [
            { clientChangeId: itemId, collectionId, itemId, op: 'put', baseRevision: null, content: card(itemId) },
          ],
        },
      });
      expect(response.status).toBe(200);
      return response.body.results[0].revision as number;
    };
    const before = await push(b.url, tokenB, 'before');
    await onA.until((text) => text.includes(`"head":${before}`), 'the change before the outage');

    // An outage long enough for reconnect attempts to be refused, not only a dropped connection.
    await postgres.command('stop');
    const stoppedAt = Date.now();
    // While it is down, a write is refused as retryable, on the JSON API and on DAV alike, and the server stays up.
    const refused = await fetch(`${a.url}/v1/push`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        changes: [
          {
            clientChangeId: 'during',
            collectionId,
            itemId: 'during',
            op: 'put',
            baseRevision: null,
            content: card('during'),
          },
        ],
      }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ code: 'unavailable', details: { reason: 'database_unavailable' } });
    const davRefused = await fetch(`${b.url}/dav/addressbooks/ann/`, {
      method: 'PROPFIND',
      headers: { authorization: `Basic ${Buffer.from('ann:ann-password-1').toString('base64')}`, depth: '1' },
    });
    expect(davRefused.status).toBe(503);
    expect(davRefused.headers.get('retry-after')).toBe('5');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 4000 - (Date.now() - stoppedAt))));
    await postgres.command('start');

    // Once a server listens again it wakes its streams, so each client re-reads from its cursor.
    for (const stream of [onA, onB]) {
      const seen = stream.text.length;
      await stream.until((text) => text.slice(seen).includes('event: change'), 'the wake-up after reconnecting');
    }

    // LISTEN is back on both: a push through either server reaches the clients of both.
    const viaB = await push(b.url, tokenB, 'after-b');
    const viaA = await push(a.url, tokenA, 'after-a');
    // The write refused during the outage is taken when sent again.
    await push(a.url, tokenA, 'during');
    for (const stream of [onA, onB]) {
      await stream.until((text) => text.includes(`"head":${viaB}`), 'the push through B after the outage');
      await stream.until((text) => text.includes(`"head":${viaA}`), 'the push through A after the outage');
    }
  }, 180_000);
});
