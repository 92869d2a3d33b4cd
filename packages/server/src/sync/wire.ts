import type { Collection, WireItem, WireRevision } from '@holdfast/protocol';
import type { CollectionRow } from '../store/collections.js';
import type { RevisionRow } from '../store/revision-log.js';

/** vCard and iCalendar travel as the exact text stored; everything else is stored as JSON. */
export function decodeStoredContent(contentType: string | null, text: string | null): unknown {
  if (text === null) return null;
  if (contentType === 'text/vcard' || contentType === 'text/calendar') return text;
  return JSON.parse(text);
}

export function toWireRevision(row: RevisionRow): WireRevision {
  return {
    revision: row.seq,
    entity: row.entity,
    op: row.op,
    collectionId: row.collection_id,
    itemId: row.item_id,
    deviceId: row.device_id,
    origin: row.origin,
    contentType: row.content_type,
    content: decodeStoredContent(row.content_type, row.content),
    blob: row.blob_sha256
      ? { sha256: row.blob_sha256, contentType: row.blob_content_type ?? 'application/octet-stream' }
      : null,
    meta: row.meta ? (JSON.parse(row.meta) as Record<string, unknown>) : null,
    hash: row.content_hash,
    size: row.size,
    at: new Date(row.created_at).toISOString(),
  };
}

/** An item as of its head revision. */
export function toWireItem(row: RevisionRow, deleted: boolean): WireItem {
  return {
    id: row.item_id as string,
    collectionId: row.collection_id,
    revision: row.seq,
    deleted,
    contentType: deleted ? null : row.content_type,
    content: deleted ? null : decodeStoredContent(row.content_type, row.content),
    blob:
      deleted || !row.blob_sha256
        ? null
        : { sha256: row.blob_sha256, contentType: row.blob_content_type ?? 'application/octet-stream' },
    meta: deleted || !row.meta ? null : (JSON.parse(row.meta) as Record<string, unknown>),
    hash: deleted ? null : row.content_hash,
    size: deleted ? 0 : row.size,
    updatedAt: new Date(row.created_at).toISOString(),
  };
}

export function toWireCollection(row: CollectionRow): Collection {
  return {
    id: row.id,
    type: row.type as Collection['type'],
    name: row.name,
    description: row.description,
    color: row.color,
    revision: row.head_seq,
    deleted: row.deleted === 1,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
