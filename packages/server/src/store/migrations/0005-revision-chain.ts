import { type Kysely, sql } from 'kysely';
import type { Engine } from '../database.js';
import { type ChainedFields, GENESIS_CHAIN, nextChain } from '../revision-chain.js';

const PAGE = 500;

/**
 * Chains the revision log (store/revision-chain.ts): `revisions.chain` and
 * `log_head.last_chain`, backfilled for the revisions already there. The
 * immutability trigger on UPDATE is dropped for the backfill and created
 * again in the same migration, which runs in one transaction, so no other
 * writer ever sees the log mutable.
 */
export async function up(db: Kysely<unknown>, engine: Engine): Promise<void> {
  await db.schema.alterTable('revisions').addColumn('chain', 'text').execute();
  await db.schema
    .alterTable('log_head')
    .addColumn('last_chain', 'text', (c) => c.notNull().defaultTo(GENESIS_CHAIN))
    .execute();

  if (engine === 'postgres') await sql`DROP TRIGGER revisions_immutable ON revisions`.execute(db);
  else await sql`DROP TRIGGER revisions_no_update`.execute(db);

  let chain = GENESIS_CHAIN;
  let after = 0;
  for (;;) {
    const rows = (
      await sql<ChainedFields>`SELECT * FROM revisions WHERE seq > ${after} ORDER BY seq LIMIT ${PAGE}`.execute(db)
    ).rows;
    for (const row of rows) {
      chain = nextChain(chain, row);
      await sql`UPDATE revisions SET chain = ${chain} WHERE seq = ${row.seq}`.execute(db);
    }
    if (rows.length < PAGE) break;
    after = Number(rows[rows.length - 1]?.seq);
  }
  await sql`UPDATE log_head SET last_chain = ${chain} WHERE id = 1`.execute(db);

  if (engine === 'postgres') {
    await sql`CREATE TRIGGER revisions_immutable BEFORE UPDATE OR DELETE ON revisions
      FOR EACH ROW EXECUTE FUNCTION holdfast_revisions_immutable()`.execute(db);
  } else {
    await sql`CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
      BEGIN SELECT RAISE(ABORT, 'revisions are immutable'); END`.execute(db);
  }
}
