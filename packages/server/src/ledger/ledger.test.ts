import { engines, startTestServer, type TestServer } from '@holdfast/test-support/harness';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordIncident, verifyLedger } from './ledger.js';

describe.each(engines)('incident ledger on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(engine);
    for (let i = 0; i < 5; i++) {
      await recordIncident(server.ctx.db, {
        kind: 'backup_failed',
        userId: null,
        summary: `failure ${i}`,
        details: { i },
      });
    }
  });
  afterAll(async () => server?.close());

  it('chains every entry to the one before', async () => {
    expect(await verifyLedger(server.ctx.db.kysely)).toEqual({ ok: true, entries: 5 });
  });

  it('refuses UPDATE and DELETE in the database itself', async () => {
    const k = server.ctx.db.kysely;
    await expect(
      k.updateTable('ledger_entries').set({ summary: 'nothing happened' }).where('seq', '=', 2).execute(),
    ).rejects.toThrow(/immutable/);
    await expect(k.deleteFrom('ledger_entries').where('seq', '=', 2).execute()).rejects.toThrow(/immutable/);
  });

  it('detects an entry altered behind its back, and names it', async () => {
    const k = server.ctx.db.kysely;
    // An attacker with database access drops the guard first.
    if (engine === 'postgres') await sql`ALTER TABLE ledger_entries DISABLE TRIGGER ledger_immutable`.execute(k);
    else await sql`DROP TRIGGER ledger_no_update`.execute(k);
    await k.updateTable('ledger_entries').set({ summary: 'nothing happened' }).where('seq', '=', 3).execute();
    expect(await verifyLedger(k)).toMatchObject({ ok: false, brokenAt: 3, reason: 'entry was altered' });
  });
});
