import { join } from 'node:path';
import {
  type JournalHead,
  openRepository,
  type Repository,
  type Revision,
  readJournalChain,
  type Target,
  typePrefix,
} from '@holdfast/backup';
import { AppError } from '@holdfast/protocol';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store.js';
import type { Config } from '../config.js';
import { countUsers } from '../store/counts.js';
import type { Db } from '../store/database.js';
import { readGeneration } from '../store/meta.js';
import { nextChain } from '../store/revision-chain.js';
import { type LogHead, readChainAt, readLogHead } from '../store/revision-log.js';
import { startNewGeneration } from '../sync/lineage.js';
import { chainHead, loadSegmentCache, newestAccountState, scanRepository } from './repository-view.js';
import { toRevisionRow } from './revision-records.js';
import { rollForward } from './roll-forward.js';
import { backupSecret, backupTargetLocations, openBackupTarget } from './targets.js';

export interface WitnessDeps {
  config: Config;
  db: Db;
  log: Logger;
  now: () => number;
  /** Where blobs rolled forward from a target go; without it the database is never rolled forward. */
  blobs?: BlobStore;
}

export interface WitnessOptions {
  /** Start an empty deployment even though the backup targets hold data (`holdfast serve --new-deployment`). */
  newDeployment?: boolean;
}

/** What one target says about the local log. */
type Verdict =
  | { kind: 'agrees' }
  | { kind: 'unknown'; why: string }
  | { kind: 'ahead'; from: number; to: number; head: JournalHead; accounts: string | null }
  | { kind: 'diverged'; from: number; to: number };

/**
 * Compares the database with the journal on each backup target before the
 * server serves. The target is an outside witness: a restore of the whole
 * data directory (database, lineage file and all) takes back every marker
 * kept beside the database, but not what was shipped. The target's chain
 * value at the local head tells the two cases apart:
 *
 * - it continues from the local head with later revisions of the same
 *   chain: the database was put back to an older copy, or lost its last
 *   commits, and nothing wrote since. Those revisions are applied from the
 *   target's journal before serving and the ledger records `rolled_forward`
 *   (roll-forward.ts): same generation, every cursor stays valid;
 * - the chains disagree (or the roll forward cannot be done): the database
 *   was rolled back and written again. It gets a new generation, so every
 *   cursor and sync token from before is refused and devices re-seed, and
 *   the ledger records `rollback_detected` with the revisions it lacks
 *   (which the target still holds: `holdfast backup restore` brings them back);
 * - an empty database while a target holds data is almost always a missing
 *   restore: the server refuses to start unless told it is a new deployment.
 *
 * A target that cannot be read is logged and skipped: backups never stop the
 * server serving.
 */
export async function witnessBackupTargets(deps: WitnessDeps, options: WitnessOptions = {}): Promise<void> {
  const { config, db, log } = deps;
  const locations = backupTargetLocations(config);
  if (locations.length === 0) return;
  let local = await readLogHead(db);
  const empty = local.seq === 0 && (await countUsers(db)) === 0;
  for (const [index, location] of locations.entries()) {
    if (empty) {
      if (options.newDeployment) continue;
      if (await holdsData(deps, location)) {
        throw new AppError(
          'precondition_failed',
          `The data directory ${config.dataDir} is empty but backup target ${index + 1} (${location}) holds data: restore it with \`holdfast backup restore --target ${index + 1} --to-data ${config.dataDir}\`, or start a new, empty deployment on purpose with \`holdfast serve --new-deployment\`.`,
          { target: location },
        );
      }
      continue;
    }
    let verdict: Verdict;
    let target: Target | undefined;
    try {
      target = openBackupTarget(location, config);
      const repo = await openRepository(target, backupSecret(config));
      verdict = await compare(deps, repo, local);
      if (verdict.kind === 'ahead' && (await rolledForward(deps, repo, location, local, verdict))) {
        local = await readLogHead(db);
        continue;
      }
    } catch (error) {
      log.warn(
        { target: location, err: (error as Error).message },
        'could not compare the database with the backup target',
      );
      continue;
    } finally {
      await target?.close().catch(() => {});
    }
    if (verdict.kind === 'unknown') {
      log.info({ target: location, why: verdict.why }, 'backup target gives no evidence about the database head');
      continue;
    }
    if (verdict.kind === 'agrees') continue;
    await rolledBack(deps, location, local, verdict);
    return;
  }
}

/**
 * Applies what the target holds after the local head (roll-forward.ts).
 * False when that cannot be done: the database is then treated as rolled
 * back, as when the chains diverge.
 */
