import { describe, expect, it } from 'vitest';
import { createClient } from './client.js';
import { createMemoryStore } from './replica/memory-store.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('ids a device makes', () => {
  it('are time-ordered (UUID version 7) for new collections, items and changes, in the order they were made', () => {
    const client = createClient({ store: createMemoryStore() });
    const book = client.createCollection({ type: 'contacts', name: 'Contacts' });
    const items = Array.from({ length: 50 }, (_, i) =>
      client.createItem(book.id, `BEGIN:VCARD\r\nVERSION:4.0\r\nUID:u${i}\r\nFN:n${i}\r\nEND:VCARD\r\n`),
    );
    expect(book.id).toMatch(V7);
    const itemIds = items.map((item) => item.id);
    for (const id of itemIds) expect(id).toMatch(V7);
    expect([...itemIds].sort()).toEqual(itemIds);
    // The server keys its receipts by these, so they grow the same way.
    const changeIds = client.outbox().map((entry) => entry.clientChangeId);
    expect(changeIds).toHaveLength(51);
    for (const id of changeIds) expect(id).toMatch(V7);
    expect([...changeIds].sort()).toEqual(changeIds);
  });
});
