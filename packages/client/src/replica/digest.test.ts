import { EMPTY_DIGEST, itemDigest, xorDigest } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';
import { replicaSummaries } from './digest.js';
import { createMemoryStore } from './memory-store.js';
import type { ItemRecord } from './store.js';

const item = (id: string, overrides: Partial<ItemRecord>): ItemRecord => ({
  id,
  collectionId: 'c1',
  content: { title: id, body: '' },
  contentType: 'text/markdown',
  blob: null,
  meta: null,
  hash: `h-${id}`,
  baseRevision: 1,
  baseHash: `h-${id}`,
  dirty: false,
  deleted: false,
  updatedAt: 1,
  ...overrides,
});

describe('replica digests', () => {
  it("summarises what the server acknowledged: base hashes of acknowledged collections' items", () => {
    const store = createMemoryStore();
    store.transaction((tx) => {
      const c = { type: 'notes' as const, name: 'n', description: '', color: null, deleted: false, updatedAt: 1 };
      tx.putCollection({ ...c, id: 'c1', revision: 1 });
      tx.putCollection({ ...c, id: 'c2', revision: 2 });
      tx.putCollection({ ...c, id: 'local-only', revision: null });
      tx.putItem(item('a', {}));
      tx.putItem(item('b', { hash: 'edited', dirty: true, baseHash: 'h-b' }));
      tx.putItem(item('new', { baseRevision: null, baseHash: null, dirty: true }));
      tx.putItem(item('gone', { deleted: true, baseHash: null }));
      tx.putItem(item('deleting', { deleted: true, dirty: true }));
    });
    const summaries = store.transaction((tx) => replicaSummaries(tx));
    expect([...summaries.keys()]).toEqual(['c1', 'c2']);
    const expected = ['a', 'b', 'deleting'].reduce((d, id) => xorDigest(d, itemDigest(id, `h-${id}`)), EMPTY_DIGEST);
    expect(summaries.get('c1')).toEqual({ count: 3, digest: expected });
    expect(summaries.get('c2')).toEqual({ count: 0, digest: EMPTY_DIGEST });
  });
});
