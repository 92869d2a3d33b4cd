import type { Caller } from '../context.js';
import type { NewRevision } from '../store/revision-log.js';

/** A delete of `itemId` by `caller`'s device, appended as is by tests of the write path (no item need exist). */
export function deleteRevision(caller: Caller, collectionId: string, itemId: string): NewRevision {
  return {
    user_id: caller.userId,
    entity: 'item',
    op: 'delete',
    collection_id: collectionId,
    item_id: itemId,
    device_id: caller.deviceId,
    origin: 'client',
    content_type: null,
    content: null,
    blob_sha256: null,
    blob_content_type: null,
    meta: null,
    content_hash: null,
    size: 0,
    base_seq: null,
    client_change_id: null,
    created_at: 0,
  };
}
