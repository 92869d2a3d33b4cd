import { randomUUID } from 'node:crypto';
import { AppError } from '@holdfast/protocol';
import type { Context } from '../context.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import { itemHeadSeqs } from '../store/import-lookups.js';
import { findImport, markImportUndone } from '../store/imports.js';
import type { NewRevision } from '../store/revision-log.js';
import { type HeadWrite, writeItemHeads } from '../sync/item-heads.js';
import { readRevisionsBySeq } from '../sync/point-in-time.js';
import { noteAccountsChanged } from '../sync/write-receipt.js';
import { writeTransaction } from '../sync/write-transaction.js';
import type { ImportOwner } from './import.js';
import { importUndoIncident, type UndoImpact } from './import-ledger.js';

export interface UndoResult {
  importId: string;
  /** Items put back as they were before the import (deleted if the import created them). */
  undone: number;
  /** Items changed after the import: left as they are, with the reason. */
  kept: { itemId: string; reason: string }[];
  firstRevision: number | null;
  lastRevision: number | null;
}

/**
 * Undoes an import as a unit, with new revisions (origin `import-undo`): an
 * item the import created is deleted, an item it updated gets its previous
 * content back. Items changed since the import are left alone and listed,
 * so undo never throws away a later edit. Collections the import created
 * stay (empty). An import can be undone once. The undo is recorded on the
 * incident ledger with what it did to each collection.
 */
export async function undoImport(ctx: Context, owner: ImportOwner, importId: string): Promise<UndoResult> {
  const now = ctx.now();
  const undoId = randomUUID();
  return writeTransaction(ctx, owner, async (trx, append) => {
    const row = await findImport(trx, owner.userId, importId);
    if (!row) throw new AppError('not_found', `No import ${importId}.`);
    if (row.undone_by) throw new AppError('conflict', `Import ${importId} has already been undone.`);
    const result: UndoResult = { importId, undone: 0, kept: [], firstRevision: null, lastRevision: null };
    const collections: UndoImpact['collections'] = new Map();
    const impactOn = (collectionId: string) => {
      const impact = collections.get(collectionId) ?? { deleted: 0, restored: 0, kept: 0 };
      collections.set(collectionId, impact);
      return impact;
    };
    if (row.first_seq !== null && row.last_seq !== null) {
      for (let from = row.first_seq; from <= row.last_seq; from += 500) {
        const seqs = Array.from({ length: Math.min(500, row.last_seq - from + 1) }, (_, i) => from + i);
        const revisions = [...(await readRevisionsBySeq(trx, owner.userId, seqs)).values()].filter(
          (r) => r.entity === 'item' && r.client_change_id === `import:${importId}`,
        );
        if (revisions.length === 0) continue;
        const heads = new Map(
          (
            await itemHeadSeqs(
              trx,
              owner.userId,
              revisions.map((r) => r.item_id as string),
            )
          ).map((h) => [h.id, h.head_seq]),
        );
        const bases = await readRevisionsBySeq(
          trx,
          owner.userId,
          revisions.flatMap((r) => (r.base_seq === null ? [] : [r.base_seq])),
        );
        const writes: NewRevision[] = [];
        const heads2: Omit<HeadWrite, 'seq'>[] = [];
        for (const revision of revisions) {
          const itemId = revision.item_id as string;
          if (heads.get(itemId) !== revision.seq) {
            result.kept.push({ itemId, reason: `changed after the import (now at revision ${heads.get(itemId)})` });
            impactOn(revision.collection_id).kept++;
            continue;
          }
          const base = revision.base_seq === null ? undefined : bases.get(revision.base_seq);
          const restore = base?.op === 'put' ? base : undefined;
          impactOn(revision.collection_id)[restore ? 'restored' : 'deleted']++;
          const { seq: _imported, ...fields } = revision;
          writes.push({
            ...fields,
            op: restore ? 'put' : 'delete',
            device_id: owner.deviceId,
            origin: 'import-undo',
            content_type: restore?.content_type ?? null,
            content: restore?.content ?? null,
            blob_sha256: restore?.blob_sha256 ?? null,
            blob_content_type: restore?.blob_content_type ?? null,
            meta: restore?.meta ?? null,
            content_hash: restore?.content_hash ?? null,
            size: restore?.size ?? 0,
            base_seq: revision.seq,
            client_change_id: `import-undo:${undoId}`,
            created_at: now,
          });
          heads2.push({
            itemId,
            collectionId: revision.collection_id,
            deleted: !restore,
            hash: restore?.content_hash ?? null,
            size: restore?.size ?? 0,
            previousLiveHash: revision.content_hash ?? '',
          });
        }
        const written = await append(writes);
        await writeItemHeads(
          trx,
          owner.userId,
          heads2.map((h, i) => ({ ...h, seq: written[i] as number })),
          now,
        );
        result.undone += written.length;
        if (written.length > 0) {
          result.firstRevision ??= written[0] as number;
          result.lastRevision = written[written.length - 1] as number;
        }
      }
    }
    noteAccountsChanged(owner.receipt);
    await markImportUndone(trx, owner.userId, importId, undoId);
    await appendLedgerEntry(
      trx,
      importUndoIncident(owner.userId, owner.deviceId, {
        importId,
        undoId,
        source: row.source,
        collections,
        firstRevision: result.firstRevision,
        lastRevision: result.lastRevision,
      }),
      now,
    );
    return result;
  });
}
