import { decodeCursor, encodeCursor } from '@holdfast/protocol';
import type { Queryable } from '../store/queryable.js';
import { chainPrefix } from '../store/revision-chain.js';
import { readChainAt } from '../store/revision-log.js';
import { chainMatches } from '../sync/changes.js';
import { davError } from './dav-error.js';
import { DAV } from './xml-write.js';

/**
 * RFC 6578 sync tokens are URIs; ours carry a cursor into the revision log:
 * the database's generation, a sequence number and the log's chain value
 * there. The generation changes when the server is restored or replaced,
 * and the chain value differs when the log was rolled back and written
 * again, so a token from before either is refused and the client
 * resynchronises instead of trusting a log that no longer contains what it
 * saw.
 */
const PREFIX = 'https://holdfast.dev/sync/';

export function syncTokenFor(generation: string, seq: number, chain?: string): string {
  return `${PREFIX}${encodeCursor({ generation, seq, ...(chain === undefined ? {} : { chain: chainPrefix(chain) }) })}`;
}

/** The token for `seq`, with the log's chain value there. */
export async function syncTokenAt(on: Queryable, generation: string, seq: number): Promise<string> {
  return syncTokenFor(generation, seq, await readChainAt(on, seq));
}

const VALID_SYNC_TOKEN = { ns: DAV, name: 'valid-sync-token' };

/**
 * The sequence number a client's token stands for; refuses tokens of another
 * lineage, from the future, or whose position now holds other revisions.
 * Tokens without a chain value (issued before the log was chained) are
 * checked as before.
 */
export async function parseSyncToken(on: Queryable, token: string, generation: string, head: number): Promise<number> {
  const invalid = (why: string) =>
    davError('forbidden', `Invalid sync token: ${why}; synchronise again from scratch.`, VALID_SYNC_TOKEN);
  if (!token.startsWith(PREFIX)) throw invalid('not a token this server issued');
  let position: { generation: string; seq: number; chain?: string };
  try {
    position = decodeCursor(token.slice(PREFIX.length));
  } catch {
    throw invalid('not a token this server issued');
  }
  if (position.generation !== generation) {
    throw invalid('the server was restored or replaced since it was issued');
  }
  if (position.seq > head) throw invalid('it is ahead of the server, which has lost changes');
  if (position.chain !== undefined && !(await chainMatches(on, position.seq, position.chain))) {
    throw invalid('the server was rolled back and has other changes since it was issued');
  }
  return position.seq;
}
