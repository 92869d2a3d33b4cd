import { EMPTY_DIGEST, itemDigest, xorDigest } from '@holdfast/protocol';
import type { Insertable, Transaction } from 'kysely';
import type { AccountInsertRows } from './account-state.js';
import type { RevisionRow } from './revision-log.js';
import type { CollectionsTable, Database, ItemsTable, PushReceiptsTable, UsersTable } from './schema.js';

const CHUNK = 200;

async function inChunks<T>(list: T[], size: number, write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < list.length; i += size) await write(list.slice(i, i + size));
}

/**
 * Adds the account rows the database lacks, inside `trx`, users first. Rows
 * already there are kept as they are (conflicts are skipped), except that
 * credentials revoked in `rows` are revoked here too and a user whose row in
 * `rows` is newer takes its password and disabled flag from it.
 * `placeholders` are only inserted, for users neither has.
 */
export async function mergeAccountRows(
  trx: Transaction<Database>,
  rows: AccountInsertRows | null,
  placeholders: Insertable<UsersTable>[],
): Promise<void> {
  await inChunks([...(rows?.users ?? []), ...placeholders], CHUNK, (chunk) =>
    trx
      .insertInto('users')
      .values(chunk)
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
  if (!rows) return;
  for (const user of rows.users) {
    await trx
      .updateTable('users')
      .set({ password_hash: user.password_hash, disabled: user.disabled, updated_at: user.updated_at })
      .where('id', '=', user.id)
      .where('updated_at', '<', user.updated_at)
      .execute();
  }
  await inChunks(rows.devices, CHUNK, (chunk) =>
    trx
      .insertInto('devices')
      .values(chunk)
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
  await inChunks(rows.app_passwords, CHUNK, (chunk) =>
    trx
      .insertInto('app_passwords')
      .values(chunk)
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
  await inChunks(rows.dav_names, CHUNK, (chunk) =>
    trx
      .insertInto('dav_names')
      .values(chunk)
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
  await inChunks(rows.imports, CHUNK, (chunk) =>
    trx
      .insertInto('imports')
      .values(chunk)
      .onConflict((oc) => oc.doNothing())
      .execute(),
  );
  for (const [table, list] of [
    ['devices', rows.devices],
    ['app_passwords', rows.app_passwords],
  ] as const) {
    for (const row of list) {
      if (row.revoked_at === null || row.revoked_at === undefined) continue;
      await trx
        .updateTable(table)
        .set({ revoked_at: row.revoked_at })
        .where('id', '=', row.id as string)
        .where('revoked_at', 'is', null)
        .execute();
    }
  }
}

/** Appends revisions exactly as given (their seqs and chain values already checked by the caller). */
export async function insertLoggedRevisions(trx: Transaction<Database>, rows: RevisionRow[]): Promise<void> {
  await inChunks(rows, CHUNK, (chunk) => trx.insertInto('revisions').values(chunk).execute());
}

/** Inserts a collection row or replaces its fields, keeping its live count, digest and creation time. */
export async function upsertCollectionFields(
  trx: Transaction<Database>,
  row: Insertable<CollectionsTable>,
): Promise<void> {
  await trx
    .insertInto('collections')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['user_id', 'id']).doUpdateSet((eb) => ({
        type: eb.ref('excluded.type'),
        name: eb.ref('excluded.name'),
        description: eb.ref('excluded.description'),
        color: eb.ref('excluded.color'),
        deleted: eb.ref('excluded.deleted'),
        head_seq: eb.ref('excluded.head_seq'),
        updated_at: eb.ref('excluded.updated_at'),
      })),
    )
    .execute();
}

/** Moves item heads (new items keep the given creation time, existing ones their own). */
export async function upsertItemHeadRows(trx: Transaction<Database>, rows: Insertable<ItemsTable>[]): Promise<void> {
  await inChunks(rows, CHUNK, (chunk) =>
    trx
      .insertInto('items')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['user_id', 'id']).doUpdateSet((eb) => ({
          collection_id: eb.ref('excluded.collection_id'),
          head_seq: eb.ref('excluded.head_seq'),
          deleted: eb.ref('excluded.deleted'),
          content_hash: eb.ref('excluded.content_hash'),
          size: eb.ref('excluded.size'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute(),
  );
}

/** Records blobs and who may read them; rows already there are kept. */
export async function recordBlobRows(
  trx: Transaction<Database>,
  blobs: { sha256: string; size: number; owners: string[] }[],
  now: number,
): Promise<void> {
  for (const blob of blobs) {
    await trx
      .insertInto('blobs')
      .values({ sha256: blob.sha256, size: blob.size, created_at: now })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute();
    for (const userId of blob.owners) {
      await trx
        .insertInto('user_blobs')
        .values({ user_id: userId, sha256: blob.sha256, created_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'sha256']).doNothing())
        .execute();
    }
  }
}

/** Push receipts for revisions written back, so a retried push is answered as the first one was. */
export async function insertMissingReceipts(trx: Transaction<Database>, rows: PushReceiptsTable[]): Promise<void> {
  await inChunks(rows, CHUNK, (chunk) =>
    trx
      .insertInto('push_receipts')
      .values(chunk)
      .onConflict((oc) => oc.columns(['user_id', 'client_change_id']).doNothing())
      .execute(),
  );
}

/** Sets a collection's live count and digest from its item heads. */
export async function recountCollection(trx: Transaction<Database>, userId: string, collectionId: string) {
  const live = await trx
    .selectFrom('items')
    .select(['id', 'content_hash'])
    .where('user_id', '=', userId)
    .where('collection_id', '=', collectionId)
    .where('deleted', '=', 0)
    .execute();
  let digest = EMPTY_DIGEST;
  for (const item of live) digest = xorDigest(digest, itemDigest(item.id, item.content_hash ?? ''));
  await trx
    .updateTable('collections')
    .set({ item_count: live.length, digest })
    .where('user_id', '=', userId)
    .where('id', '=', collectionId)
    .execute();
}
