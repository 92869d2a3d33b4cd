import { openScratchDatabase } from '@holdfast/test-support/scratch-database';
import { afterEach, describe, expect, it } from 'vitest';
import { writeRestoredRows } from './bulk-restore.js';
import type { Db } from './database.js';
import { migrateToLatest } from './migrate.js';
import { GENESIS_CHAIN, nextChain } from './revision-chain.js';
import type { RevisionRow } from './revision-log.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function emptyDatabase(engine: 'sqlite' | 'postgres'): Promise<Db> {
  const { db, dispose } = await openScratchDatabase(engine);
  cleanups.push(dispose);
  await migrateToLatest(db);
  return db;
}

// More rows than one statement takes on either engine, and a count that leaves a partial last statement.
const ITEMS = 4_321;

function revision(seq: number): RevisionRow {
  const collection = seq === 1;
  return {
    seq,
    user_id: 'u1',
    entity: collection ? 'collection' : 'item',
    op: 'put',
    collection_id: 'c1',
    item_id: collection ? null : `item-${seq}`,
    device_id: null,
    origin: 'api',
    content_type: 'application/json',
    content: collection ? '{"type":"notes","name":"Notes"}' : JSON.stringify({ title: `note ${seq}`, quote: "it's" }),
    blob_sha256: null,
    blob_content_type: null,
    meta: null,
    content_hash: collection ? null : `hash-${seq}`,
    size: seq * 3,
    base_seq: null,
    client_change_id: `change-${seq}`,
    created_at: 1_700_000_000_000 + seq,
    chain: '',
  };
}

describe.each(['sqlite', 'postgres'] as const)('writeRestoredRows on %s', (engine) => {
  it('writes every row and column of a restore larger than one statement, and chains the log', async () => {
    const db = await emptyDatabase(engine);
    const revisions = Array.from({ length: ITEMS + 1 }, (_, i) => revision(i + 1));
    const items = revisions.slice(1).map((row) => ({
      user_id: 'u1',
      id: row.item_id as string,
      collection_id: 'c1',
      head_seq: row.seq,
      deleted: 0,
      content_hash: row.content_hash,
      size: row.size,
      created_at: row.created_at,
      updated_at: row.created_at,
    }));
    const blobs = Array.from({ length: 2_500 }, (_, i) => ({
      sha256: i.toString(16).padStart(64, '0'),
      size: i,
      owners: ['u1'],
    }));
    await writeRestoredRows(db, {
      accounts: null,
      placeholderUsers: [
        { id: 'u1', username: 'restored-u1', password_hash: '!', disabled: 1, created_at: 1, updated_at: 1 },
      ],
      revisions,
      collections: [
        {
          user_id: 'u1',
          id: 'c1',
          type: 'notes',
          name: 'Notes',
          description: '',
          color: null,
          deleted: 0,
          head_seq: 1,
          item_count: ITEMS,
          digest: 'd',
          created_at: 1,
          updated_at: 1,
        },
      ],
      items,
      headSeq: ITEMS + 10,
      blobs,
    });

    const stored = await db.kysely.selectFrom('revisions').selectAll().orderBy('seq').execute();
    let chain = GENESIS_CHAIN;
    const expected = revisions.map((row) => {
      chain = nextChain(chain, row);
      return { ...row, chain };
    });
    expect(stored).toEqual(expected);
    expect(await db.kysely.selectFrom('items').selectAll().orderBy('head_seq').execute()).toEqual(items);
    const blobCount = await db.kysely
      .selectFrom('blobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    expect(Number(blobCount?.n)).toBe(blobs.length);
    const access = await db.kysely
      .selectFrom('user_blobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirst();
    expect(Number(access?.n)).toBe(blobs.length);
    const head = await db.kysely.selectFrom('log_head').selectAll().executeTakeFirstOrThrow();
    expect(head).toMatchObject({ last_seq: ITEMS + 10, last_chain: chain });
  });
});
