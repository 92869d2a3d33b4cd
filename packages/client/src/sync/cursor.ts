import { decodeCursor } from '@holdfast/protocol';
import { HoldfastError } from '../errors.js';

/**
 * The log position a cursor names, or null for no cursor. The SDK reads it
 * only to notice a server that is behind what the device has already seen.
 */
export function cursorSeq(cursor: string | null): number | null {
  if (cursor === null) return null;
  try {
    return decodeCursor(cursor).seq;
  } catch (error) {
    throw new HoldfastError(
      'unexpected_response',
      'The server issued a cursor this SDK cannot read.',
      null,
      undefined,
      {
        cause: error,
      },
    );
  }
}
