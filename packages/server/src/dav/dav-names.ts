import { randomUUID } from 'node:crypto';
import { idSchema } from '@holdfast/protocol';
import type { Context } from '../context.js';
import { findNamedItemIds, insertDavName, readNamedItemId } from '../store/dav-names.js';
import { itemIdExists } from '../store/items.js';
import { type DavCollection, type DavItem, extensionOf, findItemsById } from './dav-store.js';

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
  const ids = await findNamedItemIds(ctx.db, userId, collection.id, unique);
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
 * `mapName` skips the stem: a concurrent write took that id in another
 * collection after it was checked (item ids are unique per user, not per
 * collection).
 */
export async function itemIdForNewName(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  name: string,
  options: { mapName?: boolean } = {},
): Promise<string> {
  const mapped = await readNamedItemId(ctx.db, userId, collection.id, name);
  if (mapped) return mapped;
  const stem = options.mapName ? null : directId(collection, name);
  if (stem && !(await itemIdExists(ctx.db, userId, stem))) return stem;
  await insertDavName(ctx.db, {
    user_id: userId,
    collection_id: collection.id,
    name,
    item_id: randomUUID(),
    created_at: ctx.now(),
  });
  const row = await readNamedItemId(ctx.db, userId, collection.id, name);
  if (row === undefined) throw new Error(`The DAV name ${name} was mapped but cannot be read back.`);
  return row;
}
