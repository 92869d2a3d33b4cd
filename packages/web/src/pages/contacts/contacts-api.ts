import { apiFetch } from '../../api/http';

/** One row of `GET /v1/contacts/search`. */
export interface ContactRow {
  id: string;
  collectionId: string;
  revision: number;
  name: string;
  nicknames: string[];
  phones: string[];
  emails: string[];
  organization: string | null;
}

export interface ContactPage {
  contacts: ContactRow[];
  next: string | null;
}

export const PAGE_SIZE = 500;

export function searchContacts(q: string, after: string | null): Promise<ContactPage> {
  const params = new URLSearchParams({ q, limit: String(PAGE_SIZE) });
  if (after) params.set('after', after);
  return apiFetch<ContactPage>(`/v1/contacts/search?${params}`);
}

/** An item at its head (`GET /v1/items/:id`). */
export interface Item {
  id: string;
  collectionId: string;
  revision: number;
  deleted: boolean;
  content: unknown;
  updatedAt: string;
}

/** jCard: `["vcard", [[name, params, type, value, ...], ...]]` (RFC 7095). */
export type JCardProperty = [string, Record<string, string | string[]>, string, ...unknown[]];

export interface ContactJson {
  id: string;
  revision: number;
  data: [string, JCardProperty[]];
}

export const contactKeys = {
  item: (id: string) => ['item', id] as const,
  json: (id: string) => ['item', id, 'json'] as const,
};

/** The person's first live contacts collection, made when there is none, for new contacts. */
export async function contactsCollection(): Promise<string> {
  const { collections } = await apiFetch<{ collections: { id: string; type: string; deleted: boolean }[] }>(
    '/v1/collections',
  );
  const found = collections.find((c) => c.type === 'contacts' && !c.deleted);
  if (found) return found.id;
  const made = await apiFetch<{ id: string }>('/v1/collections', {
    method: 'POST',
    body: { type: 'contacts', name: 'Contacts' },
  });
  return made.id;
}
