import type { Caller, Context } from '../context.js';
import { recordBlobRows } from '../store/journal-apply.js';
import { writeTransaction } from './write-transaction.js';

/**
 * Records a blob just put in the blob store as stored and readable by the
 * caller. Through the write queue, never a transaction of its own: uploads
 * and pushes arriving together share one commit (one fsync), where a commit
 * each made every upload wait for the single SQLite connection in turn.
 */
export async function recordUpload(ctx: Context, caller: Caller, blob: { sha256: string; size: number }) {
  const blobs = [{ ...blob, owners: [caller.userId] }];
  await writeTransaction(ctx, caller, (trx) => recordBlobRows(trx, blobs, ctx.now()));
}
