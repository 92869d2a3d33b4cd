import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Digests,
  digestBuilder,
  listSnapshots,
  type Repository,
  readJournalChain,
  type StoredSnapshot,
  type StoredVerification,
  type Verification,
  writeVerification,
} from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import { countUsers } from '../store/counts.js';
import { type Db, openDatabase, relaxDurabilityForScratch, SCRATCH_CACHE_KIB } from '../store/database.js';
import { readCollectionSummaries, readHeadDigestColumns } from '../store/entity-heads.js';
import { checkSqliteFileIntegrity, type SqliteIntegrity } from '../store/integrity.js';
import { migrateToLatest } from '../store/migrate.js';
import { chainHead, loadSegmentCache, scanRepository } from './repository-view.js';
import { type RestoreResult, restoreRepository } from './restore.js';

/** The outcome of a restore drill. */
export interface DrillResult {
  snapshot: StoredSnapshot;
  verification: StoredVerification;
  durationMs: number;
}

type Check = Verification['checks'][number];

/**
 * A restore drill: "verified" means restored, not merely readable. Restores
 * the newest snapshot into a scratch SQLite database built by the server's
 * own migrations, runs SQLite's integrity and foreign-key checks, compares
 * the per-user digests twice (the summaries the restore maintained, and
 * digests recomputed from the restored log) with the manifest, reads and
 * hashes every referenced blob (or `sample` of them), and reads the journal
 * chain from the snapshot to its head. The result is written to the
 * repository as a verification record, pass or fail.
 */
export async function runDrill(
  repo: Repository,
  options: {
    sample?: number;
    snapshot?: StoredSnapshot /** Parent of the scratch database; the system temp directory if absent. */;
    scratchDir?: string;
  } = {},
): Promise<DrillResult> {
  const started = performance.now();
  const snapshot = options.snapshot ?? (await listSnapshots(repo)).at(-1);
  if (!snapshot) throw new AppError('not_found', `no snapshot on ${repo.target.description} to verify`);
  const checks: Check[] = [];
  const errors: string[] = [];
  const parent = options.scratchDir ?? tmpdir();
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const scratch = await mkdtemp(join(parent, 'holdfast-drill-'));
  const dbPath = join(scratch, 'drill.db');
  const db = openDatabase(dbPath);
  // The journal is read from the target while the restore works in the scratch database.
  const journalErrors: string[] = [];
  const journal = attempt(journalErrors, () => journalCheck(repo, snapshot));
  journal.catch(() => {});
  try {
    await relaxDurabilityForScratch(db);
    await migrateToLatest(db);
    const restored = await attempt(errors, () =>
      restoreRepository(repo, db, {
        snapshot,
        journal: false,
        blobs: { mode: 'hash', ...(options.sample !== undefined ? { sample: options.sample } : {}) },
      }),
    );
    if (restored) {
      checks.push({ name: 'restore', ok: true, detail: `${restored.revisions} records at seq ${restored.seq}` });
      checks.push({
        name: 'blobs',
        ok: true,
        detail: `${restored.blobsRead} blobs, ${restored.blobBytes} bytes read and hashed`,
      });
      checks.push(await accountsCheck(db, restored));
      // SQLite checks the file on a connection of its own while this one recomputes the digests.
      const settled = await Promise.allSettled([
        checkSqliteFileIntegrity(dbPath, SCRATCH_CACHE_KIB).then(integrityCheck),
        summaryDigests(db).then((digests) => compare('summaries', digests, snapshot.manifest.digests)),
        logDigests(db).then((digests) => compare('log digests', digests, snapshot.manifest.digests)),
      ]);
      for (const outcome of settled) {
        if (outcome.status === 'rejected') throw outcome.reason;
        checks.push(outcome.value);
      }
    }
    const journalChecked = await journal;
    errors.push(...journalErrors);
    if (journalChecked) checks.push(journalChecked);
  } finally {
    // However the drill ends, the journal read has finished before it returns.
    await journal.catch(() => {});
    await db.close();
    await rm(scratch, { recursive: true, force: true });
  }
  const record: Verification = {
    time: repo.clock().toISOString(),
    snapshot: snapshot.object,
    ok: errors.length === 0 && checks.every((check) => check.ok),
    checks,
    errors,
  };
  const verification = await writeVerification(repo, record);
  return { snapshot, verification, durationMs: performance.now() - started };
}

