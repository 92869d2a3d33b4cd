import { randomUUID } from 'node:crypto';
import { idSchema } from '@holdfast/protocol';
import type { Context } from '../context.js';
import { type DavCollection, type DavItem, davDb, extensionOf, findItemsById } from './dav-store.js';

const CHUNK = 400;

/** The id a name addresses without a mapping row: `<id>.<ext>` with a valid id. */
function directId(collection: DavCollection, name: string): string | null {
  const suffix = `.${extensionOf(collection.type)}`;
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  return idSchema.safeParse(stem).success ? stem : null;
}

/**
 * The items (live or deleted) that resource names address in a collection.
 * A name addresses an item only if that item's name is exactly it, so one
 * item never answers to two names.
 */
export async function findItemsByName(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  names: string[],
  withContent: boolean,
): Promise<Map<string, DavItem>> {
  const unique = [...new Set(names)];
  const ids = new Map<string, string>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await davDb(ctx)
      .selectFrom('dav_names')
      .select(['name', 'item_id'])
      .where('user_id', '=', userId)
      .where('collection_id', '=', collection.id)
      .where('name', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const row of rows) ids.set(row.name, row.item_id);
  }
  for (const name of unique) {
    const id = ids.has(name) ? undefined : directId(collection, name);
    if (id) ids.set(name, id);
  }
  const items = await findItemsById(ctx, userId, collection, [...ids.values()], withContent);
  const out = new Map<string, DavItem>();
  for (const [name, id] of ids) {
    const item = items.get(id);
    if (item && item.name === name) out.set(name, item);
  }
  return out;
}

/**
 * The item id a new resource name will use: the name's stem when it is a
 * valid id no item has ever used, else a generated id recorded in dav_names.
 * The row is written before the item so a crash in between leaves a name
 * pointing at nothing, which reads as 404 and is reused by the retry.
 */
export async function itemIdForNewName(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  name: string,
): Promise<string> {
  const db = davDb(ctx);
  const mapped = await db
    .selectFrom('dav_names')
    .select('item_id')
    .where('user_id', '=', userId)
    .where('collection_id', '=', collection.id)
    .where('name', '=', name)
    .executeTakeFirst();
  if (mapped) return mapped.item_id;
  const stem = directId(collection, name);
  if (stem) {
    const used = await db
      .selectFrom('items')
      .select('id')
      .where('user_id', '=', userId)
      .where('id', '=', stem)
      .executeTakeFirst();
    if (!used) return stem;
  }
  await db
    .insertInto('dav_names')
    .values({ user_id: userId, collection_id: collection.id, name, item_id: randomUUID(), created_at: ctx.now() })
    .onConflict((oc) => oc.columns(['user_id', 'collection_id', 'name']).doNothing())
    .execute();
  const row = await db
    .selectFrom('dav_names')
    .select('item_id')
    .where('user_id', '=', userId)
    .where('collection_id', '=', collection.id)
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.item_id;
}
