import { AppError } from '@holdfast/protocol';
import { z } from 'zod';
import { phoneQuery, searchText } from '../content/contact-listing.js';
import type { Context } from '../context.js';
import { type ContactSearchRow, searchContactRows } from '../store/contact-search.js';
import { ensureContactIndex } from './contact-index.js';

/** One contact as the list shows it (docs/protocol.md, "Contact search"). */
export interface ContactHit {
  id: string;
  collectionId: string;
  revision: number;
  name: string;
  nicknames: string[];
  phones: string[];
  emails: string[];
  organization: string | null;
}

const cursorSchema = z.tuple([z.string().max(4000), z.string().max(400)]);

function encodeAfter(row: ContactSearchRow): string {
  return Buffer.from(JSON.stringify([row.sort_key, row.item_id])).toString('base64url');
}

function decodeAfter(after: string): { key: string; id: string } {
  try {
    const [key, id] = cursorSchema.parse(JSON.parse(Buffer.from(after, 'base64url').toString('utf8')));
    return { key, id };
  } catch {
    throw new AppError('invalid_cursor', 'This `after` is not a cursor this search returned as `next`.');
  }
}

const strings = (json: string): string[] => JSON.parse(json) as string[];

/**
 * A page of the caller's contacts in name order, from the contact index.
 * An empty query lists every contact; otherwise every word of it must occur
 * in the name, a nickname, an email address or the organization (case and
 * accents ignored), or, when the query reads as a phone number, its digits
 * in one of the contact's numbers (punctuation and leading zeros ignored).
 */
export async function searchContacts(
  ctx: Context,
  userId: string,
  query: { q: string; after?: string | undefined; limit: number },
): Promise<{ contacts: ContactHit[]; next: string | null }> {
  await ensureContactIndex(ctx);
  const normalised = searchText(query.q);
  const rows = await searchContactRows(ctx.db, userId, {
    tokens: normalised === '' ? [] : normalised.split(' '),
    digits: phoneQuery(query.q),
    after: query.after ? decodeAfter(query.after) : null,
    // One more than asked tells whether another page follows.
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  return {
    contacts: page.map((row) => ({
      id: row.item_id,
      collectionId: row.collection_id,
      revision: Number(row.seq),
      name: row.name,
      nicknames: strings(row.nicknames),
      phones: strings(row.phones),
      emails: strings(row.emails),
      organization: row.organization,
    })),
    next: rows.length > query.limit && page.length > 0 ? encodeAfter(page[page.length - 1] as ContactSearchRow) : null,
  };
}
