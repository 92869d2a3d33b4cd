import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared real-world corpus (read-only). Override with HOLDFAST_CORPUS_DIR. */
export const corpusDir =
  process.env.HOLDFAST_CORPUS_DIR ??
  resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../../../shared/corpus');

/** One corpus file decoded to the string a client would send. */
export interface CorpusFile {
  name: string;
  text: string;
}

/**
 * Every file in `corpus/<folder>`, sorted by name. Bytes are decoded as a
 * client would before sending: a UTF-16 BOM decides, valid UTF-8 is UTF-8,
 * anything else is read as Latin-1 (one character per byte, nothing lost).
 */
export function corpusFiles(folder: 'vcard' | 'ical'): CorpusFile[] {
  const dir = join(corpusDir, folder);
  return readdirSync(dir)
    .filter((name) => name.endsWith(folder === 'vcard' ? '.vcf' : '.ics'))
    .sort()
    .map((name) => ({ name, text: decode(readFileSync(join(dir, name))) }));
}

function decode(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

/** The cards of a multi-card file, each as its own text. */
export function splitCards(text: string): string[] {
  return text.match(/^BEGIN:VCARD\b[\s\S]*?^END:VCARD[^\S\r\n]*$/gim) ?? [];
}