async function attempt<T>(errors: string[], work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && error.details?.reason === 'unavailable') throw error;
    errors.push(error instanceof Error ? error.message : String(error));
    return null;
  }
}

/** The restored users table holds exactly the account state's users and the placeholders for the others. */
async function accountsCheck(db: Db, restored: RestoreResult): Promise<Check> {
  const { accounts, placeholderUsers } = restored;
  if (!accounts) return { name: 'accounts', ok: true, detail: 'the snapshot carries no account state' };
  const users = await countUsers(db);
  const expected = accounts.users + placeholderUsers.length;
  const ok = users === expected;
  return {
    name: 'accounts',
    ok,
    detail: `${users} users restored from ${accounts.object} (${placeholderUsers.length} placeholders)${ok ? '' : `, expected ${expected}`}`,
  };
}

function integrityCheck({ integrity, foreignKeyViolations }: SqliteIntegrity): Check {
  const result = integrity.join('; ');
  const ok = result === 'ok' && foreignKeyViolations === 0;
  return {
    name: 'sqlite integrity',
    ok,
    detail: ok
      ? 'integrity_check ok, no foreign key violations'
      : `${result}; ${foreignKeyViolations} foreign key violations`,
  };
}

/** Digests from the collection summaries the restore maintained. */
async function summaryDigests(db: Db): Promise<Digests> {
  const out: Digests = {};
  for (const row of await readCollectionSummaries(db)) {
    if (row.deleted && row.item_count === 0) continue;
    out[row.user_id] ??= {};
    (out[row.user_id] as Digests[string])[row.id] = { count: row.item_count, hash: row.digest };
  }
  return out;
}

/**
 * Digests recomputed from the restored log's head revisions, independently of
 * the summaries. Only the columns digests depend on are read, not the content.
 */
async function logDigests(db: Db): Promise<Digests> {
  const builder = digestBuilder();
  const heads = await readHeadDigestColumns(db);
  for (const row of heads) {
    builder.add({
      userId: row.user_id,
      collectionId: row.collection_id,
      itemId: row.item_id,
      entity: row.entity,
      op: row.op,
      hash: row.content_hash,
    });
  }
  return builder.digests();
}

function compare(name: string, actual: Digests, expected: Digests): Check {
  const differences: string[] = [];
  const users = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  for (const user of [...users].sort()) {
    const a = actual[user] ?? {};
    const e = expected[user] ?? {};
    for (const collection of new Set([...Object.keys(a), ...Object.keys(e)])) {
      const x = a[collection];
      const y = e[collection];
      if (x?.count !== y?.count || x?.hash !== y?.hash) {
        differences.push(
          `user ${user} collection ${collection}: restored ${x ? `${x.count}/${x.hash}` : 'nothing'}, manifest ${y ? `${y.count}/${y.hash}` : 'nothing'}`,
        );
      }
    }
  }
  return {
    name: `${name} match manifest`,
    ok: differences.length === 0,
    detail:
      differences.length === 0 ? `${users.size} users match` : differences.slice(0, 20).join('\n').slice(0, 10_000),
  };
}

async function journalCheck(repo: Repository, snapshot: StoredSnapshot): Promise<Check> {
  const view = await scanRepository(repo, await loadSegmentCache(null));
  const head = chainHead(view, snapshot.manifest.generation);
  if (!head || head.toSeq <= snapshot.manifest.seq) {
    return { name: 'journal chain', ok: true, detail: 'no journal after the snapshot' };
  }
  const chain = await readJournalChain(repo, head.object, snapshot.manifest.seq);
  const revisions = chain.reduce((sum, link) => sum + link.segment.revisions.length, 0);
  return {
    name: 'journal chain',
    ok: true,
    detail: `${chain.length} segments, ${revisions} revisions, seq ${snapshot.manifest.seq + 1}-${head.toSeq}`,
  };
}
