import { AppError } from './errors.js';

/**
 * A position in the revision log. The generation names the database lineage:
 * it changes when the database is restored or replaced, so a cursor from an
 * older lineage can never be mistaken for a position in the new one.
 */
export interface CursorPosition {
  generation: string;
  seq: number;
}

const PREFIX = 'c1';

/** Encodes a position as the opaque string clients store and send back. */
export function encodeCursor(position: CursorPosition): string {
  return toBase64Url(`${PREFIX}:${position.generation}:${position.seq}`);
}

/** Decodes a cursor; a malformed one is an `invalid_cursor` error. */
export function decodeCursor(cursor: string): CursorPosition {
  const raw = fromBase64Url(cursor);
  const match = raw === null ? null : /^c1:([A-Za-z0-9_-]{8,64}):(0|[1-9][0-9]{0,15})$/.exec(raw);
  if (!match || toBase64Url(raw as string) !== cursor) {
    throw new AppError('invalid_cursor', 'The cursor is not one this server issued.');
  }
  return { generation: match[1] as string, seq: Number(match[2]) };
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
