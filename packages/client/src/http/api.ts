import {
  BLOB_BATCH_TYPE,
  blobBatchManifestSchema,
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
import { asHoldfastError, HoldfastError, throwIfAborted } from '../errors.js';
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
export const push = (
  t: Transport,
  changes: PushChange[],
  signal?: Signal,
  generation?: string | null,
  confirmMassChange = false,
) =>
  request<PushResponse>(t, 'POST', '/v1/push', {
    body: { changes, ...(generation ? { generation } : {}), ...(confirmMassChange ? { confirmMassChange } : {}) },
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

/**
 * Cancels `reader` when `signal` aborts. fetch does not always error a body
 * that is already being read when its signal aborts, and a read waiting for
 * bytes that never come would then wait for good. Returns the detach.
 */
function cancelOnAbort(reader: ReadableStreamDefaultReader<Uint8Array>, signal: Signal): () => void {
  if (!signal) return () => {};
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

/** The next chunk of a download (null at its end), failing as `aborted` once the caller has aborted. */
async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>, signal: Signal): Promise<Uint8Array | null> {
  const next = await reader.read().catch((error: unknown) => {
    throwIfAborted(signal);
    throw asHoldfastError(error);
  });
  // A body cut off by an abort ends early; that must not pass for the whole download.
  throwIfAborted(signal);
  return next.done ? null : next.value;
}

/** A blob download: its chunks, read once; `cancel` frees the connection if they are not all read. */
export interface BlobDownload extends AsyncIterable<Uint8Array> {
  cancel(): Promise<void>;
}

/** `GET /v1/blobs/:sha256`, as a stream of chunks (the caller verifies the hash). */
export async function getBlob(t: Transport, sha256: string, signal?: Signal): Promise<BlobDownload> {
  const token = t.token();
  const response = await open(t, 'GET', `/v1/blobs/${sha256}`, {
    headers: { accept: 'application/octet-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal,
  });
  // Take the reader now: fetch cancels the body of a Response that is garbage-collected while its body is still
  // unlocked, and the caller may not start reading until after awaits of its own (opening a file). A cancelled
  // body reads as empty, which would then fail the hash check for no reason.
  const reader = response.body?.getReader() ?? null;
  let finished = reader === null;
  const detach = reader ? cancelOnAbort(reader, signal) : () => {};
  const cancel = async () => {
    detach();
    if (finished || !reader) return;
    finished = true;
    await reader.cancel().catch(() => {});
  };
  return {
    async *[Symbol.asyncIterator]() {
      if (!reader) return;
      try {
        for (let chunk = await readChunk(reader, signal); chunk; chunk = await readChunk(reader, signal)) yield chunk;
        finished = true;
      } finally {
        await cancel();
      }
    },
    cancel,
  };
}

const MAX_MANIFEST_BYTES = 64 * 1024;

/** One blob of a batch download: its bytes must be read in full before the next blob's. */
export interface BatchBlob {
  sha256: string;
  size: number;
  chunks: AsyncIterable<Uint8Array>;
}

/** A batch download: the blobs the server holds for this user, in order; `cancel` frees the connection early. */
export interface BlobBatch {
  /** The requested blobs the server sent (the others it does not have for this user). */
  readonly manifest: readonly { sha256: string; size: number }[];
  blobs(): AsyncIterable<BatchBlob>;
  cancel(): Promise<void>;
}

/**
 * `GET /v1/blobs?sha256=a,b,…`: several blobs in one response (a JSON
 * manifest line, then each blob's bytes in manifest order). The caller
 * verifies each blob's hash. A server without the route answers 404
 * `not_found`; blobs the server does not have are simply not in the manifest.
 */
export async function getBlobs(t: Transport, sha256s: readonly string[], signal?: Signal): Promise<BlobBatch> {
  const token = t.token();
  const path = `/v1/blobs?sha256=${sha256s.join(',')}`;
  const response = await open(t, 'GET', path, {
    headers: { accept: BLOB_BATCH_TYPE, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal,
  });
  const type = response.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith(BLOB_BATCH_TYPE) || !response.body) {
    await response.body?.cancel().catch(() => {});
    throw new HoldfastError(
      'unexpected_response',
      `${path.slice(0, 40)}… answered ${type || 'no content type'}, not a blob batch.`,
      response.status,
    );
  }
  const reader = response.body.getReader();
  let finished = false;
  const detach = cancelOnAbort(reader, signal);
  const cancel = async () => {
    detach();
    if (finished) return;
    finished = true;
    await reader.cancel().catch(() => {});
  };
  const cut = () => new HoldfastError('network', 'The blob download was cut short.', response.status);
  // Bytes read from the network but not handed out yet.
  let rest: Uint8Array | null = null;
  const take = async (): Promise<Uint8Array | null> => {
    if (rest) {
      const out = rest;
      rest = null;
      return out;
    }
    return readChunk(reader, signal);
  };

  let manifest: { sha256: string; size: number }[];
  try {
    const head: Uint8Array[] = [];
    let headBytes = 0;
    for (;;) {
      const chunk = await take();
      if (!chunk) throw cut();
      const newline = chunk.indexOf(10);
      if (newline < 0) {
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes > MAX_MANIFEST_BYTES)
          throw new HoldfastError('unexpected_response', 'The blob batch manifest is too long.');
        continue;
      }
      head.push(chunk.subarray(0, newline));
      if (newline + 1 < chunk.length) rest = chunk.subarray(newline + 1);
      break;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(head).toString('utf8'));
    } catch {
      throw new HoldfastError('unexpected_response', 'The blob batch manifest is not JSON.', response.status);
    }
    const checked = blobBatchManifestSchema.safeParse(parsed);
    const asked = new Set(sha256s);
    if (!checked.success || !checked.data.blobs.every((blob) => asked.has(blob.sha256))) {
      throw new HoldfastError('unexpected_response', 'The blob batch manifest has the wrong shape.', response.status);
    }
    manifest = checked.data.blobs;
  } catch (error) {
    await cancel();
    throw asHoldfastError(error);
  }

  async function* slice(size: number): AsyncGenerator<Uint8Array> {
    let left = size;
    while (left > 0) {
      const chunk = await take();
      if (!chunk) throw cut();
      if (chunk.length > left) {
        rest = chunk.subarray(left);
        yield chunk.subarray(0, left);
        return;
      }
      left -= chunk.length;
      yield chunk;
    }
  }

  return {
    manifest,
    async *blobs() {
      try {
        for (const { sha256, size } of manifest) {
          let done = false;
          const chunks = slice(size);
          yield {
            sha256,
            size,
            chunks: {
              async *[Symbol.asyncIterator]() {
                for await (const chunk of chunks) yield chunk;
                done = true;
              },
            },
          };
          // The consumer must have read this blob whole; anything else leaves the stream out of step.
          if (!done) throw new HoldfastError('internal', `Blob ${sha256} of a batch was not read to its end.`);
        }
        if (await take())
          throw new HoldfastError('unexpected_response', 'The blob batch holds more bytes than its manifest.');
        finished = true;
      } finally {
        await cancel();
      }
    },
    cancel,
  };
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
