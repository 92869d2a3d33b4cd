import { type Insertable, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import { engineOf, insertMany, withEveryColumn } from './bulk-restore.js';
import { compiledOnce } from './compiled-once.js';
import { executor, type Queryable } from './queryable.js';
import type { ContactSearchTable, Database } from './schema.js';

export type ContactSearchRow = Selectable<ContactSearchTable>;

const CHUNK = 400;

/** The `meta` key recording which version of the index the rows were made by. */
export const CONTACT_SEARCH_META = 'contact_search';

const CONTACT_COLUMNS = [
  'user_id',
  'item_id',
  'collection_id',
  'seq',
  'name',
  'sort_key',
  'nicknames',
  'phones',
  'emails',
  'organization',
  'search_text',
  'phone_digits',
  'fields',
] as const;

function contactUpsert(db: Kysely<Database>, rows: Insertable<ContactSearchTable>[]) {
  return db
    .insertInto('contact_search')
    .values(rows)
    .onConflict((oc) =>
      oc.columns(['user_id', 'item_id']).doUpdateSet((eb) => ({
        collection_id: eb.ref('excluded.collection_id'),
        seq: eb.ref('excluded.seq'),
        name: eb.ref('excluded.name'),
        sort_key: eb.ref('excluded.sort_key'),
        nicknames: eb.ref('excluded.nicknames'),
        phones: eb.ref('excluded.phones'),
        emails: eb.ref('excluded.emails'),
        organization: eb.ref('excluded.organization'),
        search_text: eb.ref('excluded.search_text'),
        phone_digits: eb.ref('excluded.phone_digits'),
        fields: eb.ref('excluded.fields'),
      })),
    );
}

// A DAV PUT of a contact writes one row: compiled once.
const oneContactUpsert = compiledOnce<never, unknown[]>((db, slots) =>
  contactUpsert(db, [
    Object.fromEntries(CONTACT_COLUMNS.map((c, i) => [c, slots[i]])) as Insertable<ContactSearchTable>,
  ]),
);

/** Inserts rows or replaces them (a contact's new head). */
export async function upsertContactRows(
  trx: Transaction<Database>,
  rows: Insertable<ContactSearchTable>[],
): Promise<void> {
  if (rows.length === 1) {
    const row = rows[0] as Insertable<ContactSearchTable>;
    await oneContactUpsert(trx, ...CONTACT_COLUMNS.map((c) => row[c] ?? null));
    return;
  }
  // Every column, in one order: each batch size is one statement text, built and prepared once.
  const full = withEveryColumn(rows, CONTACT_COLUMNS);
  await insertMany(trx, engineOf(trx), 'contact_search', full, {
    columns: ['user_id', 'item_id'],
    update: CONTACT_COLUMNS.filter((c) => c !== 'user_id' && c !== 'item_id'),
  });
}

/** Removes the rows of items that are no longer live contacts. */
export async function deleteContactRows(trx: Transaction<Database>, userId: string, itemIds: string[]): Promise<void> {
  const unique = [...new Set(itemIds)];
  for (let i = 0; i < unique.length; i += CHUNK) {
    await trx
      .deleteFrom('contact_search')
      .where('user_id', '=', userId)
      .where('item_id', 'in', unique.slice(i, i + CHUNK))
      .execute();
  }
}

/** Removes every row of one user (before they are made again), or of everyone. */
export async function clearContactRows(trx: Transaction<Database>, userId?: string): Promise<void> {
  let query = trx.deleteFrom('contact_search');
  if (userId !== undefined) query = query.where('user_id', '=', userId);
  await query.execute();
}

/** The live contacts' head revisions of one user, in item id order after `after` (what the rows are made from). */
export async function liveContactHeads(
  on: Queryable,
  userId: string,
  options: { after: string; limit: number },
): Promise<{ id: string; collection_id: string; head_seq: number; content: string | null }[]> {
  return executor(on)
    .selectFrom('items')
    .innerJoin('collections', (join) =>
      join.onRef('collections.user_id', '=', 'items.user_id').onRef('collections.id', '=', 'items.collection_id'),
    )
    .innerJoin('revisions', 'revisions.seq', 'items.head_seq')
    .select([
      'items.id as id',
      'items.collection_id as collection_id',
      'items.head_seq as head_seq',
      'revisions.content',
    ])
    .where('items.user_id', '=', userId)
    .where('items.deleted', '=', 0)
    .where('collections.type', '=', 'contacts')
    .where('items.id', '>', options.after)
    .orderBy('items.id')
    .limit(options.limit)
    .execute();
}

/** Every user id, for a full rebuild. */
export async function allUserIds(on: Queryable): Promise<string[]> {
  return (await executor(on).selectFrom('users').select('id').orderBy('id').execute()).map((r) => r.id);
}

/** `%` and `_` are wildcards to LIKE; a query means them literally. */
function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export interface ContactSearch {
  /** Each must occur in the row's search text (already normalised). */
  tokens: string[];
  /** Digits that, when given, may instead occur in one of the row's phone numbers. */
  digits: string | null;
  /** The (sort key, item id) the previous page ended at. */
  after: { key: string; id: string } | null;
  limit: number;
}

/** One page of a user's contacts in name order, matching the search (all of them when it has no tokens). */
export async function searchContactRows(on: Queryable, userId: string, search: ContactSearch) {
  let query = executor(on)
    .selectFrom('contact_search')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy('sort_key')
    .orderBy('item_id')
    .limit(search.limit);
  if (search.tokens.length > 0 || search.digits) {
    query = query.where((eb) => {
      const anyOf = [];
      if (search.tokens.length > 0)
        anyOf.push(
          eb.and(
            search.tokens.map((t) => sql<boolean>`${sql.ref('search_text')} like ${likeContaining(t)} escape '\\'`),
          ),
        );
      if (search.digits) anyOf.push(sql<boolean>`${sql.ref('phone_digits')} like ${likeContaining(search.digits)}`);
      return eb.or(anyOf);
    });
  }
  const after = search.after;
  if (after) {
    query = query.where((eb) =>
      eb.or([eb('sort_key', '>', after.key), eb.and([eb('sort_key', '=', after.key), eb('item_id', '>', after.id)])]),
    );
  }
  return query.execute();
}

/** Records that every row was made by index version `version`. */
export async function writeContactSearchVersion(trx: Transaction<Database>, version: string): Promise<void> {
  await trx
    .insertInto('meta')
    .values({ key: CONTACT_SEARCH_META, value: version })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: version }))
    .execute();
}

/** The field counts of each of a user's indexed contacts, as stored (JSON). */
export async function contactFieldCounts(on: Queryable, userId: string): Promise<string[]> {
  const rows = await executor(on).selectFrom('contact_search').select('fields').where('user_id', '=', userId).execute();
  return rows.map((r) => r.fields);
}
