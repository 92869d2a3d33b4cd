import type { Kysely } from 'kysely';
import type { RevisionRow } from '../store/revision-log.js';
import type { Database } from '../store/schema.js';

/** Revisions by sequence number (only the user's), in pages of 400. Revisions never change, so any time is fine. */
export async function readRevisionsBySeq(
  db: Kysely<Database>,
  userId: string,
  seqs: number[],
): Promise<Map<number, RevisionRow>> {
  const out = new Map<number, RevisionRow>();
  for (let i = 0; i < seqs.length; i += 400) {
    const rows = await db
      .selectFrom('revisions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('seq', 'in', seqs.slice(i, i + 400))
      .execute();
    for (const row of rows) out.set(row.seq, row);
  }
  return out;
}
