import { randomUUID } from 'node:crypto';
import { isId } from '@holdfast/protocol';
import type { Context } from '../context.js';
import { findNamedItemIds, insertDavName, readNamedItemId } from '../store/dav-names.js';
import { itemIdExists } from '../store/items.js';
import { noteAccountsChanged, type WriteReceipt } from '../sync/write-receipt.js';
import { type DavCollection, type DavItem, extensionOf, findItemsById } from './dav-store.js';

/** The id a name addresses without a mapping row: `<id>.<ext>` with a valid id. */
function directId(collection: DavCollection, name: string): string | null {
  const suffix = `.${extensionOf(collection.type)}`;
  if (!name.endsWith(suffix)) return null;
  const stem = name.slice(0, -suffix.length);
  return isId(stem) ? stem : null;
}

/**
 * What the reads that found no item for a name learned about the id a new
 * item of that name would take: the id already mapped to the name, and
 * whether the name's own `<id>.<ext>` stem is an id some item has.
 */
export interface NameVacancy {
  mappedId: string | null;
  stemTaken: boolean;
}

/**
 * The items (live or deleted) that resource names address in a collection.
 * A name addresses an item only if that item's name is exactly it, so one
 * item never answers to two names. `vacancies`, if given, gets what was
 * learned about each name that addresses nothing (a PUT creating it needs it).
 */
export async function findItemsByName(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  names: string[],
  withContent: boolean,
  vacancies?: Map<string, NameVacancy>,
): Promise<Map<string, DavItem>> {
  const unique = [...new Set(names)];
  const mapped = await findNamedItemIds(ctx.db, userId, collection.id, unique);
  const ids = new Map(mapped);
  for (const name of unique) {
    const id = ids.has(name) ? undefined : directId(collection, name);
    if (id) ids.set(name, id);
  }
  const taken = vacancies ? new Set<string>() : undefined;
  const items = await findItemsById(ctx, userId, collection, [...ids.values()], withContent, taken);
  const out = new Map<string, DavItem>();
  for (const [name, id] of ids) {
    const item = items.get(id);
    if (item && item.name === name) out.set(name, item);
  }
  if (vacancies && taken) {
    for (const name of unique) {
      if (out.has(name)) continue;
      const stem = mapped.has(name) ? undefined : ids.get(name);
      vacancies.set(name, { mappedId: mapped.get(name) ?? null, stemTaken: stem === undefined || taken.has(stem) });
    }
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
 * collection). `vacancy` is what resolving the name found (findItemsByName).
 */
export async function itemIdForNewName(
  ctx: Context,
  userId: string,
  collection: DavCollection,
  name: string,
  options: { mapName?: boolean; vacancy?: NameVacancy | undefined; receipt?: WriteReceipt | undefined } = {},
): Promise<string> {
  // What resolving the name just read need not be read again; a write that races it is caught by the push.
  const known = options.mapName ? undefined : options.vacancy;
  const mapped = known ? known.mappedId : await readNamedItemId(ctx.db, userId, collection.id, name);
  if (mapped) return mapped;
  const stem = options.mapName ? null : directId(collection, name);
  if (stem && !(known ? known.stemTaken : await itemIdExists(ctx.db, userId, stem))) return stem;
  // The row reaches the targets in an account state: the request's answer waits for one.
  noteAccountsChanged(options.receipt);
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
