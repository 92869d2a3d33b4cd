import { AppError } from '@holdfast/protocol';
import type { Config } from '../config.js';
import type { Db } from '../store/database.js';
import { insertDismissal, listNoticeEntries, readLedgerEntry } from '../store/notifications.js';
import { findUserById } from '../store/users.js';
import { tellingFor } from './telling.js';
import { namesFor, shareOf, TELLING_KINDS, touchesPerson } from './touched.js';

/**
 * The portal's banner: the entries a person is (or would be) mailed about,
 * newest first, until they dismiss them. Dismissing is kept apart from the
 * ledger, which never changes.
 */
export interface Notice {
  seq: number;
  at: string;
  kind: string;
  summary: string;
  scope: 'user' | 'deployment';
  happened: string;
  yours: string;
  cameBack: string;
  todo: string;
}

interface NoticeDeps {
  config: Pick<Config, 'noticesMax' | 'noticesMaxAgeMs'>;
  db: Db;
  now: () => number;
}

export async function listNotices(deps: NoticeDeps, userId: string): Promise<Notice[]> {
  const user = await findUserById(deps.db.kysely, userId);
  if (!user) return [];
  // Deployment-wide entries from before the account existed did not touch it.
  const since = Math.max(Number(user.created_at), deps.now() - deps.config.noticesMaxAgeMs);
  const rows = await listNoticeEntries(deps.db, userId, { kinds: TELLING_KINDS, since, limit: deps.config.noticesMax });
  const touching = rows.filter((row) => touchesPerson(row, userId));
  if (touching.length === 0) return [];
  const names = await namesFor(deps.db, userId);
  return touching.map((row) => {
    const telling = tellingFor(row, shareOf(row, userId), names);
    return {
      seq: row.seq,
      at: new Date(Number(row.at)).toISOString(),
      kind: row.kind,
      summary: telling.headline,
      scope: row.user_id === null ? 'deployment' : 'user',
      happened: telling.happened,
      yours: telling.yours,
      cameBack: telling.cameBack,
      todo: telling.todo,
    };
  });
}

/** Hides one notice from the person's banner; an entry that is not theirs to see is `not_found`. */
export async function dismissNotice(deps: NoticeDeps, userId: string, seq: number): Promise<void> {
  const user = await findUserById(deps.db.kysely, userId);
  const row = await readLedgerEntry(deps.db, seq);
  const visible =
    user &&
    row &&
    TELLING_KINDS.includes(row.kind) &&
    touchesPerson(row, userId) &&
    (row.user_id !== null || Number(row.at) >= Number(user.created_at));
  if (!visible) throw new AppError('not_found', `No notice ${seq}.`);
  await insertDismissal(deps.db, userId, seq, deps.now());
}
