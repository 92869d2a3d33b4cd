import { AppError } from '@holdfast/protocol';
import { CompiledQuery, type Insertable, type Kysely, type Transaction } from 'kysely';
import { type AccountInsertRows, insertAccountRows } from './account-state.js';
import type { Db, Engine } from './database.js';
import { GENESIS_CHAIN, nextChain } from './revision-chain.js';
import type { RevisionRow } from './revision-log.js';
import type { CollectionsTable, Database, ItemsTable, UsersTable } from './schema.js';

/** Everything a restore writes into an empty database, in one transaction. */
export interface RestoredRows {
  /** The account tables, or null when the backup carries none. */
  accounts: AccountInsertRows | null;
  /** Accounts made up for users the log names but no account state holds. */
  placeholderUsers: Insertable<UsersTable>[];
  revisions: RevisionRow[];
  collections: Insertable<CollectionsTable>[];
  items: Insertable<ItemsTable>[];
  /** The log head after the restore. */
  headSeq: number;
  /** Blobs already in the blob store, with the users who may read each. */
  blobs: { sha256: string; size: number; owners: Iterable<string> }[];
}

/**
 * Writes a restored log, its materialised heads, the account tables and the
 * blob index in one transaction (one commit, one fsync), in multi-row inserts
 * as large as the engine's limit on bound parameters allows. The log is
 * written as it was (sequence numbers included), so this bypasses the log
 * lock that live writers take: only for a database nothing else writes to.
 */
export async function writeRestoredRows(db: Db, rows: RestoredRows): Promise<void> {
  const revisions = chainRestored(rows.revisions);
  const now = Date.now();
  await db.kysely.transaction().execute(async (trx) => {
    const insert = (table: keyof Database, values: readonly object[], conflict?: string[]) =>
      insertMany(trx, db.engine, table, values, conflict ? { columns: conflict } : undefined);
    if (rows.accounts) await insertAccountRows(trx, rows.accounts);
    await insert('users', rows.placeholderUsers);
    await insert('revisions', revisions);
    await insert('collections', rows.collections);
    await insert('items', rows.items);
    await insert(
      'blobs',
      rows.blobs.map((b) => ({ sha256: b.sha256, size: b.size, created_at: now })),
      ['sha256'],
    );
    const access = rows.blobs.flatMap((b) =>
      [...b.owners].map((userId) => ({ user_id: userId, sha256: b.sha256, created_at: now })),
    );
    await insert('user_blobs', access, ['user_id', 'sha256']);
    // The head may be past the last revision kept (a snapshot holds only heads): it continues from that one.
    const lastChain = revisions.at(-1)?.chain ?? GENESIS_CHAIN;
    await trx
      .updateTable('log_head')
      .set({ last_seq: rows.headSeq, last_chain: lastChain })
      .where('id', '=', 1)
      .execute();
  });
}

/**
 * Bound parameters per statement: SQLite's SQLITE_MAX_VARIABLE_NUMBER (32766
 * since 3.32) and PostgreSQL's protocol limit (65535), with room to spare.
 */
const MAX_PARAMETERS: Record<Engine, number> = { sqlite: 32_000, postgres: 65_000 };
/** Rows per statement at most: preparing a statement costs in proportion to its text, once per connection. */
const MAX_ROWS = 500;

/** What to do with a row whose key is already there: keep the old row, or overwrite the listed columns. */
export interface OnConflict {
  columns: readonly string[];
  /** Columns set from the new row; none keeps the existing row. */
  update?: readonly string[];
}

/** Rows with every one of `columns`, in that order, absent ones null: insertMany's shape for rows whose optional columns vary. */
export function withEveryColumn<T extends object>(rows: readonly T[], columns: readonly (keyof T)[]): object[] {
  return rows.map((row) => {
    const out: Record<PropertyKey, unknown> = {};
    for (const c of columns) out[c] = row[c] ?? null;
    return out;
  });
}

