import { vcard } from '@holdfast/test-support/harness';
import { createAccount, device, type LiveServer, startLiveServer } from '@holdfast/test-support/live-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MassChangeEvent } from '../client-events.js';

describe('a device whose deletions the server refuses as a mass change', () => {
  let live: LiveServer;
  beforeAll(async () => {
    live = await startLiveServer('sqlite');
  });
  afterAll(async () => live?.close());

  it('stops the sync, keeps the deletions queued and asks; once confirmed, sends them with the flag', async () => {
    const account = await createAccount(live);
    const phone = await device(live, account);
    // The laptop's own guard would stop it from taking the deletions in; this test is about the phone.
    const laptop = await device(live, account, { backend: 'memory', massChange: { minItems: 1000, ratio: 1 } });
    const book = phone.createCollection({ type: 'contacts', name: 'Book' });
    for (let i = 0; i < 100; i++) phone.createItem(book.id, vcard(`p${i}`, `Person ${i}`), { id: `p${i}` });
    await phone.sync();
    for (let i = 0; i < 80; i++) phone.deleteItem(`p${i}`);

    const events: MassChangeEvent[] = [];
    phone.on('massChange', (event) => events.push(event));
    const stopped = await phone.sync();
    expect(stopped.massChange).toMatchObject({
      direction: 'push',
      collectionId: book.id,
      deletes: 80,
      liveItems: 100,
      limit: 50,
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ direction: 'push', collectionId: book.id, deletes: 80 });
    expect(phone.status().pendingChanges).toBe(80);
    await laptop.sync();
    expect(laptop.listItems(book.id)).toHaveLength(100);

    const confirmed = await (events[0] as MassChangeEvent).confirm();
    expect(confirmed).toMatchObject({ massChange: null, pushed: 80 });
    expect(phone.status().pendingChanges).toBe(0);
    await laptop.sync();
    expect(laptop.listItems(book.id)).toHaveLength(20);
    const kinds = (await live.ctx().db.kysely.selectFrom('ledger_entries').select('kind').execute()).map((e) => e.kind);
    expect(kinds).toEqual(['mass_change_blocked', 'mass_change_confirmed']);
  });
});
