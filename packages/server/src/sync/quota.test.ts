/**
 * Storage quotas over real HTTP: new items past `quotaItemsPerUser` and bytes
 * past `quotaBytesPerUser` are refused with 507 on push, DAV PUT, blob upload
 * and import; edits to held items pass; a warning comes before the limit.
 */
import { createHash, randomUUID } from 'node:crypto';
import { vcard } from '@holdfast/test-support/harness';
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
import { checkAddition, countedUsers, MAX_COUNTED_USERS } from './quota.js';

describe('storage quotas', () => {
  let server: ListeningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (settings: Record<string, string>) => {
    const s = await startListeningServer(settings);
    server = s;
    const account = await addAccount(s.ctx, 'quota');
    const login = await send(`${s.url}/v1/auth/login`, loginBody(account.username, account.password));
    const auth = { authorization: `Bearer ${(JSON.parse(login.body) as { token: string }).token}` };
    const json = (method: string, path: string, body?: unknown) =>
      send(`${s.url}${path}`, {
        method,
        headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await json('POST', '/v1/collections', { id: 'book', type: 'contacts', name: 'Book' })).status).toBe(201);
    const app = await createAppPassword(s.ctx, account.username, 'dav');
    return { s, auth, json, dav: basic(account.username, app.password), username: account.username };
  };
  const put = (itemId: string, name = itemId) => ({
    clientChangeId: randomUUID(),
    collectionId: 'book',
    itemId,
    op: 'put' as const,
    baseRevision: null,
    content: vcard(itemId, name),
  });

  it('refuses new items past the item quota on push, DAV PUT and import, and warns from 90%', async () => {
    const { s, auth, json, dav, username } = await start({ 'quota-items-per-user': '10' });
    const first = await json('POST', '/v1/push', { changes: Array.from({ length: 8 }, (_, i) => put(`p${i}`)) });
    expect(first.status).toBe(200);
    expect(first.headers['holdfast-quota-warning']).toBeUndefined();
    const ninth = await json('POST', '/v1/push', { changes: [put('p8')] });
    expect(ninth.status).toBe(200);
    expect(ninth.headers['holdfast-quota-warning']).toBe('items 9/10');

    const over = await json('POST', '/v1/push', { changes: [put('p9'), put('p10')] });
    expect(over.status).toBe(507);
    expect(over.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(JSON.parse(over.body)).toMatchObject({ code: 'quota_exceeded', details: { quota: { items: 10 } } });

    // Edits of held items still pass.
    const head = JSON.parse((await json('GET', '/v1/items/p0')).body) as { revision: number };
    const edit = await json('POST', '/v1/push', {
      changes: [{ ...put('p0', 'Renamed'), baseRevision: head.revision }],
    });
    expect(JSON.parse(edit.body).results[0].status).toBe('applied');

    expect((await json('POST', '/v1/push', { changes: [put('p9')] })).status).toBe(200);
    const card = vcard('d1', 'Over Dav');
    const davPut = await send(`${s.url}/dav/addressbooks/${username}/book/d1.vcf`, {
      method: 'PUT',
      headers: { ...dav, 'content-type': 'text/vcard', 'if-none-match': '*' },
      body: card,
    });
    expect(davPut.status).toBe(507);
    expect(davPut.body).toMatch(/<d:quota-not-exceeded\s*\/>|quota-not-exceeded/);
    // A DAV edit of a held item passes at the quota (it adds nothing); a new one still does not.
    const davEdit = await send(`${s.url}/dav/addressbooks/${username}/book/p1.vcf`, {
      method: 'PUT',
      headers: { ...dav, 'content-type': 'text/vcard' },
      body: vcard('p1', 'Edited Over Dav'),
    });
    expect(davEdit.status).toBe(204);
    const davOverAgain = await send(`${s.url}/dav/addressbooks/${username}/book/d2.vcf`, {
      method: 'PUT',
      headers: { ...dav, 'content-type': 'text/vcard' },
      body: vcard('d2', 'Over Dav Again'),
    });
    expect(davOverAgain.status).toBe(507);

    const imported = await send(`${s.url}/v1/import?name=more.vcf`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/vcard' },
      body: `${vcard('i1', 'Imported One')}${vcard('i2', 'Imported Two')}`,
    });
    expect(imported.status).toBe(507);
    expect(JSON.parse((await json('GET', '/v1/imports')).body).imports).toEqual([]);

    const usage = JSON.parse((await json('GET', '/v1/account/usage')).body);
    expect(usage).toMatchObject({ items: 10, quotaItems: 10, warning: 'items 10/10' });
    const ledger = JSON.parse((await json('GET', '/v1/ledger')).body) as { entries: { kind: string }[] };
    expect(ledger.entries.filter((e) => e.kind === 'quota_warning')).toHaveLength(1);
  });

  it('refuses a blob upload past the byte quota', async () => {
    const { s, auth, json } = await start({ 'quota-bytes-per-user': '4096' });
    const upload = (bytes: Buffer) =>
      send(`${s.url}/v1/blobs/${createHash('sha256').update(bytes).digest('hex')}`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: bytes,
      });
    expect((await upload(Buffer.alloc(3000, 1))).status).toBe(201);
    const refused = await upload(Buffer.alloc(3000, 2));
    expect(refused.status).toBe(507);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'quota_exceeded' });
    const usage = JSON.parse((await json('GET', '/v1/account/usage')).body);
    expect(usage).toMatchObject({ bytes: 3000, quotaBytes: 4096, warning: null });
  });

  it('keeps a bounded number of users counted, however many accounts write', async () => {
    const { s } = await start({ quotaItemsPerUser: '1000' });
    const writers = MAX_COUNTED_USERS + 100;
    for (let i = 0; i < writers; i++) await checkAddition(s.ctx, `writer-${i}`, { items: 1, bytes: 0 });
    expect(countedUsers(s.ctx)).toBe(MAX_COUNTED_USERS);
  });
});
