import { openRepository, type Repository, readAccountState, readJournalSegment, typePrefix } from '@holdfast/backup';
import { readGeneration } from '../store/meta.js';
import { accountFingerprint, readAccountTables } from './account-tables.js';
import { newestAccountState } from './repository-view.js';
import type { ShipDeps, TargetRuntime } from './target-runtime.js';
import { backupSecret } from './targets.js';

/** What a standby server keeps open to follow another server's shipping: the repository and segments read. */
export interface Follower {
  repo: Repository;
  /** toSeq and generation of every journal segment read so far, by object name. */
  segments: Map<string, { generation: string; toSeq: number }>;
  /** Every account state read so far, by object name: its place and the fingerprint of its tables. */
  accounts: Map<string, { generation: string; seq: number; createdAt: string; fingerprint: string }>;
}

async function follow(deps: ShipDeps, runtime: TargetRuntime & { follower: Follower | null }): Promise<Follower> {
  runtime.follower ??= {
    repo: await openRepository(runtime.target, backupSecret(deps.config), { clock: () => new Date(deps.now()) }),
    segments: new Map(),
    accounts: new Map(),
  };
  return runtime.follower;
}

/**
 * The highest seq another server has shipped to this target for this
 * database's generation, read from the target itself (new segments only), so
 * a standby server's writes are acknowledged once the holder has shipped
 * them. The chain is written in order, so its highest toSeq covers every seq
 * below it.
 */
export async function followShippedSeq(
  deps: ShipDeps,
  runtime: TargetRuntime & { follower: Follower | null },
): Promise<number> {
  const { repo, segments } = await follow(deps, runtime);
  const generation = await readGeneration(deps.db.kysely);
  let head = -1;
  for (const name of await repo.target.listObjects(typePrefix('journal'))) {
    let info = segments.get(name);
    if (!info) {
      const segment = await readJournalSegment(repo, name);
      info = { generation: segment.generation, toSeq: segment.toSeq };
      segments.set(name, info);
    }
    if (info.generation === generation) head = Math.max(head, info.toSeq);
  }
  return head;
}

/**
 * The account epoch (ack-gate.ts) whose changes the holder has shipped to
 * this target, or null when it has not yet: the newest account state of this
 * generation on the target holds exactly the tables this server reads now.
 * The epoch is read before the tables, so every change it counts is in them.
 * (Under a steady stream of account changes the two may rarely agree; the
 * waiting change then times out as any write does.)
 */
export async function followAccountEpoch(
  deps: ShipDeps,
  runtime: TargetRuntime & { follower: Follower | null },
): Promise<number | null> {
  const epoch = deps.accountEpoch?.() ?? 0;
  const wanted = accountFingerprint(await readAccountTables(deps.db));
  const { repo, accounts } = await follow(deps, runtime);
  const generation = await readGeneration(deps.db.kysely);
  for (const name of await repo.target.listObjects(typePrefix('accounts'))) {
    if (accounts.has(name)) continue;
    const state = await readAccountState(repo, name);
    const { seq, createdAt } = state;
    accounts.set(name, { generation: state.generation, seq, createdAt, fingerprint: accountFingerprint(state) });
  }
  const newest = newestAccountState({ accounts }, generation);
  return newest !== null && accounts.get(newest)?.fingerprint === wanted ? epoch : null;
}
