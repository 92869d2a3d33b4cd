import { type SeededAccount, seedFullAccount } from '@holdfast/test-support/full-account';
import { addUser, engines, type TestServer, type TestUser } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FormatsFixture, rewriteZip, startFormatsFixture } from '../test-support/accounts.js';
import { databaseLiveSource, httpLiveSource, type VerifyReport, verifyExport } from './verify.js';

/** fetch over fastify's inject, so the HTTP source is tested without a socket. */
function injectFetch(server: TestServer): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const response = await server.app.inject({
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: (init?.headers ?? {}) as Record<string, string>,
    });
    return new Response(response.body, { status: response.statusCode });
  }) as typeof fetch;
}

const messages = (report: VerifyReport) => report.findings.map((x) => `${x.where}: ${x.message}`);
const liveMessages = (report: VerifyReport) => (report.live?.findings ?? []).map((x) => `${x.where}: ${x.message}`);

describe.each(engines)('verify-export on %s', (engine) => {
  let f: FormatsFixture;
  let user: TestUser;
  let seeded: SeededAccount;
  let zip: string;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
    user = await addUser(f.server);
    seeded = await seedFullAccount(f.server, user);
    zip = (await f.export('good.zip', {}, user)).path;
  });
  afterAll(async () => f.close());

  const tampered = async (
    name: string,
    edit: Parameters<typeof rewriteZip>[2],
    extra?: Parameters<typeof rewriteZip>[3],
  ) => {
    const path = `${f.dir}/${name}`;
    await rewriteZip(zip, path, edit, extra);
    return verifyExport(path);
  };

  test('a good bundle verifies', async () => {
    const report = await verifyExport(zip);
    expect(report).toMatchObject({
      ok: true,
      findings: [],
      manifest: { user: user.username, collections: 6, items: 9, files: 9 },
    });
  });

  test('a changed phone number is caught in the file hash, the item hash and the card check', async () => {
    const report = await tampered('digit.zip', (path, bytes) =>
      path.endsWith('.vcf') ? Buffer.from(bytes.toString().replace('+44 20 7946 0001', '+44 20 7946 0009')) : bytes,
    );
    expect(report.ok).toBe(false);
    expect(messages(report)).toEqual([
      expect.stringMatching(/^contacts\/My contacts.vcf: SHA-256 [0-9a-f]{64} \(\d+ bytes\), manifest says/),
      expect.stringMatching(/^contacts\/My contacts.vcf item ada: bytes 0-\d+ do not hash to the manifest's SHA-256$/),
      "contacts/My contacts.vcf item ada: the card at line 1 is not the item's slice",
    ]);
  });

  test('a dropped TEL line is caught, and so are the field counts it changes', async () => {
    const report = await tampered('no-tel.zip', (path, bytes) =>
      path.endsWith('.vcf') ? Buffer.from(bytes.toString().replace('TEL;TYPE=work:+44 20 7946 0002\r\n', '')) : bytes,
    );
    expect(report.ok).toBe(false);
    expect(messages(report).join('\n')).toMatch(/item ada: bytes .* do not hash/);
  });

  test('missing files, extra files and edited counts are each reported', async () => {
    const missing = await tampered('missing.zip', (path, bytes) => (path.endsWith('.png') ? null : bytes));
    expect(messages(missing)).toContain('photos/My photos/beach.png: listed in the manifest but missing from the ZIP');
    const extra = await tampered('extra.zip', (_path, bytes) => bytes, [
      { path: 'contacts/smuggled.vcf', bytes: Buffer.from('x') },
    ]);
    expect(messages(extra)).toEqual(['contacts/smuggled.vcf: in the ZIP but not in the manifest']);
    const counts = await tampered('counts.zip', (path, bytes) => {
      if (path !== 'manifest.json') return bytes;
      const manifest = JSON.parse(bytes.toString());
      manifest.collections[0].fields.tel = 3;
      manifest.collections[0].items[0].fields.email = 2;
      return Buffer.from(JSON.stringify(manifest));
    });
    expect(messages(counts)).toEqual([
      'contacts/My contacts.vcf item ada: email: manifest 2, bundle 1',
      'contacts "My contacts" (contacts/My contacts.vcf): field count tel: manifest 3, bundle 2',
    ]);
  });

  test('an export that could not include something says so, and is not ok', async () => {
    const report = await tampered('problems.zip', (path, bytes) => {
      if (path !== 'manifest.json') return bytes;
      const manifest = JSON.parse(bytes.toString());
      manifest.problems.push({
        collectionId: seeded.collections.photos,
        itemId: 'photo-1',
        problem: 'blob x is missing from storage',
      });
      return Buffer.from(JSON.stringify(manifest));
    });
    expect(messages(report)).toEqual([
      `collection ${seeded.collections.photos} item photo-1: not exported: blob x is missing from storage`,
    ]);
  });

  test('not a ZIP, or a ZIP without a manifest, is a clear failure', async () => {
    expect(messages(await verifyExport(await f.file('not.zip', 'hello')))).toEqual([
      expect.stringMatching(/not.zip: not a ZIP file: /),
    ]);
    const bare = await tampered('bare.zip', (path, bytes) => (path === 'manifest.json' ? null : bytes));
    expect(messages(bare)).toEqual(['manifest.json: not a Holdfast export: the ZIP has no manifest.json']);
  });

  test('against the live account: every missing, changed or new item is reported, by field', async () => {
    const who = await addUser(f.server);
    const s = await seedFullAccount(f.server, who);
    const bundle = (await f.export('live.zip', {}, who)).path;
    const live = databaseLiveSource(f.server.ctx.db.kysely, { id: who.userId, username: who.username });
    expect((await verifyExport(bundle, live)).ok).toBe(true);

    const push = async (changes: unknown[]) =>
      f.server.app.inject({ method: 'POST', url: '/v1/push', headers: who.auth, payload: { changes } });
    const heads = await f.server.ctx.db.kysely
      .selectFrom('items')
      .select(['id', 'head_seq'])
      .where('user_id', '=', who.userId)
      .execute();
    const head = (id: string) => heads.find((h) => h.id === id)?.head_seq ?? 0;
    await push([
      {
        clientChangeId: 'v1',
        collectionId: s.collections.contacts,
        itemId: 'ada',
        op: 'put',
        baseRevision: head('ada'),
        content: s.items.ada?.replace('TEL;TYPE=work:+44 20 7946 0002\r\n', ''),
      },
      {
        clientChangeId: 'v2',
        collectionId: s.collections.tasks,
        itemId: 'task',
        op: 'delete',
        baseRevision: head('task'),
      },
      {
        clientChangeId: 'v3',
        collectionId: s.collections.notes,
        itemId: 'note-2',
        op: 'put',
        baseRevision: null,
        content: { title: 'New', body: '' },
      },
    ]);
    const report = await verifyExport(bundle, live);
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([]);
    expect(liveMessages(report)).toEqual([
      expect.stringMatching(
        /^contacts "My contacts" item ada \(Ada Lovelace\) \(revision \d+ → \d+\): missing in the account: TEL;TYPE=WORK: \+44 20 7946 0002$/,
      ),
      'tasks "My tasks" item task (Taxes): missing from the account',
      'notes "My notes" item note-2 (New): in the account but not in the export (written after the export)',
    ]);

    const http = httpLiveSource('http://holdfast.test', who.token, injectFetch(f.server));
    expect(liveMessages(await verifyExport(bundle, http))).toEqual(liveMessages(report));
  });
});
