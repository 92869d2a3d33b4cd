import { addUser, engines, vevent, vtodo } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bundleTexts, type FormatsFixture, listContents, startFormatsFixture } from '../test-support/accounts.js';
import { databaseLiveSource, verifyExport } from '../verify/verify.js';

/** A calendar holds tasks as well as events (CalDAV clients keep them together); export and import keep both. */
describe.each(engines)('tasks in a calendar on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f?.close());

  test('are exported in the calendar file and imported back into a calendar', async () => {
    const calendar = await f.collection('calendar', 'Mixed');
    const pushed = await f.server.app.inject({
      method: 'POST',
      url: '/v1/push',
      headers: f.user.auth,
      payload: {
        changes: [
          {
            clientChangeId: 'a',
            collectionId: calendar,
            itemId: 'ev',
            op: 'put',
            baseRevision: null,
            content: vevent('ev', 'Event'),
          },
          {
            clientChangeId: 'b',
            collectionId: calendar,
            itemId: 'td',
            op: 'put',
            baseRevision: null,
            content: vtodo('td', 'Task'),
          },
        ],
      },
    });
    expect(pushed.json().results.map((r: { status: string }) => r.status)).toEqual(['applied', 'applied']);
    const { path } = await f.export('mixed.zip');
    const files = new Map((await bundleTexts(path, /./)).map((file) => [file.path, file.text]));
    const ics = files.get('calendars/Mixed.ics') ?? '';
    expect(ics).toContain('BEGIN:VTODO');
    expect(ics).toContain('BEGIN:VEVENT');
    const live = databaseLiveSource(f.server.ctx.db.kysely, { id: f.user.userId, username: f.user.username });
    expect(await verifyExport(path, live)).toMatchObject({ ok: true, findings: [] });

    const other = await addUser(f.server);
    const restored = await f.import(path, {}, other);
    expect(restored.counts).toMatchObject({ created: 2, rejected: 0 });
    const collections = (
      await f.server.app.inject({ method: 'GET', url: '/v1/collections', headers: other.auth })
    ).json().collections as { id: string; type: string }[];
    const mixed = collections.find((c) => c.type === 'calendar');
    expect(mixed).toBeDefined();
    const contents = await listContents(f.server, other, mixed?.id ?? '');
    expect([...contents.values()].sort()).toEqual([vevent('ev', 'Event'), vtodo('td', 'Task')].sort());
  });
});
