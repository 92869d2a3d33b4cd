import { decodeCursor, encodeCursor } from '@holdfast/protocol';
import { davError } from './dav-error.js';
import { DAV } from './xml-write.js';

/**
 * RFC 6578 sync tokens are URIs; ours carry a cursor into the revision log:
 * the database's generation and a sequence number. The generation changes
 * when the server is restored or replaced, so a token from before a restore
 * is refused and the client resynchronises instead of trusting a log that
 * no longer contains what it saw.
 */
const PREFIX = 'https://holdfast.dev/sync/';

export function syncTokenFor(generation: string, seq: number): string {
  return `${PREFIX}${encodeCursor({ generation, seq })}`;
}

const VALID_SYNC_TOKEN = { ns: DAV, name: 'valid-sync-token' };

/** The sequence number a client's token stands for; refuses tokens of another lineage or from the future. */
export function parseSyncToken(token: string, generation: string, head: number): number {
  const invalid = (why: string) =>
    davError('forbidden', `Invalid sync token: ${why}; synchronise again from scratch.`, VALID_SYNC_TOKEN);
  if (!token.startsWith(PREFIX)) throw invalid('not a token this server issued');
  let position: { generation: string; seq: number };
  try {
    position = decodeCursor(token.slice(PREFIX.length));
  } catch {
    throw invalid('not a token this server issued');
  }
  if (position.generation !== generation) {
    throw invalid('the server was restored or replaced since it was issued');
  }
  if (position.seq > head) throw invalid('it is ahead of the server, which has lost changes');
  return position.seq;
}
