import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_DIGEST, itemDigest, xorDigest } from '@holdfast/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replicaSummaries } from './digest.js';
import type { CollectionRecord, ConflictRecord, ItemRecord, NewOutboxEntry, ReplicaStore, ReplicaTx } from './store.js';

/** Makes a fresh, empty store for one test and says how to dispose of it. */
export type StoreFactory = () => Promise<{ store: ReplicaStore; dispose: () => Promise<void> }>;

const collection = (id: string, overrides: Partial<CollectionRecord> = {}): CollectionRecord => ({
  id,
  type: 'contacts',
  name: `Collection ${id}`,
  description: '',
  color: null,
  revision: null,
  deleted: false,
  updatedAt: 1,
  ...overrides,
});

const item = (id: string, overrides: Partial<ItemRecord> = {}): ItemRecord => ({
  id,
  collectionId: 'c1',
  content: `BEGIN:VCARD\r\nVERSION:4.0\r\nFN:${id}\r\nEND:VCARD\r\n`,
  contentType: 'text/vcard',
  blob: null,
  meta: null,
  hash: `hash-${id}`,
  baseRevision: null,
  baseHash: null,
  dirty: false,
  deleted: false,
  updatedAt: 1,
  ...overrides,
});

const put = (itemId: string, content: unknown = { title: itemId, body: '' }): NewOutboxEntry => ({
  entity: 'item',
  op: 'put',
  clientChangeId: `cc-${itemId}-${Math.random()}`,
  collectionId: 'c1',
  itemId,
  content,
  blob: null,
  attempts: 0,
  status: 'pending',
  error: null,
  createdAt: 1,
});

const conflict = (id: string, itemId: string, createdAt: number): ConflictRecord => ({
  id,
  itemId,
  collectionId: 'c1',
  kind: 'last_writer_wins',
  winner: 'remote',
  losingContent: { title: 'lost', body: 'kept here' },
  fields: [],
  remoteRevision: 7,
  createdAt,
});

/**
 * The behaviour every `ReplicaStore` backend must have. Each backend's test
 * file calls this once; a new backend is done when it passes.
 */
