import { Readable } from 'node:stream';
import {
  type BlobMap,
  type JournalHead,
  type Repository,
  readAccountState,
  readBlob,
  readJournalChain,
} from '@holdfast/backup';
import { AppError, EMPTY_DIGEST } from '@holdfast/protocol';
import type { Insertable, Transaction } from 'kysely';
import type { BlobStore } from '../blobs/blob-store.js';
import { appendLedgerEntry } from '../ledger/ledger.js';
import type { AccountInsertRows } from '../store/account-state.js';
import type { Db } from '../store/database.js';
import { readItemHeads } from '../store/items.js';
import {
  insertLoggedRevisions,
  insertMissingReceipts,
  mergeAccountRows,
  recordBlobRows,
  recountCollection,
  upsertCollectionFields,
  upsertItemHeadRows,
} from '../store/journal-apply.js';
import { nextChain } from '../store/revision-chain.js';
import { advanceLogHead, type LogHead, lockLogHead, type RevisionRow } from '../store/revision-log.js';
import type { Database, UsersTable } from '../store/schema.js';
import { inTransaction } from '../store/transactions.js';
import { accountRowsToRestore } from './account-tables.js';
import { collectionFields } from './restore.js';
import { toRevisionRow } from './revision-records.js';

/** What a roll forward brought back. */
export interface RollForward {
  from: number;
  to: number;
  revisions: number;
  blobs: number;
  /** Revisions and items written back per user. */
  users: Record<string, { revisions: number; items: number }>;
}

export interface RollForwardDeps {
  db: Db;
  blobs: BlobStore;
  now: () => number;
}

/**
 * Applies the revisions a backup target's journal holds after the local
 * head, when they continue the local chain: the database was put back to an
 * older copy (or lost the last commits) but nothing else wrote since, so the
 * history is whole again and nobody needs to re-seed. The revisions keep
 * their sequence numbers and chain values, so cursors and sync tokens issued
 * before stay valid. The account tables take what the newest account state
 * of this lineage holds and the database lacks. Everything is read (and every
 * blob stored) before the one transaction that writes the log, the heads and
 * the `rolled_forward` ledger entry.
 *
 * Throws when the journal does not continue the local head exactly; the
 * caller then treats the database as rolled back.
 */
export async function rollForward(
  deps: RollForwardDeps,
  repo: Repository,
  source: { head: JournalHead; accounts: string | null; location: string },
  local: LogHead,
): Promise<RollForward> {
  const blobObjects: BlobMap = {};
  const rows: RevisionRow[] = [];
  let toSeq = local.seq;
  for (const { segment } of await readJournalChain(repo, source.head.object, local.seq)) {
    Object.assign(blobObjects, segment.blobs);
    for (const revision of segment.revisions) if (revision.seq > local.seq) rows.push(toRevisionRow(revision));
    toSeq = Math.max(toSeq, segment.toSeq);
  }
  let chain = local.chain;
  let seq = local.seq;
  for (const row of rows) {
    if (row.seq <= seq || nextChain(chain, row) !== row.chain) {
      throw new AppError('conflict', `the journal does not continue this database's chain at revision ${row.seq}`);
    }
    chain = row.chain;
    seq = row.seq;
  }
  const accounts = source.accounts
    ? accountRowsToRestore(await readAccountState(repo, source.accounts), {
        devices: new Map(),
        appPasswords: new Map(),
      })
    : null;
  const blobs = await storeBlobs(deps.blobs, repo, rows, blobObjects);
  const now = deps.now();
  const users = perUser(rows);
  await inTransaction(deps.db, async (trx) => {
    const head = await lockLogHead(trx, deps.db.engine);
    if (head.seq !== local.seq || head.chain !== local.chain) {
      throw new AppError('conflict', `the log moved from revision ${local.seq} to ${head.seq} during the roll forward`);
    }
    await mergeAccountRows(trx, accounts, placeholders(accounts, rows, now));
    await insertLoggedRevisions(trx, rows);
    await recordBlobRows(trx, blobs, now);
    for (const [userId, own] of byUser(rows)) await materialise(trx, userId, own);
    await insertMissingReceipts(
      trx,
      rows
        .filter((r) => r.client_change_id !== null && (r.origin === 'client' || r.origin === 'reseed'))
        .map((r) => ({
          user_id: r.user_id,
          client_change_id: r.client_change_id as string,
          result: JSON.stringify({ clientChangeId: r.client_change_id, status: 'applied', revision: r.seq }),
          created_at: now,
        })),
    );
    await advanceLogHead(trx, { seq: toSeq, chain });
    await appendLedgerEntry(
      trx,
      {
        kind: 'rolled_forward',
        userId: null,
        summary: `The database started at revision ${local.seq}, behind backup target ${source.location}, which held revisions ${local.seq + 1}-${toSeq} of the same history: they were applied from its journal before serving. Nothing was lost; cursors and sync tokens stay valid.`,
        details: {
          target: source.location,
          head: local.seq,
          from: local.seq + 1,
          to: toSeq,
          revisions: rows.length,
          blobs: blobs.length,
          accounts: source.accounts,
          users,
        },
      },
      now,
    );
  });
  return { from: local.seq + 1, to: toSeq, revisions: rows.length, blobs: blobs.length, users };
}