/**
 * Inserts `rows` (objects with the same keys) into `table` in as few
 * statements as the parameter limit allows. The SQL is built here rather than
 * by the query builder: compiling each batch costs more than running it (a
 * restore's 100,000 rows, a push's rows in four tables), and every batch of
 * one size reuses one statement text, so one prepared statement (the SQLite
 * connection caches them by text).
 */
export async function insertMany(
  trx: Transaction<Database>,
  engine: Engine,
  table: keyof Database,
  rows: readonly object[],
  conflict?: OnConflict,
): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const columns = Object.keys(first);
  const perStatement = Math.max(1, Math.min(MAX_ROWS, Math.floor(MAX_PARAMETERS[engine] / columns.length)));
  const shape = statementShape(engine, table, columns, conflict);
  for (let start = 0; start < rows.length; start += perStatement) {
    const end = Math.min(rows.length, start + perStatement);
    const parameters: unknown[] = new Array((end - start) * columns.length);
    let n = 0;
    for (let r = start; r < end; r++) {
      const values = rows[r] as Record<string, unknown>;
      let keys = 0;
      for (const key in values) if (Object.hasOwn(values, key)) keys++;
      if (keys !== columns.length) throw new AppError('internal', `rows for ${table} differ in their columns`);
      for (const column of columns) {
        const value = values[column];
        if (value === undefined) throw new AppError('internal', `a row for ${table} has no ${column}`);
        parameters[n++] = value;
      }
    }
    await trx.executeQuery(CompiledQuery.raw(statementText(shape, end - start), parameters));
  }
}

interface StatementShape {
  key: string;
  engine: Engine;
  width: number;
  head: string;
  tail: string;
}

function statementShape(
  engine: Engine,
  table: string,
  columns: readonly string[],
  conflict: OnConflict | undefined,
): StatementShape {
  const quote = (name: string) => `"${name}"`;
  const head = `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values `;
  let tail = '';
  if (conflict) {
    const update = conflict.update ?? [];
    tail =
      ` on conflict (${conflict.columns.map(quote).join(', ')}) do ` +
      (update.length === 0
        ? 'nothing'
        : `update set ${update.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`);
  }
  return { key: `${engine}\u0000${head}${tail}`, engine, width: columns.length, head, tail };
}

/** Statement texts by shape and row count: a push builds the same few on every request. */
const texts = new Map<string, string>();
const MAX_TEXTS = 64;

function statementText(shape: StatementShape, count: number): string {
  const key = `${shape.key}\u0000${count}`;
  let text = texts.get(key);
  if (text !== undefined) return text;
  const tuples: string[] = [];
  for (let row = 0, n = 0; row < count; row++) {
    const slots: string[] = [];
    for (let c = 0; c < shape.width; c++) slots.push(shape.engine === 'postgres' ? `$${++n}` : '?');
    tuples.push(`(${slots.join(', ')})`);
  }
  text = shape.head + tuples.join(', ') + shape.tail;
  if (texts.size >= MAX_TEXTS) texts.delete(texts.keys().next().value as string);
  texts.set(key, text);
  return text;
}

const engines = new WeakMap<object, Engine>();

/** Which engine a connection or transaction talks to, from how it writes a bound parameter (once per dialect). */
export function engineOf(on: Kysely<Database>): Engine {
  const adapter = on.getExecutor().adapter;
  let engine = engines.get(adapter);
  if (engine === undefined) {
    engine = on.selectFrom('log_head').select('id').where('id', '=', 1).compile().sql.includes('$1')
      ? 'postgres'
      : 'sqlite';
    engines.set(adapter, engine);
  }
  return engine;
}

/**
 * The restored log keeps the chain values the backup recorded, so it goes on
 * continuing the chain its targets witnessed; revisions from journals written
 * before the chain get theirs computed from the one before.
 */
function chainRestored(revisions: RevisionRow[]): RevisionRow[] {
  let chain = GENESIS_CHAIN;
  return revisions.map((row) => {
    // Rows that carry their chain are written as they are: no copy of each of a large restore's rows.
    if (row.chain !== '') {
      chain = row.chain;
      return row;
    }
    chain = nextChain(chain, row);
    return { ...row, chain };
  });
}
