import type { Revision } from '@holdfast/backup';
import type { RevisionRow } from '../store/revision-log.js';

/** The blob a log row references, as the backup format writes it. */
export function blobRefOf(row: Pick<RevisionRow, 'blob_sha256' | 'blob_content_type'>): Revision['blob'] {
  return row.blob_sha256
    ? { sha256: row.blob_sha256, contentType: row.blob_content_type ?? 'application/octet-stream' }
    : null;
}

/**
 * The revision log row ↔ backup revision mapping. Every column is carried,
 * so a restored log is the same log (docs/backup-format.md §5.3).
 */
export function toBackupRevision(row: RevisionRow): Revision {
  return {
    seq: row.seq,
    userId: row.user_id,
    entity: row.entity,
    collectionId: row.collection_id,
    itemId: row.item_id,
    op: row.op,
    deviceId: row.device_id,
    origin: row.origin,
    contentType: row.content_type,
    content: row.content,
    blob: blobRefOf(row),
    meta: row.meta,
    hash: row.content_hash,
    size: row.size,
    baseSeq: row.base_seq,
    clientChangeId: row.client_change_id,
    at: new Date(row.created_at).toISOString(),
    ...(row.chain ? { chain: row.chain } : {}),
  };
}

/** The log row a backup revision restores to. */
export function toRevisionRow(revision: Revision): RevisionRow {
  return {
    seq: revision.seq,
    user_id: revision.userId,
    entity: revision.entity,
    op: revision.op,
    collection_id: revision.collectionId,
    item_id: revision.itemId,
    device_id: revision.deviceId,
    origin: revision.origin,
    content_type: revision.contentType,
    content: revision.content,
    blob_sha256: revision.blob?.sha256 ?? null,
    blob_content_type: revision.blob?.contentType ?? null,
    meta: revision.meta,
    content_hash: revision.hash,
    size: revision.size,
    base_seq: revision.baseSeq,
    client_change_id: revision.clientChangeId,
    created_at: Date.parse(revision.at),
    // Journals from before the chain carry none; the restore computes it again either way.
    chain: revision.chain ?? '',
  };
}
