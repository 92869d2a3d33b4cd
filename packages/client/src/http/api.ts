import {
  type ChangesResponse,
  type Collection,
  changesResponseSchema,
  collectionSchema,
  type InventoryRequest,
  type InventoryResponse,
  inventoryResponseSchema,
  type LoginResponse,
  loginResponseSchema,
  type PushChange,
  type PushResponse,
  pushResponseSchema,
  type SummaryResponse,
  summaryResponseSchema,
  type WireItem,
  type WireRevision,
  wireItemSchema,
  wireRevisionSchema,
} from '@holdfast/protocol';
import { HoldfastError } from '../errors.js';
import type { CollectionFields } from '../replica/store.js';
import { open, type ResponseSchema, request, type Transport } from './transport.js';

/** The server's answer to `GET /v1/me`. */
export interface Me {
  userId: string;
  deviceId: string;
  generation: string;
  head: number;
}

/** A hand-written schema for small answers the protocol package does not define. */
function shape<T>(name: string, check: (value: Record<string, unknown>) => boolean): ResponseSchema<T> {
  return {
    safeParse(value) {
      if (value !== null && typeof value === 'object' && check(value as Record<string, unknown>)) {
        return { success: true, data: value as T };
      }
      return { success: false, error: { message: `not a ${name}` } };
    },
  };
}

const meSchema = shape<Me>(
  'device description',
  (v) => typeof v.userId === 'string' && typeof v.generation === 'string' && typeof v.head === 'number',
);
const collectionListSchema = shape<{ collections: Collection[] }>(
  'collection list',
  (v) => Array.isArray(v.collections) && v.collections.every((c) => collectionSchema.safeParse(c).success),
);
const blobStoredSchema = shape<{ sha256: string; size: number }>(
  'blob receipt',
  (v) => typeof v.sha256 === 'string' && typeof v.size === 'number',
);
const objectSchema = shape<Record<string, unknown>>('JSON object', () => true);
const revisionReceiptSchema = shape<{ revision: number }>('revision receipt', (v) => typeof v.revision === 'number');

type Signal = AbortSignal | undefined;
const enc = encodeURIComponent;

/** `POST /v1/auth/login` (never retried: each success registers a device). */
export const login = (
  t: Transport,
  body: { username: string; password: string; deviceName: string },
  signal?: Signal,
) =>
  request<LoginResponse>(t, 'POST', '/v1/auth/login', {
    body,
    schema: loginResponseSchema,
    anonymous: true,
    retry: false,
    signal,
  });

/** `POST /v1/auth/logout`: revokes this device's token. */
export const logout = (t: Transport, signal?: Signal) =>
  request<void>(t, 'POST', '/v1/auth/logout', { signal, retry: false });

/** `GET /v1/me`: who this token is, and the server's lineage and head. */
export const me = (t: Transport, signal?: Signal) => request<Me>(t, 'GET', '/v1/me', { schema: meSchema, signal });

/**
 * `POST /v1/push`: idempotent per clientChangeId, so safe to retry. With
 * `generation` (the lineage the base revisions come from) the server refuses
 * the whole push with `generation_changed` if it is on another lineage.
 */
export const push = (t: Transport, changes: PushChange[], signal?: Signal, generation?: string | null) =>
  request<PushResponse>(t, 'POST', '/v1/push', {
    body: { changes, ...(generation ? { generation } : {}) },
    schema: pushResponseSchema,
    signal,
  });

/** `GET /v1/changes` from a cursor (none: from the beginning). */
export const changes = (t: Transport, cursor: string | null, limit: number, signal?: Signal) =>
  request<ChangesResponse>(t, 'GET', `/v1/changes?limit=${limit}${cursor === null ? '' : `&cursor=${enc(cursor)}`}`, {
    schema: changesResponseSchema,
    signal,
  });

/** `GET /v1/items/:id`, deleted heads included. */
export const item = (t: Transport, id: string, signal?: Signal) =>
  request<WireItem>(t, 'GET', `/v1/items/${enc(id)}?includeDeleted=true`, { schema: wireItemSchema, signal });

