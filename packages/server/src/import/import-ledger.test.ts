import { addUser, engines, type TestUser, vcard, vevent } from '@holdfast/test-support/harness';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { verifyLedger } from '../ledger/ledger.js';
import { type FormatsFixture, startFormatsFixture } from '../test-support/accounts.js';
import { undoImport } from './import-undo.js';

// A component closed by the wrong END: refused before it has a collection.
const broken = ['BEGIN:VEVENT', 'UID:j1', 'DTSTAMP:20240101T000000Z', 'SUMMARY:Diary', 'END:VTODO', ''].join('\r\n');

describe.each(engines)('imports on the incident ledger on %s', (engine) => {
  let f: FormatsFixture;
  beforeAll(async () => {
    f = await startFormatsFixture(engine);
  });
  afterAll(async () => f.close());

  /** The user's own ledger, as GET /v1/ledger shows it. */
  async function ledgerOf(user: TestUser) {
    const response = await f.server.app.inject({ method: 'GET', url: '/v1/ledger', headers: user.auth });
    expect(response.statusCode).toBe(200);
    return (response.json() as { entries: { kind: string; userId: string | null; details: Record<string, unknown> }[] })
      .entries;
  }

  test('each import is recorded for its user with its counts per collection, and an undo with what it did', async () => {
    const user = await addUser(f.server);
    const other = await addUser(f.server);
    const base = await f.import(await f.file('base.vcf', vcard('a1', 'Ada') + vcard('a2', 'Grace')), {}, user);
    const contacts = base.collectionsCreated[0]?.id;
    const next = await f.import(
      await f.file('next.vcf', vcard('a1', 'Ada', '+1 999') + vcard('a2', 'Grace') + vcard('a3', 'Alan')),
      {},
      user,
    );
    const calendarText = vevent('e1', 'Meeting').replace('END:VCALENDAR', `${broken}END:VCALENDAR`);
    const calendar = await f.import(await f.file('cal.ics', calendarText), {}, user);
    expect(calendar.counts).toEqual({ created: 1, updated: 0, skipped: 0, rejected: 1 });
    const calendarId = calendar.collectionsCreated[0]?.id;

    await undoImport(f.server.ctx, { userId: user.userId, deviceId: user.deviceId }, next.importId);

    const entries = await ledgerOf(user);
    expect(entries.map((e) => [e.kind, e.userId])).toEqual([
      ['import', user.userId],
      ['import', user.userId],
      ['import', user.userId],
      ['import_undo', user.userId],
    ]);
    expect(entries[0]?.details).toMatchObject({
      importId: base.importId,
      source: 'base.vcf',
      format: 'vcard',
      deviceId: user.deviceId,
      counts: { created: 2, updated: 0, skipped: 0, rejected: 0 },
      collections: [{ collectionId: contacts, created: 2, updated: 0, skipped: 0, rejected: 0 }],
      collectionsCreated: [contacts],
      firstRevision: base.firstRevision,
      lastRevision: base.lastRevision,
    });
    expect(entries[1]?.details).toMatchObject({
      importId: next.importId,
      counts: { created: 1, updated: 1, skipped: 1, rejected: 0 },
      collections: [{ collectionId: contacts, created: 1, updated: 1, skipped: 1, rejected: 0 }],
      collectionsCreated: [],
    });
    // The broken event had no collection to go to: it counts as rejected, under no collection.
    expect(entries[2]?.details).toMatchObject({
      format: 'icalendar',
      counts: { created: 1, updated: 0, skipped: 0, rejected: 1 },
      collections: [{ collectionId: calendarId, created: 1, updated: 0, skipped: 0, rejected: 0 }],
    });
    expect(entries[3]?.details).toMatchObject({
      importId: next.importId,
      source: 'next.vcf',
      counts: { deleted: 1, restored: 1, kept: 0 },
      collections: [{ collectionId: contacts, deleted: 1, restored: 1, kept: 0 }],
    });

    expect(await ledgerOf(other)).toEqual([]);
    expect(await verifyLedger(f.server.ctx.db.kysely)).toMatchObject({ ok: true });
  });

  test('a refused file leaves no entry', async () => {
    const user = await addUser(f.server);
    await expect(f.import(await f.file('notes.txt', 'not a contact'), {}, user)).rejects.toThrow();
    expect(await ledgerOf(user)).toEqual([]);
  });
});