/** Fetches (and checks) every blob the revisions name from the target, into the blob store. */
async function storeBlobs(
  store: BlobStore,
  repo: Repository,
  rows: RevisionRow[],
  objects: BlobMap,
): Promise<{ sha256: string; size: number; owners: string[] }[]> {
  const owners = new Map<string, Set<string>>();
  for (const row of rows) {
    if (!row.blob_sha256) continue;
    owners.set(row.blob_sha256, (owners.get(row.blob_sha256) ?? new Set()).add(row.user_id));
  }
  const out: { sha256: string; size: number; owners: string[] }[] = [];
  for (const [sha256, users] of owners) {
    const object = objects[sha256];
    if (!object) throw new AppError('internal', `no blob object is mapped for blob ${sha256}`);
    const data = await readBlob(repo, object, sha256);
    await store.put(sha256, Readable.from([data]));
    out.push({ sha256, size: data.byteLength, owners: [...users] });
  }
  return out;
}

/** A disabled account for each user the revisions name that no account state holds (kept if the user exists). */
function placeholders(accounts: AccountInsertRows | null, rows: RevisionRow[], now: number): Insertable<UsersTable>[] {
  const known = new Set(accounts?.users.map((u) => u.id));
  return [...new Set(rows.map((r) => r.user_id))]
    .filter((userId) => !known.has(userId))
    .map((userId) => ({
      id: userId,
      username: `restored-${userId}`,
      // No password hash matches '!': the account cannot log in until an operator sets a password.
      password_hash: '!',
      disabled: 1,
      created_at: now,
      updated_at: now,
    }));
}

function byUser(rows: RevisionRow[]): Map<string, RevisionRow[]> {
  const out = new Map<string, RevisionRow[]>();
  for (const row of rows) out.set(row.user_id, [...(out.get(row.user_id) ?? []), row]);
  return out;
}

function perUser(rows: RevisionRow[]): RollForward['users'] {
  const out: RollForward['users'] = {};
  const items = new Map<string, Set<string>>();
  for (const row of rows) {
    const entry = out[row.user_id] ?? { revisions: 0, items: 0 };
    entry.revisions += 1;
    if (row.entity === 'item' && row.item_id)
      items.set(row.user_id, (items.get(row.user_id) ?? new Set()).add(row.item_id));
    out[row.user_id] = entry;
  }
  for (const [userId, ids] of items) (out[userId] as { items: number }).items = ids.size;
  return out;
}

/** Moves one user's collection and item heads to the revisions written back, and recomputes the summaries they touch. */
async function materialise(trx: Transaction<Database>, userId: string, rows: RevisionRow[]): Promise<void> {
  const collections = new Map<string, { first: RevisionRow; last: RevisionRow }>();
  const items = new Map<string, { first: RevisionRow; last: RevisionRow }>();
  for (const row of rows) {
    const map = row.entity === 'item' ? items : collections;
    const key = row.entity === 'item' ? (row.item_id as string) : row.collection_id;
    map.set(key, { first: map.get(key)?.first ?? row, last: row });
  }
  for (const { first, last } of collections.values()) {
    await upsertCollectionFields(trx, {
      user_id: userId,
      id: last.collection_id,
      ...collectionFields(last),
      deleted: last.op === 'delete' ? 1 : 0,
      head_seq: last.seq,
      item_count: 0,
      digest: EMPTY_DIGEST,
      created_at: first.created_at,
      updated_at: last.created_at,
    });
  }
  const before = await readItemHeads(trx, userId, [...items.keys()]);
  const touched = new Set<string>();
  for (const [id, { last }] of items) {
    touched.add(last.collection_id);
    const previous = before.get(id);
    if (previous) touched.add(previous.collection_id);
  }
  await upsertItemHeadRows(
    trx,
    [...items].map(([id, { first, last }]) => ({
      user_id: userId,
      id,
      collection_id: last.collection_id,
      head_seq: last.seq,
      deleted: last.op === 'delete' ? 1 : 0,
      content_hash: last.op === 'delete' ? null : last.content_hash,
      size: last.op === 'delete' ? 0 : last.size,
      created_at: first.created_at,
      updated_at: last.created_at,
    })),
  );
  for (const collectionId of touched) await recountCollection(trx, userId, collectionId);
}
