import { useQuery } from '@tanstack/react-query';
import { ApiError, apiFetch } from '../api/http';

/** The six kinds of collection the API knows (docs/protocol.md, section 4). */
export type CollectionType = 'contacts' | 'calendar' | 'tasks' | 'notes' | 'photos' | 'messages';

export interface Collection {
  id: string;
  type: CollectionType;
  name: string;
  description: string;
  color: string | null;
  revision: number;
}

export interface BlobRef {
  sha256: string;
  contentType: string;
}

/** An item at its head, as `/v1/collections/:id/items` and `/v1/items/:id` return it. */
export interface WireItem<C = unknown> {
  id: string;
  collectionId: string;
  revision: number;
  deleted: boolean;
  contentType: string | null;
  content: C;
  blob: BlobRef | null;
  meta: Record<string, unknown> | null;
  updatedAt: string;
}

interface ItemPage<C> {
  items: WireItem<C>[];
  next: string | null;
}

/**
 * Query keys of the data these pages show. The shell's change feed (SSE) marks every query stale when any device
 * writes, so a page shows a phone's change without reloading.
 */
export const keys = {
  collections: ['collections'] as const,
  items: (collectionId: string) => ['items', collectionId] as const,
};

/** The caller's live collections of one type, oldest first. */
export function useCollections(type: CollectionType) {
  return useQuery({
    queryKey: keys.collections,
    queryFn: () => apiFetch<{ collections: Collection[] }>('/v1/collections'),
    select: (data) => data.collections.filter((c) => c.type === type),
  });
}

/** One page of a collection's live items, in id order; `after` is the previous page's `next`. */
export function fetchItemPage<C>(collectionId: string, after: string | null, limit = 500): Promise<ItemPage<C>> {
  const query = new URLSearchParams({ limit: String(limit) });
  if (after) query.set('after', after);
  return apiFetch<ItemPage<C>>(`/v1/collections/${encodeURIComponent(collectionId)}/items?${query}`);
}

/**
 * Every live item of a collection. Used where the page needs them all at once (a calendar's recurrences, a task
 * list's order, message threads); the photo grid pages instead.
 */
export function useAllItems<C>(collectionId: string | undefined) {
  return useQuery({
    queryKey: keys.items(collectionId ?? ''),
    enabled: Boolean(collectionId),
    queryFn: async () => {
      const items: WireItem<C>[] = [];
      let after: string | null = null;
      do {
        const page: ItemPage<C> = await fetchItemPage<C>(collectionId as string, after, 1000);
        items.push(...page.items);
        after = page.next;
      } while (after);
      return items;
    },
  });
}

export async function createCollection(type: CollectionType, name: string): Promise<Collection> {
  return apiFetch<Collection>('/v1/collections', { method: 'POST', body: { type, name } });
}

export interface Change {
  collectionId: string;
  itemId: string;
  op: 'put' | 'delete';
  /** The head revision the page last saw; `null` to create. A stale one is a conflict, never an overwrite. */
  baseRevision: number | null;
  content?: unknown;
  blob?: BlobRef;
}

type PushResult =
  | { status: 'applied'; revision: number }
  | { status: 'conflict'; head: { revision: number; deleted: boolean } | null }
  | { status: 'rejected'; code: string; message: string };

/** Writes one change through `POST /v1/push`, the same path every device uses; answers the new revision. */
export async function pushChange(change: Change): Promise<number> {
  const answer = await apiFetch<{ results: PushResult[] }>('/v1/push', {
    method: 'POST',
    body: { changes: [{ clientChangeId: `web-${newId()}`, ...change }] },
  });
  const result = answer.results[0];
  if (!result) throw new ApiError(500, 'internal', 'The server answered no result.', answer);
  if (result.status === 'applied') return result.revision;
  if (result.status === 'conflict') {
    throw new ApiError(
      409,
      'conflict',
      result.head?.deleted || !result.head
        ? 'This was deleted elsewhere in the meantime.'
        : 'This was changed elsewhere in the meantime, so your change was not saved. Open it again to see the newer version.',
      result,
    );
  }
  throw new ApiError(400, result.code, result.message, result);
}

/** A new id for an item or a change: random, so an offline device and this page never pick the same one. */
export function newId(): string {
  return crypto.randomUUID();
}

/** A human sentence for any failure, for the page's alert. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error) return error.message;
  return String(error);
}
