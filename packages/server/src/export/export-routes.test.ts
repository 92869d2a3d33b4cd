import { seedFullAccount } from '@holdfast/test-support/full-account';
import { addUser, engines, type TestUser, vcard } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';
import { httpLiveSource, verifyExport } from '../verify/verify.js';

describe.each(engines)('export and import over HTTP on %s', (engine) => {
  let f: FormatsFixture;
  let user: TestUser;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
    user = await addUser(f.server);
    await seedFullAccount(f.server, user);
  });
  afterAll(async () => f.close());

  const call = (method: 'GET' | 'POST', url: string, options: { body?: string | Buffer; who?: TestUser | null } = {}) =>
    f.server.app.inject({
      method,
      url,
      headers: {
        ...(options.who === null ? {} : (options.who ?? user).auth),
        ...(options.body === undefined ? {} : { 'content-type': 'application/octet-stream' }),
      },
      ...(options.body === undefined ? {} : { payload: options.body }),
    });

  test('GET /v1/export streams the logged-in user’s account as a ZIP that verifies against the server', async () => {
    const response = await call('GET', '/v1/export');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/zip');
    expect(response.headers['content-disposition']).toMatch(
      new RegExp(`^attachment; filename="holdfast-${user.username}-\\d{4}-\\d{2}-\\d{2}.zip"$`),
    );
    const path = await f.file('http.zip', response.rawPayload);
    const live = httpLiveSource('http://holdfast.test', user.token, (async (
      input: string | URL | Request,
      init?: RequestInit,
    ) => {
      const url = new URL(String(input));
      const r = await f.server.app.inject({
        method: 'GET',
        url: `${url.pathname}${url.search}`,
        headers: init?.headers as Record<string, string>,
      });
      return new Response(r.body, { status: r.statusCode });
    }) as typeof fetch);
    const report = await verifyExport(path, live);
    expect([...report.findings, ...(report.live?.findings ?? [])]).toEqual([]);
    expect(report.manifest?.items).toBe(9);
  });

  test('export, import and the rest need a login', async () => {
    for (const [method, url] of [
      ['GET', '/v1/export'],
      ['POST', '/v1/import'],
      ['GET', '/v1/imports'],
      ['GET', '/v1/contacts/duplicates'],
    ] as const) {
      expect((await call(method, url, { who: null })).statusCode).toBe(401);
    }
  });

  test('POST /v1/import takes the file as the body, reports per item, and can be undone', async () => {
    const who = await addUser(f.server);
    const body = vcard('h1', 'Over Http') + vcard('h2', 'Second Card');
    const response = await call('POST', '/v1/import?name=phone.vcf', { body, who });
    expect(response.statusCode).toBe(200);
    const report = response.json();
    expect(report).toMatchObject({ source: 'phone.vcf', format: 'vcard', counts: { created: 2, rejected: 0 } });
    const again = await call('POST', '/v1/import?name=phone.vcf', { body, who });
    expect(again.json().counts).toEqual({ created: 0, updated: 0, skipped: 2, rejected: 0 });
    const list = (await call('GET', '/v1/imports', { who })).json();
    expect(list.imports.map((i: { id: string; undone: boolean }) => [i.id, i.undone])).toEqual([
      [again.json().importId, false],
      [report.importId, false],
    ]);
    const undone = await call('POST', `/v1/imports/${report.importId}/undo`, { who });
    expect(undone.json()).toMatchObject({ importId: report.importId, undone: 2, kept: [] });
    expect((await call('POST', `/v1/imports/${report.importId}/undo`, { who })).statusCode).toBe(409);
    const other = await call('POST', `/v1/imports/${report.importId}/undo`, { who: user });
    expect(other.statusCode).toBe(404);
  });

  test('POST /v1/import refuses what it cannot read, and bodies over the limit', async () => {
    const bad = await call('POST', '/v1/import', { body: 'just some words' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      code: 'invalid_content',
      detail: expect.stringMatching(/^upload is not a file Holdfast imports/),
    });
    const query = await call('POST', '/v1/import?collection=bad%20id', { body: vcard('q', 'Q') });
    expect(query.statusCode).toBe(400);
    const big = await f.server.app.inject({
      method: 'POST',
      url: '/v1/import',
      headers: {
        ...user.auth,
        'content-type': 'text/vcard',
        'content-length': String(f.server.ctx.config.maxBlobBytes + 1),
      },
      payload: 'x',
    });
    expect(big.statusCode).toBe(413);
  });

  test('GET /v1/items/:id/json shows a contact as jCard with its nicknames, an event as jCal', async () => {
    const contact = await call('GET', '/v1/items/ada/json');
    expect(contact.statusCode).toBe(200);
    expect(contact.json()).toMatchObject({
      id: 'ada',
      format: 'jcard',
      contact: {
        fn: 'Ada Lovelace',
        nicknames: ['Countess'],
        tels: ['+44 20 7946 0001', '+44 20 7946 0002'],
        emails: ['ada@example.com'],
      },
    });
    expect(contact.json().data[0]).toBe('vcard');
    expect(contact.json().data[1]).toContainEqual(['nickname', {}, 'text', 'Countess']);
    const event = await call('GET', '/v1/items/standup/json');
    expect(event.json()).toMatchObject({ format: 'jcal', data: ['vcalendar', expect.any(Array), expect.any(Array)] });
    expect((await call('GET', '/v1/items/note-1/json')).statusCode).toBe(400);
    expect((await call('GET', '/v1/items/nope/json')).statusCode).toBe(404);
  });

  test('GET /v1/contacts/duplicates suggests, and changes nothing', async () => {
    const who = await addUser(f.server);
    const twin = (uid: string, name: string, tel: string) => vcard(uid, name, tel, `${uid}@example.org`);
    await call('POST', '/v1/import?name=d.vcf', {
      who,
      body:
        twin('d1', 'Jon Smith', '+1 (555) 010-0199') +
        twin('d2', 'John Smith', '+1 555 010 0199') +
        twin('d3', 'Someone Else', '+1 555 7777'),
    });
    const response = await call('GET', '/v1/contacts/duplicates', { who });
    expect(response.json().groups).toEqual([
      {
        confidence: 'high',
        reasons: ['same phone +15550100199', 'similar names "John Smith" and "Jon Smith"'],
        contacts: [
          expect.objectContaining({ fn: 'John Smith', tels: ['+1 555 010 0199'], emails: ['d2@example.org'] }),
          expect.objectContaining({ fn: 'Jon Smith', tels: ['+1 (555) 010-0199'], emails: ['d1@example.org'] }),
        ],
      },
    ]);
    const imports = (await call('GET', '/v1/imports', { who })).json().imports;
    expect(imports).toHaveLength(1);
  });
});