/** `GET /v1/items/:id/revisions/:revision`. */
export const revision = (t: Transport, id: string, rev: number, signal?: Signal) =>
  request<WireRevision>(t, 'GET', `/v1/items/${enc(id)}/revisions/${rev}`, { schema: wireRevisionSchema, signal });

/** `GET /v1/collections/:id`. */
export const collection = (t: Transport, id: string, signal?: Signal) =>
  request<Collection>(t, 'GET', `/v1/collections/${enc(id)}`, { schema: collectionSchema, signal });

/** `GET /v1/collections`. */
export const collections = (t: Transport, signal?: Signal) =>
  request<{ collections: Collection[] }>(t, 'GET', '/v1/collections', { schema: collectionListSchema, signal });

/** `POST /v1/collections` with a device-chosen id. */
export const createCollection = (t: Transport, id: string, fields: CollectionFields, signal?: Signal) =>
  request<Collection>(t, 'POST', '/v1/collections', { body: { id, ...fields }, schema: collectionSchema, signal });

/** `PATCH /v1/collections/:id`. */
export const updateCollection = (t: Transport, id: string, fields: Omit<CollectionFields, 'type'>, signal?: Signal) =>
  request<Collection>(t, 'PATCH', `/v1/collections/${enc(id)}`, { body: fields, schema: collectionSchema, signal });

/** `DELETE /v1/collections/:id`. */
export const deleteCollection = (t: Transport, id: string, signal?: Signal) =>
  request<{ revision: number }>(t, 'DELETE', `/v1/collections/${enc(id)}`, { schema: revisionReceiptSchema, signal });

/** `GET /v1/summary`: per-collection counts and digests. */
export const summary = (t: Transport, signal?: Signal) =>
  request<SummaryResponse>(t, 'GET', '/v1/summary', { schema: summaryResponseSchema, signal });

/** `POST /v1/reseed/inventory`: what this device holds; the server says what it lacks. */
export const inventory = (t: Transport, body: InventoryRequest, signal?: Signal) =>
  request<InventoryResponse>(t, 'POST', '/v1/reseed/inventory', { body, schema: inventoryResponseSchema, signal });

/** The counts a device reports when it has finished re-seeding. */
export interface ReseedCounts {
  previousGeneration: string | null;
  collectionsRecreated: number;
  itemsUploaded: number;
  blobsUploaded: number;
}

/** `POST /v1/reseed/complete`: the server records the re-seed in its incident ledger. */
export const reseedComplete = (t: Transport, body: ReseedCounts, signal?: Signal) =>
  request<Record<string, unknown>>(t, 'POST', '/v1/reseed/complete', { body, schema: objectSchema, signal });

/** `PUT /v1/blobs/:sha256`. */
export const putBlob = (t: Transport, sha256: string, bytes: Uint8Array, signal?: Signal) =>
  request<{ sha256: string; size: number }>(t, 'PUT', `/v1/blobs/${sha256}`, {
    body: bytes,
    schema: blobStoredSchema,
    signal,
  });

/** `GET /v1/blobs/:sha256`, as a stream of chunks (the caller verifies the hash). */
export async function getBlob(t: Transport, sha256: string, signal?: Signal): Promise<AsyncIterable<Uint8Array>> {
  const token = t.token();
  const response = await open(t, 'GET', `/v1/blobs/${sha256}`, {
    headers: { accept: 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal,
  });
  if (!response.body) return (async function* () {})();
  return response.body as unknown as AsyncIterable<Uint8Array>;
}

/** `HEAD /v1/blobs/:sha256`: true if the server holds the blob for this user. */
export async function hasBlob(t: Transport, sha256: string, signal?: Signal): Promise<boolean> {
  const token = t.token();
  try {
    const response = await open(t, 'HEAD', `/v1/blobs/${sha256}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal,
    });
    await response.body?.cancel().catch(() => {});
    return true;
  } catch (error) {
    if (error instanceof HoldfastError && error.code === 'not_found') return false;
    throw error;
  }
}
