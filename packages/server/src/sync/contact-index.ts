import type { Transaction } from 'kysely';
import { contactFields } from '../bundle/field-counts.js';
import { type ContactListing, contactListing, indexedContact } from '../content/contact-listing.js';
import type { Context } from '../context.js';
import { collectionTypesOf } from '../store/collections.js';
import {
  allUserIds,
  CONTACT_SEARCH_META,
  clearContactRows,
  deleteContactRows,
  liveContactHeads,
  upsertContactRows,
  writeContactSearchVersion,
} from '../store/contact-search.js';
import { readMeta } from '../store/meta.js';
import { readRevisionsBySeq } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';
import type { HeadWrite } from './item-heads.js';
import { writeTransaction } from './write-transaction.js';

/**
 * Bumped whenever what a row holds changes (normalisation, display name):
 * databases indexed by an older version are indexed again from their items.
 */
export const CONTACT_INDEX_VERSION = '1';

/**
 * Keeps the contact index in step with item heads, in the transaction that
 * moves them (called by writeItemHeads): a contact that became live or
 * changed gets its row made from the new head revision; one that was
 * deleted, or moved out of an address book, loses it.
 */
export async function indexContactHeads(
  trx: Transaction<Database>,
  userId: string,
  writes: readonly HeadWrite[],
): Promise<void> {
  const last = new Map<string, HeadWrite>();
  for (const write of writes) last.set(write.itemId, write);
  const live = [...last.values()].filter((w) => !w.deleted);
  // A push knows each collection's type and each head's text: read back only what no writer said.
  const types = new Map<string, string>();
  for (const w of live) if (w.known) types.set(w.collectionId, w.known.type);
  const unknownTypes = live.filter((w) => !types.has(w.collectionId)).map((w) => w.collectionId);
  if (unknownTypes.length > 0)
    for (const [id, type] of await collectionTypesOf(trx, userId, unknownTypes)) types.set(id, type);
  const contacts = live.filter((w) => types.get(w.collectionId) === 'contacts');
  const gone = [...last.values()].filter((w) => w.deleted || types.get(w.collectionId) !== 'contacts');
  if (gone.length > 0)
    await deleteContactRows(
      trx,
      userId,
      gone.map((w) => w.itemId),
    );
  if (contacts.length === 0) return;
  const unread = contacts.filter((w) => !w.known).map((w) => w.seq);
  const revisions = unread.length > 0 ? await readRevisionsBySeq(trx, userId, unread) : new Map();
  await upsertContactRows(
    trx,
    contacts.map((w) => ({
      user_id: userId,
      item_id: w.itemId,
      collection_id: w.collectionId,
      seq: w.seq,
      ...contactRow((w.known ? w.known.content : revisions.get(w.seq)?.content) ?? '', w.known?.listing),
    })),
  );
}

/** The row's fields made from one vCard (and its listing, when the write already read it). */
function contactRow(text: string, listing?: ContactListing) {
  let fields = listing?.fields ?? {};
  try {
    if (!listing?.fields) fields = contactFields(text);
  } catch {
    // Counted as having no fields: the card is still listed by what could be read.
  }
  return { ...indexedContact(listing ?? contactListing(text)), fields: JSON.stringify(fields) };
}

const rebuilding = new WeakMap<Context, Promise<void>>();

/**
 * Resolves once the index covers every contact: at once when the database
 * records the current index version (one small read), else after rebuilding
 * it from the items (a database from before the index, restored without it,
 * or indexed by an older version). Concurrent callers share one rebuild.
 */
export async function ensureContactIndex(ctx: Context): Promise<void> {
  const running = rebuilding.get(ctx);
  if (running) return running;
  if ((await readMeta(ctx.db, CONTACT_SEARCH_META)) === CONTACT_INDEX_VERSION) return;
  let rebuild = rebuilding.get(ctx);
  if (!rebuild) {
    rebuild = rebuildContactIndex(ctx).finally(() => rebuilding.delete(ctx));
    rebuilding.set(ctx, rebuild);
  }
  return rebuild;
}

/**
 * Makes the index again from the item heads: one user at a time, each in a
 * write transaction (which holds the log lock, so no write of theirs lands
 * half-indexed), then records the index version. Writes keep maintaining
 * rows meanwhile, so a user already rebuilt stays right.
 */
export async function rebuildContactIndex(ctx: Context, userIds?: string[]): Promise<void> {
  for (const userId of userIds ?? (await allUserIds(ctx.db))) {
    await writeTransaction(ctx, { userId }, async (trx) => {
      await clearContactRows(trx, userId);
      let after = '';
      for (;;) {
        const heads = await liveContactHeads(trx, userId, { after, limit: 500 });
        if (heads.length === 0) break;
        await upsertContactRows(
          trx,
          heads.map((h) => ({
            user_id: userId,
            item_id: h.id,
            collection_id: h.collection_id,
            seq: h.head_seq,
            ...contactRow(h.content ?? ''),
          })),
        );
        after = heads[heads.length - 1]?.id ?? after;
      }
    });
  }
  if (!userIds)
    await writeTransaction(ctx, { userId: '' }, async (trx) => writeContactSearchVersion(trx, CONTACT_INDEX_VERSION));
}
