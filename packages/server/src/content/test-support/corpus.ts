import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared real-world corpus (read-only). Override with HOLDFAST_CORPUS_DIR. */
export const corpusDir =
  process.env.HOLDFAST_CORPUS_DIR ??
  resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../../../shared/corpus');

export interface CorpusFile {
  name: string;
  bytes: Buffer;
  /** The file as a careful client would push it: a JS string. */
  text: string;
  /** How the bytes were read into `text`. */
  encoding: string;
}

/** Every file in `corpus/<folder>` with the given extension, sorted by name. */
export function corpusFiles(folder: 'vcard' | 'ical', extension: string): CorpusFile[] {
  const dir = join(corpusDir, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name));
      return { name, bytes, ...decodeLikeAClient(bytes) };
    });
}

/**
 * Reads file bytes the way a careful client does before pushing (the wire
 * carries strings, so the client picks the charset):
 * 1. a UTF-16 BOM decides;
 * 2. valid UTF-8 is UTF-8;
 * 3. UTF-8 that is only broken by folds splitting a character is unfolded
 *    byte-wise first, then decoded;
 * 4. a CHARSET parameter in the file names the legacy charset;
 * 5. otherwise Latin-1, which maps every byte to one character, so nothing is lost.
 */
export function decodeLikeAClient(bytes: Buffer): { text: string; encoding: string } {
  if (bytes[0] === 0xff && bytes[1] === 0xfe)
    return { text: new TextDecoder('utf-16le').decode(bytes), encoding: 'utf-16le' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return { text: new TextDecoder('utf-16be').decode(bytes), encoding: 'utf-16be' };
  const utf8 = strictUtf8(bytes);
  if (utf8 !== null) return { text: utf8, encoding: 'utf-8' };
  const unfolded = strictUtf8(Buffer.from(bytes.toString('latin1').replace(/\r?\n[ \t]/g, ''), 'latin1'));
  if (unfolded !== null) return { text: unfolded, encoding: 'utf-8 (unfolded bytes)' };
  const charset = /CHARSET=([A-Za-z0-9_-]+)/i.exec(bytes.toString('latin1'))?.[1];
  if (charset && charset.toUpperCase() !== 'UTF-8') {
    try {
      return { text: new TextDecoder(charset, { fatal: true }).decode(bytes), encoding: charset.toLowerCase() };
    } catch {
      // The declared charset is unknown here or does not fit the bytes: fall through to Latin-1.
    }
  }
  return { text: bytes.toString('latin1'), encoding: 'latin1' };
}

function strictUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