async function rolledForward(
  deps: WitnessDeps,
  repo: Repository,
  location: string,
  local: LogHead,
  verdict: Extract<Verdict, { kind: 'ahead' }>,
): Promise<boolean> {
  if (!deps.blobs) return false;
  try {
    const done = await rollForward(
      { db: deps.db, blobs: deps.blobs, now: deps.now },
      repo,
      { head: verdict.head, accounts: verdict.accounts, location },
      local,
    );
    deps.log.warn(
      { target: location, head: local.seq, from: done.from, to: done.to, revisions: done.revisions },
      'database was behind the backup target: rolled forward from its journal',
    );
    return true;
  } catch (error) {
    deps.log.error(
      { target: location, err: (error as Error).message },
      'could not roll the database forward from the backup target',
    );
    return false;
  }
}

async function holdsData(deps: WitnessDeps, location: string): Promise<boolean> {
  let target: Target | undefined;
  try {
    target = openBackupTarget(location, deps.config);
    for (const type of ['journal', 'snapshot'] as const) {
      if ((await target.listObjects(typePrefix(type))).length > 0) return true;
    }
  } catch (error) {
    deps.log.warn({ target: location, err: (error as Error).message }, 'could not list the backup target');
  } finally {
    await target?.close().catch(() => {});
  }
  return false;
}

async function compare(deps: WitnessDeps, repo: Repository, local: LogHead): Promise<Verdict> {
  const generation = await readGeneration(deps.db);
  // The cache only holds immutable facts about segments, so an old copy of it is still right.
  const cache = await loadSegmentCache(join(deps.config.dataDir, 'backup-cache', `${repo.id}.json`));
  const view = await scanRepository(repo, cache);
  const head = chainHead(view, generation);
  if (!head) return { kind: 'unknown', why: 'no journal of this generation' };
  const common = Math.min(local.seq, head.toSeq);
  // The journal may start after a snapshot: read back only as far as it goes, and no further than `common`.
  let start = head.toSeq + 1;
  for (let object: string | null = head.object; object !== null; ) {
    const info = view.segments.get(object);
    if (!info) break;
    start = info.fromSeq;
    if (info.fromSeq <= common) break;
    object = info.prev;
  }
  const segments = await readJournalChain(repo, head.object, Math.max(0, Math.max(common, start) - 1));
  const revisions = segments.flatMap(({ segment }) => segment.revisions);
  if (revisions.some((r) => r.chain === undefined)) return { kind: 'unknown', why: 'the journal predates the chain' };
  const theirs = revisions.filter((r) => r.seq <= common).at(-1);
  if (!theirs) {
    // Nothing to compare at the head itself: the target's next revision must continue the local chain.
    const next = revisions.find((r) => r.seq > local.seq);
    if (!next || next.seq !== local.seq + 1) return { kind: 'unknown', why: 'the journal does not reach the head' };
    return nextChain(local.chain, toRevisionRow(next)) === next.chain
      ? { kind: 'ahead', from: next.seq, to: head.toSeq, head, accounts: newestAccountState(view, generation) }
      : { kind: 'diverged', from: next.seq, to: head.toSeq };
  }
  if ((await readChainAt(deps.db, theirs.seq)) === theirs.chain) {
    return head.toSeq > local.seq
      ? { kind: 'ahead', from: local.seq + 1, to: head.toSeq, head, accounts: newestAccountState(view, generation) }
      : { kind: 'agrees' };
  }
  // The chains part at or before `theirs`; agreement holds for a prefix of the log, so search for where.
  let low = 0;
  let high = revisions.indexOf(theirs);
  while (low < high) {
    const mid = (low + high) >> 1;
    const revision = revisions[mid] as Revision;
    if ((await readChainAt(deps.db, revision.seq)) === revision.chain) low = mid + 1;
    else high = mid;
  }
  return { kind: 'diverged', from: revisions[high]?.seq ?? theirs.seq, to: head.toSeq };
}

async function rolledBack(
  deps: WitnessDeps,
  location: string,
  local: LogHead,
  verdict: Extract<Verdict, { kind: 'ahead' | 'diverged' }>,
): Promise<void> {
  const generation = await readGeneration(deps.db);
  const what =
    verdict.kind === 'ahead'
      ? `backup target ${location} holds revisions ${verdict.from}-${verdict.to} after this database's head ${local.seq}`
      : `backup target ${location} holds other revisions ${verdict.from}-${verdict.to} than this database (head ${local.seq})`;
  const next = await startNewGeneration(deps.db, generation, {
    summary: `The database was rolled back: ${what}. It now runs on a new lineage; devices re-upload what they hold, and \`holdfast backup restore\` brings back what the target holds.`,
    details: { head: local.seq, lostFrom: verdict.from, lostTo: verdict.to, target: location, witness: verdict.kind },
    now: deps.now(),
  });
  deps.log.error(
    {
      previousGeneration: generation,
      generation: next,
      head: local.seq,
      lostFrom: verdict.from,
      lostTo: verdict.to,
      target: location,
    },
    'database rollback detected by the backup target',
  );
}
