import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase } from '@holdfast/test-support/postgres';
import { api, runCli, type ServerProcess, startServerProcess } from '@holdfast/test-support/processes';
import { afterAll, describe, expect, it } from 'vitest';

interface SentChange {
  clientChangeId: string;
  collectionId: string;
  itemId: string;
  op: 'put';
  baseRevision: null;
  content: string;
}

const card = (id: string) =>
  `BEGIN:VCARD\r\nVERSION:3.0\r\nUID:${id}\r\nFN:Person ${id}\r\nN:${id};Person;;;\r\nTEL;TYPE=CELL:+1 555 ${id.slice(-4)}\r\nEMAIL:${id}@example.com\r\nEND:VCARD\r\n`;

/**
 * Promise 1: an acknowledged write is durable. The server is SIGKILLed in the
 * middle of a push storm, restarted, and must still hold every change it
 * acknowledged, with a gap-free sequence; replaying unacknowledged batches
 * must not duplicate anything.
 */
describe.each(['sqlite', 'postgres'] as const)('crash during a push storm on %s', (engine) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('keeps every acknowledged change across SIGKILL, with no gap in the sequence', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'holdfast-crash-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const args = ['--data', dataDir];
    if (engine === 'postgres') {
      const db = await createTestDatabase();
      cleanups.push(db.drop);
      args.push('--database', db.url);
    }
    const added = await runCli(['user', 'add', 'crashtest', ...args], { stdin: 'crash-test-password\n' });
    expect(added.code, added.stderr).toBe(0);

    let server: ServerProcess = await startServerProcess(args);
    cleanups.push(() => server.kill());
    const login = await api(server.url, 'POST', '/v1/auth/login', {
      body: { username: 'crashtest', password: 'crash-test-password', deviceName: 'storm' },
    });
    const token = login.body.token as string;
    const collectionId = (
      await api(server.url, 'POST', '/v1/collections', { token, body: { type: 'contacts', name: 'c' } })
    ).body.id as string;

    const acked = new Map<string, { revision: number; change: SentChange }>();
    const unacked: SentChange[][] = [];
    let next = 0;

    for (let round = 0; round < 2; round++) {
      let stop = false;
      const pusher = async (lane: number) => {
        while (!stop) {
          const batch: SentChange[] = Array.from({ length: 20 }, () => {
            const itemId = `r${round}-l${lane}-${String(next++).padStart(6, '0')}`;
            return {
              clientChangeId: `cc-${itemId}`,
              collectionId,
              itemId,
              op: 'put',
              baseRevision: null,
              content: card(itemId),
            };
          });
          try {
            const response = await api(server.url, 'POST', '/v1/push', { token, body: { changes: batch } });
            expect(response.status).toBe(200);
            for (const [i, result] of (response.body.results as { status: string; revision: number }[]).entries()) {
              expect(result.status).toBe('applied');
              acked.set(batch[i]!.itemId, { revision: result.revision, change: batch[i]! });
            }
          } catch {
            unacked.push(batch);
            return;
          }
        }
      };
      const lanes = [0, 1, 2, 3].map(pusher);
      // Let the storm build (enough acknowledged to prove something, however slow the machine), then pull the plug
      // at an arbitrary point.
      const enough = (round + 1) * 60;
      const deadline = Date.now() + 60_000;
      while (acked.size < enough && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1200 + Math.random() * 800));
      await server.kill();
      stop = true;
      await Promise.all(lanes);
      server = await startServerProcess(args);
    }
    expect(acked.size).toBeGreaterThan(100);

    // Read the whole log back.
    const revisions: { revision: number; itemId: string | null; content: unknown; op: string }[] = [];
    let cursor = '';
    for (;;) {
      const page = await api(server.url, 'GET', `/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
        token,
      });
      expect(page.status).toBe(200);
      revisions.push(...page.body.changes);
      cursor = page.body.cursor;
      if (!page.body.hasMore) break;
    }
    const me = await api(server.url, 'GET', '/v1/me', { token });
    // One user owns every revision, so the feed must be exactly 1..head.
    expect(revisions.map((r) => r.revision)).toEqual(Array.from({ length: me.body.head }, (_, i) => i + 1));
    const byItem = new Map(revisions.filter((r) => r.itemId).map((r) => [r.itemId as string, r]));
    for (const [itemId, { revision, change }] of acked) {
      const stored = byItem.get(itemId);
      expect(stored?.revision, itemId).toBe(revision);
      expect(stored?.content).toBe(change.content);
    }

    // Replaying what was in flight either applies it now or returns what was committed: never twice.
    for (const batch of unacked) {
      const replay = await api(server.url, 'POST', '/v1/push', { token, body: { changes: batch } });
      expect(replay.status).toBe(200);
      for (const result of replay.body.results) expect(result.status).toBe('applied');
    }
    const puts = new Map<string, number>();
    cursor = '';
    for (;;) {
      const page = await api(server.url, 'GET', `/v1/changes?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, {
        token,
      });
      for (const r of page.body.changes) if (r.itemId) puts.set(r.itemId, (puts.get(r.itemId) ?? 0) + 1);
      cursor = page.body.cursor;
      if (!page.body.hasMore) break;
    }
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
    await server.stop();
  }, 180_000);
});
