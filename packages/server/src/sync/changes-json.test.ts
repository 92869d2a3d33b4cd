/**
 * A pull's answer is written as JSON text with the stored content spliced in
 * (sync/changes.ts, readChangesJson): over real HTTP it must say exactly what
 * the revisions say when each is decoded and written out (toWireRevision), for
 * every kind of content a log holds.
 */
import { createHash, randomUUID } from 'node:crypto';
import { vcard } from '@holdfast/test-support/harness';
import {
  addAccount,
  type ListeningServer,
  loginBody,
  send,
  startListeningServer,
} from '@holdfast/test-support/real-http';
import { afterEach, describe, expect, it } from 'vitest';
import { backupWatermark } from '../backup/ack-gate.js';
import { readChanges } from './changes.js';

describe('GET /v1/changes', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('answers every kind of revision exactly as decoding and writing it out would, page by page', async () => {
    const s = await startListeningServer({});
    server = s;
    const account = await addAccount(s.ctx, 'pages');
    const login = JSON.parse(
      (await send(`${s.url}/v1/auth/login`, loginBody(account.username, account.password))).body,
    );
    const auth = { authorization: `Bearer ${login.token as string}` };
    const json = async (method: string, path: string, body?: unknown) => {
      const answer = await send(`${s.url}${path}`, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      expect(answer.status, answer.body).toBeLessThan(300);
      return answer;
    };
    for (const [id, type] of [
      ['notes', 'notes'],
      ['book', 'contacts'],
      ['photos', 'photos'],
    ])
      await json('POST', '/v1/collections', { id, type, name: id });
    const change = (collectionId: string, itemId: string, content: unknown, extra: Record<string, unknown> = {}) => ({
      clientChangeId: randomUUID(),
      collectionId,
      itemId,
      op: 'put',
      baseRevision: null,
      content,
      ...extra,
    });
    const bytes = Buffer.from('not really a photo, but bytes all the same');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    expect((await send(`${s.url}/v1/blobs/${sha256}`, { method: 'PUT', headers: auth, body: bytes })).status).toBe(201);
    const pushed = await json('POST', '/v1/push', {
      changes: [
        change('notes', 'n1', { title: 'Ünïcödé "quoted" \u2028 line', body: 'a\nb\\c </script> \u0001 😀' }),
        change('notes', 'n2', { title: 'second', body: '' }),
        change('book', 'c1', vcard('c1', 'Ada Lovelace')),
        change('photos', 'p1', { filename: 'p1.jpg' }, { blob: { sha256, contentType: 'image/jpeg' } }),
      ],
    });
    const results = JSON.parse(pushed.body).results as { status: string; revision: number }[];
    expect(
      results.map((r) => r.status),
      pushed.body,
    ).toEqual(['applied', 'applied', 'applied', 'applied']);
    const revision = results[1]?.revision;
    await json('POST', '/v1/push', {
      changes: [
        { clientChangeId: randomUUID(), collectionId: 'notes', itemId: 'n2', op: 'delete', baseRevision: revision },
      ],
    });

    let cursor: string | undefined;
    let pages = 0;
    let seen = 0;
    for (;;) {
      const answer = await json('GET', `/v1/changes?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      const expected = await readChanges(
        s.ctx,
        { userId: login.userId, username: account.username, deviceId: login.deviceId },
        cursor,
        2,
      );
      expect(JSON.parse(answer.body)).toStrictEqual({ ...expected, backupWatermark: backupWatermark(s.ctx) });
      pages++;
      seen += expected.changes.length;
      cursor = expected.cursor;
      if (!expected.hasMore) break;
    }
    // Three collections, four puts and a delete, two to a page; a full last page says there may be more.
    expect(seen).toBe(8);
    expect(pages).toBe(5);
  });
});
