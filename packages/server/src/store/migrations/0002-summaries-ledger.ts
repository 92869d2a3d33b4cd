import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Engine } from '../database.js';

// Frozen copy of sync/summary-digest.ts as it was when this migration was written.
function itemDigest(itemId: string, hash: string): string {
  return createHash('sha256').update(`${itemId}\n${hash}`, 'utf8').digest('hex').slice(0, 32);
}

/**
 * Per-collection summaries (live item count and an order-independent digest),
 * kept up to date by every write so devices can compare cheaply; and the
 * incident ledger, an append-only hash chain of what happened to whose data.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  const bigint = engine === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .alterTable('collections')
    .addColumn('item_count', bigint, (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('collections')
    .addColumn('digest', 'text', (c) => c.notNull().defaultTo('0'.repeat(32)))
    .execute();

  // Existing data: compute the summaries once.
  const items = await sql<{ user_id: string; id: string; collection_id: string; content_hash: string | null }>`
    SELECT user_id, id, collection_id, content_hash FROM items WHERE deleted = 0`.execute(db);
  const totals = new Map<string, { userId: string; collectionId: string; count: number; digest: bigint }>();
  for (const item of items.rows) {
    const key = `${item.user_id}\n${item.collection_id}`;
    const total = totals.get(key) ?? { userId: item.user_id, collectionId: item.collection_id, count: 0, digest: 0n };
    total.count += 1;
    total.digest ^= BigInt(`0x${itemDigest(item.id, item.content_hash ?? '')}`);
    totals.set(key, total);
  }
  for (const total of totals.values()) {
    await sql`UPDATE collections SET item_count = ${total.count}, digest = ${total.digest.toString(16).padStart(32, '0')}
      WHERE user_id = ${total.userId} AND id = ${total.collectionId}`.execute(db);
  }

  await db.schema
    .createTable('ledger_entries')
    .addColumn('seq', bigint, (c) => c.primaryKey())
    .addColumn('at', bigint, (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ledger_entries_user').on('ledger_entries').columns(['user_id', 'seq']).execute();
  if (engine === 'postgres') {
    await sql`CREATE FUNCTION holdfast_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'ledger entries are immutable'; END; $$`.execute(db);
    await sql`CREATE TRIGGER ledger_immutable BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION holdfast_ledger_immutable()`.execute(db);
  } else {
    await sql`CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger_entries
      BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END`.execute(db);
    await sql`CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger_entries
      BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable'); END`.execute(db);
  }
}
