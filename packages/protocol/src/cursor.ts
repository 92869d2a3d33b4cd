import { AppError } from './errors.js';

/**
 * A position in the revision log. The generation names the database lineage:
 * it changes when the database is restored or replaced, so a cursor from an
 * older lineage can never be mistaken for a position in the new one.
 */
export interface CursorPosition {
  generation: string;
  seq: number;
  /**
   * The first 8 bytes (16 hex digits) of the revision log's chain value at
   * `seq`: a log rolled back and written again has other revisions at the
   * same numbers, and a different chain value there. Absent in cursors from
   * before the log was chained (format `c1`), which are still accepted.
   */
  chain?: string;
}

/** Encodes a position as the opaque string clients store and send back (`c2` when it carries a chain value). */
export function encodeCursor(position: CursorPosition): string {
  if (position.chain === undefined) return toBase64Url(`c1:${position.generation}:${position.seq}`);
  if (!CHAIN.test(position.chain)) throw new AppError('internal', 'A cursor chain value is 16 lowercase hex digits.');
  return toBase64Url(`c2:${position.generation}:${position.seq}:${position.chain}`);
}

const CHAIN = /^[0-9a-f]{16}$/;
const FORMAT =
  /^(?:c1:([A-Za-z0-9_-]{8,64}):(0|[1-9][0-9]{0,15})|c2:([A-Za-z0-9_-]{8,64}):(0|[1-9][0-9]{0,15}):([0-9a-f]{16}))$/;

/** Decodes a cursor of either format; a malformed one is an `invalid_cursor` error. */
export function decodeCursor(cursor: string): CursorPosition {
  const raw = fromBase64Url(cursor);
  const match = raw === null ? null : FORMAT.exec(raw);
  if (!match || toBase64Url(raw as string) !== cursor) {
    throw new AppError('invalid_cursor', 'The cursor is not one this server issued.');
  }
  if (match[1] !== undefined) return { generation: match[1], seq: Number(match[2]) };
  return { generation: match[3] as string, seq: Number(match[4]), chain: match[5] as string };
}

// The cursor text is ASCII, so btoa/atob suffice and the module stays usable in browsers.
function toBase64Url(ascii: string): string {
  return btoa(ascii).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  try {
    return atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  } catch {
    return null;
  }
}
