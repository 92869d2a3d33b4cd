import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import pg from 'pg';
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

/** A PostgreSQL cluster of the test's own, a user, and two servers on it, each with a data directory of its own. */
async function twoServersOnOwnPostgres(
  cleanups: (() => Promise<unknown>)[],
  username: string,
  password: string,
): Promise<{
  postgres: Awaited<ReturnType<typeof startOwnPostgres>>;
  servers: [ServerProcess, ServerProcess];
  login: (url: string) => Promise<string>;
}> {
  const postgres = await startOwnPostgres();
  cleanups.push(postgres.close);
  const dirs = [await mkdtemp(join(tmpdir(), 'holdfast-oa-')), await mkdtemp(join(tmpdir(), 'holdfast-ob-'))];
  for (const dir of dirs) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const argsFor = (dir: string) => ['--data', dir, '--database', postgres.url];
  const added = await runCli(['user', 'add', username, ...argsFor(dirs[0]!)], { stdin: `${password}\n` });
  expect(added.code).toBe(0);
  const servers: ServerProcess[] = [];
  for (const dir of dirs) servers.push(await startServerProcess(argsFor(dir)));
  for (const server of servers) cleanups.push(() => server.stop());
  const login = async (url: string) =>
    (await api(url, 'POST', '/v1/auth/login', { body: { username, password } })).body.token as string;
  return { postgres, servers: servers as [ServerProcess, ServerProcess], login };
}

describe('live events across a PostgreSQL outage', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it('come back after PostgreSQL restarts, on both servers, with nothing missed', async () => {
    const { postgres, servers, login } = await twoServersOnOwnPostgres(cleanups, 'ann', 'ann-password-1');
    const [a, b] = servers;
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

  it('pushes through two servers while PostgreSQL restarts: refused as retryable, each applied once when retried', async () => {
    const { postgres, servers, login } = await twoServersOnOwnPostgres(cleanups, 'bo', 'bo-password-1');
    const devices: { url: string; token: string }[] = [];
    for (let i = 0; i < 4; i++) {
      const url = servers[i % 2 === 0 ? 0 : 1].url;
      devices.push({ url, token: await login(url) });
    }
    const collectionId = (
      await api(devices[0]!.url, 'POST', '/v1/collections', {
        token: devices[0]!.token,
        body: { type: 'contacts', name: 'c' },
      })
    ).body.id;

    // Each device pushes batches of three new cards, one batch at a time, as the SDK does: a batch answered
    // 503 is sent again with the same clientChangeIds until it is acknowledged; any other answer, or a
    // server that stops answering, fails the drill.
    let loading = true;
    let refused = 0;
    const acknowledged = new Map<string, number>();
    const unexpected: string[] = [];
    const device = async ({ url, token }: { url: string; token: string }, index: number) => {
      for (let batch = 0; loading || batch === 0; batch++) {
        const ids = [0, 1, 2].map((k) => `d${index}-${batch}-${k}`);
        const body = JSON.stringify({
          changes: ids.map((id) => ({
            clientChangeId: id,
            collectionId,
            itemId: id,
            op: 'put',
            baseRevision: null,
            content: card(id),
          })),
        });
        for (const deadline = Date.now() + 60_000; ; ) {
          const response = await fetch(`${url}/v1/push`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body,
          }).catch((error: Error) => error);
          if (response instanceof Error) {
            unexpected.push(`${ids[0]}: ${response.message}`);
            return;
          }
          if (response.status === 200) {
            const { results } = (await response.json()) as { results: { clientChangeId: string; revision: number }[] };
            for (const result of results) acknowledged.set(result.clientChangeId, result.revision);
            break;
          }
          const text = await response.text();
          if (response.status !== 503 || response.headers.get('retry-after') === null) {
            unexpected.push(`${ids[0]}: ${response.status} ${text}`);
            return;
          }
          refused++;
          if (Date.now() > deadline) {
            unexpected.push(`${ids[0]}: still refused after 60 s`);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const load = devices.map((d, i) => device(d, i));
    // The outage starts once writes are being acknowledged, however slow a loaded machine is.
    const untilAcknowledged = async (count: number) => {
      for (const deadline = Date.now() + 60_000; acknowledged.size < count && unexpected.length === 0; ) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    await untilAcknowledged(4 * 3 * 2);
    const beforeStop = acknowledged.size;
    await postgres.command('stop');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await postgres.command('start');
    // Load continues until writes are acknowledged again after the restart.
    await untilAcknowledged(acknowledged.size + 40);
    loading = false;
    await Promise.all(load);

    expect(unexpected).toEqual([]);
    expect(beforeStop).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    for (const server of servers) expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // In the database: every acknowledged change exactly once, at the revision it was acknowledged with,
    // and a log without gaps.
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ client_change_id: string; seq: string; n: string }>(
        `SELECT client_change_id, min(seq) AS seq, count(*) AS n FROM revisions
          WHERE client_change_id IS NOT NULL AND entity = 'item' GROUP BY client_change_id`,
      );
      const stored = new Map(rows.map((r) => [r.client_change_id, { seq: Number(r.seq), n: Number(r.n) }]));
      expect([...stored.values()].filter((r) => r.n !== 1)).toEqual([]);
      for (const [id, revision] of acknowledged) expect(stored.get(id)?.seq, id).toBe(revision);
      const span = await client.query<{ lo: string; hi: string; n: string }>(
        'SELECT min(seq) AS lo, max(seq) AS hi, count(*) AS n FROM revisions',
      );
      const { lo, hi, n } = span.rows[0]!;
      expect(Number(hi) - Number(lo) + 1).toBe(Number(n));
    } finally {
      await client.end();
    }
  }, 180_000);
});
