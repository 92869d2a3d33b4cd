import { openRepository, type Repository, readJournalSegment, typePrefix } from '@holdfast/backup';
import { readGeneration } from '../store/meta.js';
import type { ShipDeps, TargetRuntime } from './target-runtime.js';
import { backupSecret } from './targets.js';

/** What a standby server keeps open to follow another server's shipping: the repository and segments read. */
export interface Follower {
  repo: Repository;
  /** toSeq and generation of every journal segment read so far, by object name. */
  segments: Map<string, { generation: string; toSeq: number }>;
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
  runtime.follower ??= {
    repo: await openRepository(runtime.target, backupSecret(deps.config), { clock: () => new Date(deps.now()) }),
    segments: new Map(),
  };
  const { repo, segments } = runtime.follower;
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
