import { engines, startTestServer, type TestServer, vevent } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDavUser, type DavCall, type DavUser, davClient, NS_ATTRS, parseMultistatus } from '../test-support/dav.js';

const MAX_HREFS = 5000;

/** The multiget cap, and the allowed maximum answered quickly (one batched lookup per collection). */
describe.each(engines)('DAV request limits on %s', (engine) => {
  let server: TestServer;
  let alice: DavUser;
  let dav: DavCall;
  let cal: string;

  beforeAll(async () => {
    server = await startTestServer(engine, { 'dav-max-multiget-hrefs': String(MAX_HREFS) });
    alice = await addDavUser(server, `alice-limits-${engine}`);
    dav = davClient(server, alice);
    const created = await server.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: alice.auth,
      payload: { id: 'cal', type: 'calendar', name: 'Cal' },
    });
    expect(created.statusCode).toBe(201);
    cal = `/dav/calendars/${alice.username}/cal/`;
    for (let i = 0; i < 20; i++) {
      expect((await dav('PUT', `${cal}e${i}.ics`, { body: vevent(`e${i}`, `Event ${i}`) })).statusCode).toBe(201);
    }
  });
  afterAll(() => server?.close());

  const multiget = (count: number) =>
    `<?xml version="1.0"?><cal:calendar-multiget ${NS_ATTRS}><d:prop><d:getetag/></d:prop>${Array.from(
      { length: count },
      (_, i) => `<d:href>${cal}e${i % 40}.ics</d:href>`,
    ).join('')}</cal:calendar-multiget>`;

  it('refuses a multiget naming more hrefs than allowed, with a DAV precondition', async () => {
    const response = await dav('REPORT', cal, { body: multiget(MAX_HREFS + 1), depth: '1' });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('<d:number-of-matches-within-limits/>');
  });

  it('answers the allowed maximum in request order, quickly', async () => {
    const started = performance.now();
    const response = await dav('REPORT', cal, { body: multiget(MAX_HREFS), depth: '1' });
    const elapsed = performance.now() - started;
    expect(response.statusCode).toBe(207);
    const { responses } = parseMultistatus(response.body);
    expect(responses).toHaveLength(MAX_HREFS);
    expect(responses[0]?.href).toBe(`${cal}e0.ics`);
    expect(responses[0]?.props.get(200)?.has('getetag')).toBe(true);
    // Hrefs naming nothing (e20…e39) are 404 entries.
    expect(responses[25]?.status).toBe(404);
    expect(elapsed).toBeLessThan(5000);
  });

  it('honours a lower cap from the settings', async () => {
    const strict = await startTestServer(engine, { 'dav-max-multiget-hrefs': '10' });
    try {
      const bob = await addDavUser(strict, `bob-limits-${engine}`);
      const bobDav = davClient(strict, bob);
      await strict.app.inject({
        method: 'POST',
        url: '/v1/collections',
        headers: bob.auth,
        payload: { id: 'cal', type: 'calendar', name: 'Cal' },
      });
      const body = (count: number) =>
        `<?xml version="1.0"?><cal:calendar-multiget ${NS_ATTRS}><d:prop><d:getetag/></d:prop>${Array.from(
          { length: count },
          (_, i) => `<d:href>/dav/calendars/${bob.username}/cal/x${i}.ics</d:href>`,
        ).join('')}</cal:calendar-multiget>`;
      const path = `/dav/calendars/${bob.username}/cal/`;
      expect((await bobDav('REPORT', path, { body: body(10), depth: '1' })).statusCode).toBe(207);
      expect((await bobDav('REPORT', path, { body: body(11), depth: '1' })).statusCode).toBe(403);
    } finally {
      await strict.close();
    }
  });
});
