import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The project's own corpus of client-written vCard and iCalendar files (see its README). */
export const bundledCorpusDir = join(root, 'test/fixtures/corpus');

/**
 * A further corpus with the same layout (`vcard/*.vcf`, `ical/*.ics`), read
 * in addition to the bundled one: HOLDFAST_EXTRA_CORPUS_DIR, or its older
 * name HOLDFAST_CORPUS_DIR.
 */
export const extraCorpusDir: string | null = extraDir();

function extraDir(): string | null {
  const given = process.env.HOLDFAST_EXTRA_CORPUS_DIR || process.env.HOLDFAST_CORPUS_DIR;
  if (!given) return null;
  const dir = resolve(root, given);
  // Asked for but absent would silently test less than was asked for.
  if (!existsSync(join(dir, 'vcard')) || !existsSync(join(dir, 'ical')))
    throw new Error(`HOLDFAST_EXTRA_CORPUS_DIR=${given}: no vcard/ and ical/ folders in ${dir}`);
  return dir;
}

export type CorpusSource = 'bundled' | 'extra';

export interface CorpusFile {
  name: string;
  source: CorpusSource;
  bytes: Buffer;
  /** The file as a careful client would push it: a JS string. */
  text: string;
  /** How the bytes were read into `text`. */
  encoding: string;
}

/**
 * Every `.vcf` (or `.ics`) file in `<corpus>/<folder>`, bundled corpus first,
 * then the extra one when it is set; each sorted by name. `source` limits the
 * list to one of them.
 */
export function corpusFiles(folder: 'vcard' | 'ical', source?: CorpusSource): CorpusFile[] {
  const dirs: [CorpusSource, string][] = [['bundled', bundledCorpusDir]];
  if (extraCorpusDir) dirs.push(['extra', extraCorpusDir]);
  const extension = folder === 'vcard' ? '.vcf' : '.ics';
  return dirs
    .filter(([which]) => source === undefined || which === source)
    .flatMap(([which, base]) => {
      const dir = join(base, folder);
      return readdirSync(dir)
        .filter((name) => name.endsWith(extension))
        .sort()
        .map((name) => {
          const bytes = readFileSync(join(dir, name));
          return { name, source: which, bytes, ...decodeLikeAClient(bytes) };
        });
    });
}

/** The one line a run prints when only the bundled corpus is tested. */
export function corpusNotice(): string | null {
  if (process.env.HOLDFAST_EXTRA_CORPUS_DIR || process.env.HOLDFAST_CORPUS_DIR) return null;
  return 'corpus tests ran on the bundled corpus (test/fixtures/corpus) only; set HOLDFAST_EXTRA_CORPUS_DIR to a folder with vcard/ and ical/ to add another';
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
      return { text: whatwgDecode(charset, bytes), encoding: charset.toLowerCase() };
    } catch {
      // The declared charset is unknown here or does not fit the bytes: fall through to Latin-1.
    }
  }
  return { text: bytes.toString('latin1'), encoding: 'latin1' };
}

/** WHATWG index-windows-1252 for bytes 0x80–0x9F, which Node 20's decoder reads as C1 controls. */
const CP1252_C1 = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

/** A declared charset as the WHATWG Encoding Standard reads it (windows-1252 is not Latin-1). */
function whatwgDecode(label: string, bytes: Buffer): string {
  const decoder = new TextDecoder(label, { fatal: true });
  const text = decoder.decode(bytes);
  if (decoder.encoding !== 'windows-1252') return text;
  return text.replace(/[\u0080-\u009F]/g, (c) => CP1252_C1[c.charCodeAt(0) - 0x80] as string);
}

function strictUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

/** The cards of a multi-card file, each as its own text. */
export function splitCards(text: string): string[] {
  return text.match(/^BEGIN:VCARD\b[\s\S]*?^END:VCARD[^\S\r\n]*$/gim) ?? [];
}
