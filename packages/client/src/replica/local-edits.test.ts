import { vcard } from '@holdfast/test-support/harness';
import { describe, expect, it } from 'vitest';
import {
  createCollection,
  deleteCollection,
  deleteItem,
  type EditEnv,
  putItem,
  updateCollection,
} from './local-edits.js';
import { createMemoryStore } from './memory-store.js';
import type { ItemOutboxEntry, ReplicaStore } from './store.js';

function setup(): { store: ReplicaStore; env: EditEnv } {
  let n = 0;
  let clock = 1000;
  const env: EditEnv = { now: () => clock++, newId: () => `id-${++n}` };
  const store = createMemoryStore();
  store.transaction((tx) => createCollection(tx, env, { id: 'book', type: 'contacts', name: 'Contacts' }));
  return { store, env };
}

const items = (store: ReplicaStore) =>
  store.transaction((tx) => tx.listOutbox().filter((e): e is ItemOutboxEntry => e.entity === 'item'));

describe('local edits and the outbox', () => {
  it('writes an edit and its outbox entry together, or neither', () => {
    const { store, env } = setup();
    const item = store.transaction((tx) =>
      putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada') }),
    );
    expect(item).toMatchObject({ dirty: true, baseRevision: null, contentType: 'text/vcard' });
    expect(items(store)).toEqual([
      expect.objectContaining({ itemId: 'ada', op: 'put', content: vcard('ada', 'Ada'), attempts: 0 }),
    ]);
    expect(() =>
      store.transaction((tx) => {
        putItem(tx, env, { collectionId: 'book', itemId: 'bob', content: vcard('bob', 'Bob') });
        throw new Error('crash before commit');
      }),
    ).toThrow('crash');
    expect(store.transaction((tx) => tx.getItem('bob'))).toBeNull();
    expect(items(store)).toHaveLength(1);
  });

  it('refuses invalid content, unknown collections and bad ids without writing anything', () => {
    const { store, env } = setup();
    const attempt = (input: Parameters<typeof putItem>[2]) => () => store.transaction((tx) => putItem(tx, env, input));
    expect(attempt({ collectionId: 'book', itemId: 'x', content: { title: 'not a card' } })).toThrow(
      expect.objectContaining({ code: 'invalid_content' }),
    );
    expect(attempt({ collectionId: 'nope', itemId: 'x', content: vcard('x', 'X') })).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
    expect(attempt({ collectionId: 'book', itemId: 'a/b', content: vcard('x', 'X') })).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(items(store)).toEqual([]);
  });

  it('folds edits into an entry that was never sent', () => {
    const { store, env } = setup();
    store.transaction((tx) => putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada') }));
    store.transaction((tx) =>
      putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada L') }),
    );
    expect(items(store)).toEqual([expect.objectContaining({ op: 'put', content: vcard('ada', 'Ada L') })]);
    store.transaction((tx) => deleteItem(tx, env, 'ada'));
    expect(items(store)).toEqual([expect.objectContaining({ op: 'delete', content: null })]);
    expect(store.transaction((tx) => tx.getItem('ada'))).toMatchObject({
      deleted: true,
      dirty: true,
      content: vcard('ada', 'Ada L'),
    });
  });

  it('never changes an entry that may have reached the server: later edits queue behind it', () => {
    const { store, env } = setup();
    store.transaction((tx) => putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada') }));
    const [sent] = items(store);
    store.transaction((tx) => tx.updateOutbox({ ...(sent as ItemOutboxEntry), attempts: 1 }));
    store.transaction((tx) =>
      putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada 2') }),
    );
    store.transaction((tx) =>
      putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada 3') }),
    );
    const queue = items(store);
    expect(queue.map((e) => [e.clientChangeId, e.content, e.attempts])).toEqual([
      [sent?.clientChangeId, vcard('ada', 'Ada'), 1],
      [expect.any(String), vcard('ada', 'Ada 3'), 0],
    ]);
    expect(queue[1]?.clientChangeId).not.toBe(sent?.clientChangeId);
  });

  it('queues collection changes, folding those never sent', () => {
    const { store, env } = setup();
    store.transaction((tx) => updateCollection(tx, env, 'book', { name: 'Address book', color: '#112233' }));
    expect(store.transaction((tx) => tx.listOutbox())).toEqual([
      expect.objectContaining({
        entity: 'collection',
        op: 'create',
        fields: expect.objectContaining({ name: 'Address book', color: '#112233' }),
      }),
    ]);
    store.transaction((tx) => putItem(tx, env, { collectionId: 'book', itemId: 'ada', content: vcard('ada', 'Ada') }));
    store.transaction((tx) => deleteCollection(tx, env, 'book'));
    const queue = store.transaction((tx) => tx.listOutbox());
    expect(queue.map((e) => `${e.entity}:${e.op}`)).toEqual(['collection:delete', 'item:put']);
    expect(store.transaction((tx) => tx.getItem('ada'))?.deleted).toBe(true);
    expect(() =>
      store.transaction((tx) => putItem(tx, env, { collectionId: 'book', itemId: 'x', content: vcard('x', 'X') })),
    ).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('validates collection fields', () => {
    const { store, env } = setup();
    expect(() => store.transaction((tx) => createCollection(tx, env, { type: 'notes', name: '' }))).toThrow(
      expect.objectContaining({ code: 'invalid_request' }),
    );
    expect(() =>
      store.transaction((tx) => createCollection(tx, env, { type: 'notes', name: 'n', color: 'red' })),
    ).toThrow(expect.objectContaining({ code: 'invalid_request' }));
    expect(() =>
      store.transaction((tx) => createCollection(tx, env, { id: 'book', type: 'notes', name: 'n' })),
    ).toThrow(expect.objectContaining({ code: 'conflict' }));
  });
});