export function describeReplicaStoreContract(name: string, factory: StoreFactory): void {
  describe(`ReplicaStore contract: ${name}`, () => {
    let store: ReplicaStore;
    let dispose: () => Promise<void>;

    beforeEach(async () => {
      ({ store, dispose } = await factory());
    });
    afterEach(async () => {
      store.close();
      await dispose();
    });

    it('starts empty and merges state patches', () => {
      const state = store.transaction((tx) => tx.getState());
      expect(state).toMatchObject({ token: null, cursor: null, generation: null, reseed: null });
      store.transaction((tx) => tx.setState({ cursor: 'abc', generation: 'g1' }));
      store.transaction((tx) => tx.setState({ token: 'secret' }));
      expect(store.transaction((tx) => tx.getState())).toMatchObject({
        cursor: 'abc',
        generation: 'g1',
        token: 'secret',
      });
      store.transaction((tx) =>
        tx.setState({
          cursor: null,
          pendingMassChange: { deletes: 1, blanks: 2, liveItems: 3, limit: 4, detectedAt: 5 },
        }),
      );
      const after = store.transaction((tx) => tx.getState());
      expect(after.cursor).toBeNull();
      expect(after.generation).toBe('g1');
      expect(after.pendingMassChange).toEqual({ deletes: 1, blanks: 2, liveItems: 3, limit: 4, detectedAt: 5 });
    });

    it('round-trips collections and items exactly, in id order', () => {
      const note = item('n1', {
        collectionId: 'c2',
        content: { title: 'Ünïcødé ✓', body: 'line\r\nbreaks\u2028and \ud83d\ude00' },
        contentType: 'text/markdown',
        meta: { title: 'x', nested: [1, null, { a: true }] },
        blob: { sha256: 'a'.repeat(64), contentType: 'image/png' },
        baseRevision: 42,
        baseHash: 'h42',
        dirty: true,
        updatedAt: 1_700_000_000_123,
      });
      store.transaction((tx) => {
        tx.putCollection(collection('c2', { type: 'notes', color: '#aabbcc', revision: 9 }));
        tx.putCollection(collection('c1'));
        tx.putItem(item('b'));
        tx.putItem(note);
        tx.putItem(item('a', { deleted: true, content: null, hash: null }));
      });
      store.transaction((tx) => {
        expect(tx.listCollections().map((c) => c.id)).toEqual(['c1', 'c2']);
        expect(tx.getCollection('c2')).toEqual(collection('c2', { type: 'notes', color: '#aabbcc', revision: 9 }));
        expect(tx.getCollection('nope')).toBeNull();
        expect(tx.getItem('n1')).toEqual(note);
        expect(tx.getItem('b')).toEqual(item('b'));
        expect(tx.getItem('a')).toEqual(item('a', { deleted: true, content: null, hash: null }));
        expect(tx.getItem('missing')).toBeNull();
      });
    });

    it('lists and counts items by collection, deletion and page', () => {
      store.transaction((tx) => {
        for (const id of ['e', 'a', 'd', 'b', 'c']) tx.putItem(item(id, { collectionId: id < 'c' ? 'c1' : 'c2' }));
        tx.putItem(item('f', { deleted: true }));
      });
      store.transaction((tx) => {
        expect(tx.listItems().map((i) => i.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(tx.listItems({ includeDeleted: true }).map((i) => i.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
        expect(tx.listItems({ collectionId: 'c2' }).map((i) => i.id)).toEqual(['c', 'd', 'e']);
        expect(tx.listItems({ afterId: 'b', limit: 2 }).map((i) => i.id)).toEqual(['c', 'd']);
        expect(tx.countItems()).toBe(5);
        expect(tx.countItems({ includeDeleted: true })).toBe(6);
        expect(tx.countItems({ collectionId: 'c1' })).toBe(2);
        expect(tx.countItems({ collectionId: 'c1', includeDeleted: true })).toBe(3);
      });
    });

    it('keeps counts and summaries in step with every item write, rolled-back ones left out', () => {
      // What counting and summarising every item gives; a store's kept tallies (if it has them) must agree.
      const scanned = (tx: ReplicaTx) => {
        const out = new Map<string, { live: number; acked: number; digest: string }>();
        for (const it of tx.listItems({ includeDeleted: true })) {
          const tally = out.get(it.collectionId) ?? { live: 0, acked: 0, digest: EMPTY_DIGEST };
          if (!it.deleted) tally.live++;
          if (it.baseHash !== null) {
            tally.acked++;
            tally.digest = xorDigest(tally.digest, itemDigest(it.id, it.baseHash));
          }
          out.set(it.collectionId, tally);
        }
        for (const [id, tally] of out) if (tally.live === 0 && tally.acked === 0) out.delete(id);
        return out;
      };
      const check = () =>
        store.transaction((tx) => {
          const expected = scanned(tx);
          if (tx.itemTallies) expect(tx.itemTallies()).toEqual(expected);
          let live = 0;
          for (const [id, tally] of expected) {
            expect(tx.countItems({ collectionId: id })).toBe(tally.live);
            live += tally.live;
          }
          expect(tx.countItems()).toBe(live);
          const summaries = replicaSummaries(tx);
          expect([...summaries.keys()]).toEqual(['c1', 'c2']);
          for (const [id, summary] of summaries) {
            expect(summary).toEqual({
              count: expected.get(id)?.acked ?? 0,
              digest: expected.get(id)?.digest ?? EMPTY_DIGEST,
            });
          }
        });
      store.transaction((tx) => {
        tx.putCollection(collection('c1', { revision: 1 }));
        tx.putCollection(collection('c2', { revision: 2 }));
        tx.putItem(item('a', { baseHash: 'h1' }));
        tx.putItem(item('b', { baseHash: 'h2' }));
        tx.putItem(item('c', { collectionId: 'c2', baseHash: null, dirty: true }));
        // Visible to the same transaction before it commits.
        expect(tx.countItems()).toBe(3);
      });
      check();
      store.transaction((tx) => {
        tx.putItem(item('a', { baseHash: 'h1b', hash: 'h1b' })); // a pulled edit
        tx.putItem(item('b', { deleted: true, baseHash: null, content: null, hash: null })); // a tombstone
        tx.putItem(item('c', { collectionId: 'c2', baseHash: 'h3' })); // acknowledged
        tx.putItem(item('d', { collectionId: 'c2', deleted: true, baseHash: 'h4' })); // deleted locally, unsent
      });
      check();
      expect(() =>
        store.transaction((tx) => {
          tx.putItem(item('e', { baseHash: 'h5' }));
          tx.putItem(item('a', { collectionId: 'c2', baseHash: 'h6' }));
          expect(tx.countItems({ collectionId: 'c1' })).toBe(1);
          throw new Error('roll back');
        }),
      ).toThrow('roll back');
      check();
      store.transaction((tx) => {
        tx.putItem(item('a', { collectionId: 'c2', baseHash: 'h1b' })); // moved between collections
        tx.clearBaseRevisions();
      });
      check();
      expect(store.transaction((tx) => tx.countItems({ collectionId: 'c1' }))).toBe(0);
    });

    it('commits all of a transaction or, if it throws, none of it', () => {
      store.transaction((tx) => tx.putItem(item('keep')));
      expect(() =>
        store.transaction((tx) => {
          tx.putItem(item('keep', { hash: 'changed' }));
          tx.putItem(item('new'));
          tx.putCollection(collection('c9'));
          tx.appendOutbox(put('new'));
          tx.addConflict(conflict('k1', 'new', 1));
          tx.setState({ cursor: 'moved' });
          tx.clearBaseRevisions();
          throw new Error('boom');
        }),
      ).toThrow('boom');
      store.transaction((tx) => {
        expect(tx.getItem('keep')?.hash).toBe('hash-keep');
        expect(tx.getItem('new')).toBeNull();
        expect(tx.getCollection('c9')).toBeNull();
        expect(tx.countOutbox()).toBe(0);
        expect(tx.listConflicts()).toEqual([]);
        expect(tx.getState().cursor).toBeNull();
      });
    });

    it('shows a transaction its own writes before it commits', () => {
      store.transaction((tx) => {
        tx.putItem(item('x', { baseRevision: 3 }));
        expect(tx.getItem('x')?.baseRevision).toBe(3);
        expect(tx.countItems()).toBe(1);
        const entry = tx.appendOutbox(put('x'));
        expect(tx.listOutbox({ itemId: 'x' }).map((e) => e.seq)).toEqual([entry.seq]);
        tx.removeOutbox(entry.seq);
        expect(tx.countOutbox()).toBe(0);
        tx.setState({ generation: 'g2' });
        expect(tx.getState().generation).toBe('g2');
        tx.clearBaseRevisions();
        expect(tx.getItem('x')?.baseRevision).toBeNull();
      });
    });

    it('refuses nested and asynchronous transactions, writing nothing', async () => {
      expect(() => store.transaction(() => store.transaction(() => 1))).toThrow(/nest/);
      expect(() =>
        store.transaction(async (tx) => {
          tx.putItem(item('async'));
        }),
      ).toThrow(/synchronous/);
      // The store stays usable and the asynchronous body's write is gone.
      await new Promise((r) => setTimeout(r, 5));
      expect(store.transaction((tx) => tx.getItem('async'))).toBeNull();
    });

    it('hands out copies: changing a returned record changes nothing stored', () => {
      store.transaction((tx) => tx.putItem(item('c', { content: { title: 't', body: 'b' } })));
      const read = store.transaction((tx) => tx.getItem('c')) as ItemRecord;
      (read.content as { title: string }).title = 'mutated';
      read.hash = 'mutated';
      expect(store.transaction((tx) => tx.getItem('c'))).toMatchObject({ content: { title: 't' }, hash: 'hash-c' });
    });

    it('numbers outbox entries in increasing order and never reuses a number', () => {
      const seqs = store.transaction((tx) => [tx.appendOutbox(put('a')), tx.appendOutbox(put('b'))].map((e) => e.seq));
      expect(seqs[1]).toBeGreaterThan(seqs[0] as number);
      store.transaction((tx) => tx.removeOutbox(seqs[1] as number));
      const next = store.transaction((tx) => tx.appendOutbox(put('c')).seq);
      expect(next).toBeGreaterThan(seqs[1] as number);
      expect(() =>
        store.transaction((tx) => {
          tx.appendOutbox(put('rolled-back'));
          throw new Error('no');
        }),
      ).toThrow('no');
      const after = store.transaction((tx) => tx.appendOutbox(put('d')).seq);
      expect(after).toBeGreaterThan(next);
    });

    it('updates, filters and counts outbox entries in seq order', () => {
      const [a, b] = store.transaction((tx) => [tx.appendOutbox(put('a')), tx.appendOutbox(put('b'))]);
      const collectionEntry: NewOutboxEntry = {
        entity: 'collection',
        op: 'create',
        clientChangeId: 'cc-col',
        collectionId: 'c7',
        itemId: null,
        fields: { type: 'notes', name: 'Notes', description: 'd', color: '#000000' },
        attempts: 0,
        status: 'pending',
        error: null,
        createdAt: 2,
      };
      store.transaction((tx) => {
        tx.appendOutbox(collectionEntry);
        if (a?.entity !== 'item') throw new Error('expected an item entry');
        tx.updateOutbox({ ...a, attempts: 2, status: 'rejected', error: { code: 'invalid_content', message: 'bad' } });
      });
      store.transaction((tx) => {
        const all = tx.listOutbox();
        expect(all.map((e) => e.itemId)).toEqual(['a', 'b', null]);
        expect(all[0]).toMatchObject({ attempts: 2, status: 'rejected', error: { code: 'invalid_content' } });
        expect(all[2]).toEqual({ ...collectionEntry, seq: all[2]?.seq });
        expect(tx.listOutbox({ status: 'pending' }).map((e) => e.itemId)).toEqual(['b', null]);
        expect(tx.listOutbox({ itemId: 'b' })).toEqual([b]);
        expect(tx.listOutbox({ collectionId: 'c7' }).map((e) => e.clientChangeId)).toEqual(['cc-col']);
        expect(tx.listOutbox({ afterSeq: a?.seq, limit: 1 }).map((e) => e.itemId)).toEqual(['b']);
        expect(tx.countOutbox()).toBe(3);
        expect(tx.countOutbox('rejected')).toBe(1);
        expect(() => tx.updateOutbox({ ...(b as NonNullable<typeof b>), seq: 999_999 })).toThrow();
      });
    });

    it('keeps conflict records until removed', () => {
      store.transaction((tx) => {
        tx.addConflict(conflict('k2', 'x', 20));
        tx.addConflict(conflict('k1', 'x', 10));
        tx.addConflict(conflict('k3', 'y', 30));
      });
      expect(store.transaction((tx) => tx.listConflicts()).map((c) => c.id)).toEqual(['k1', 'k2', 'k3']);
      expect(store.transaction((tx) => tx.listConflicts('y'))).toEqual([conflict('k3', 'y', 30)]);
      store.transaction((tx) => tx.removeConflict('k1'));
      expect(store.transaction((tx) => tx.listConflicts()).map((c) => c.id)).toEqual(['k2', 'k3']);
    });

    it('writes a recovery snapshot without the device token', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'holdfast-snapshot-'));
      try {
        store.transaction((tx) => {
          tx.setState({ token: 'device-token-secret', cursor: 'cur' });
          tx.putItem(item('snap'));
        });
        const path = await store.snapshot(dir);
        expect(path.startsWith(dir)).toBe(true);
        expect((await stat(path)).size).toBeGreaterThan(0);
        expect((await readFile(path)).includes('device-token-secret')).toBe(false);
        // The live replica keeps its token.
        expect(store.transaction((tx) => tx.getState().token)).toBe('device-token-secret');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('stores blobs only under the hash of their bytes', async () => {
      const bytes = new TextEncoder().encode('a photo, honestly');
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(await store.blobs.has(sha)).toBe(false);
      expect(await store.blobs.read(sha)).toBeNull();
      await expect(store.blobs.write('0'.repeat(64), bytes)).rejects.toMatchObject({ code: 'hash_mismatch' });
      expect(await store.blobs.has('0'.repeat(64))).toBe(false);
      async function* chunks() {
        yield bytes.slice(0, 3);
        yield bytes.slice(3);
      }
      expect(await store.blobs.write(sha, chunks())).toBe(bytes.length);
      expect(await store.blobs.has(sha)).toBe(true);
      expect(Buffer.from((await store.blobs.read(sha)) ?? [])).toEqual(Buffer.from(bytes));
    });
  });
}
