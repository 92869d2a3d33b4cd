import { decodeText, detectUtf16, utf16ToUtf8 } from './charset.js';
import { physicalLines } from './line-reader.js';

/** One vCard cut from a file: its own text, decoded from its own bytes. */
export interface CardSlice {
  kind: 'card';
  /** Line of its BEGIN:VCARD in the file. */
  line: number;
  text: string;
  /** How its bytes were decoded (see charset.ts). */
  encoding: string;
}

/** A part of the file that is not a whole vCard, and why. */
export interface FileProblem {
  kind: 'problem';
  line: number;
  reason: string;
  /** Nothing to keep rather than something refused (a free/busy reply): reported as skipped. */
  skipped?: boolean;
}

/** Larger than any real card (a few photos); the item limit is 1 MiB of text. */
export const MAX_CARD_BYTES = 8 * 1024 * 1024;
const BEGIN = /^(?:\uFEFF|\xEF\xBB\xBF)?BEGIN[ \t]*:[ \t]*VCARD[ \t]*$/i;
const END = /^END[ \t]*:[ \t]*VCARD[ \t]*$/i;
/** After this many lines of text outside any card, the file is not a vCard file: stop reading it. */
const MAX_STRAY_LINES = 10_000;

/**
 * Cuts a .vcf byte stream into cards, holding one card at a time. Each
 * card's bytes (from BEGIN:VCARD to END:VCARD, line ends as written) are
 * decoded on their own, since one file may mix charsets card by card. Cards
 * nested in a card (a 2.1 AGENT) stay inside it. Text outside cards, cards
 * never closed and cards over MAX_CARD_BYTES come out as problems.
 */
export async function* readVcardFile(source: AsyncIterable<Uint8Array>): AsyncGenerator<CardSlice | FileProblem> {
  const [head, stream] = await peek(source);
  const utf16 = detectUtf16(head);
  const bytes = utf16 ? utf16ToUtf8(stream, utf16) : stream;
  let card: { line: number; parts: Buffer[]; size: number; depth: number; tooBig: boolean } | null = null;
  let stray: { first: number; last: number; count: number; preview: string } | null = null;
  let strayTotal = 0;

  for await (const line of physicalLines(bytes, MAX_CARD_BYTES)) {
    if (card === null) {
      if (BEGIN.test(line.ascii)) {
        if (stray) yield strayProblem(stray);
        stray = null;
        card = { line: line.no, parts: [line.raw], size: line.raw.length, depth: 1, tooBig: false };
      } else if (line.ascii.trim().length > 0 || line.tooLong) {
        stray ??= { first: line.no, last: line.no, count: 0, preview: preview(line.ascii) };
        stray.last = line.no;
        stray.count++;
        if (++strayTotal > MAX_STRAY_LINES) {
          yield strayProblem(stray);
          yield {
            kind: 'problem',
            line: line.no,
            reason: `stopped reading: over ${MAX_STRAY_LINES} lines are not vCard data`,
          };
          return;
        }
      }
      continue;
    }
    if (BEGIN.test(line.ascii)) card.depth++;
    else if (END.test(line.ascii)) card.depth--;
    card.size += line.raw.length;
    if (line.tooLong || card.size > MAX_CARD_BYTES) {
      card.tooBig = true;
      card.parts = [];
    } else if (!card.tooBig) {
      card.parts.push(line.raw);
    }
    if (card.depth > 0) continue;
    if (card.tooBig) {
      yield {
        kind: 'problem',
        line: card.line,
        reason: `the vCard starting at line ${card.line} is larger than ${MAX_CARD_BYTES / 1024 / 1024} MiB; not imported`,
      };
    } else {
      const { text, encoding } = decodeText(Buffer.concat(card.parts));
      yield { kind: 'card', line: card.line, text, encoding };
    }
    card = null;
  }
  if (stray) yield strayProblem(stray);
  if (card) {
    yield {
      kind: 'problem',
      line: card.line,
      reason: `BEGIN:VCARD at line ${card.line} is never closed (no END:VCARD before the end of the file; truncated?)`,
    };
  }
}

function strayProblem(stray: { first: number; last: number; count: number; preview: string }): FileProblem {
  const where = stray.first === stray.last ? `line ${stray.first}` : `lines ${stray.first}-${stray.last}`;
  return {
    kind: 'problem',
    line: stray.first,
    reason: `${where}: ${stray.count} line(s) outside any vCard ('${stray.preview}'); not imported`,
  };
}

function preview(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes of binary input are what is being hidden.
  const flat = text.replace(/[\u0000-\u001f\u007f-\u00ff]/g, '?');
  return flat.length > 40 ? `${flat.slice(0, 40)}…` : flat;
}

/** Reads the first bytes of a stream (to sniff it) and gives back a stream that still starts with them. */
export async function peek(
  source: AsyncIterable<Uint8Array>,
  want = 4,
): Promise<[Uint8Array, AsyncIterable<Uint8Array>]> {
  const iterator = source[Symbol.asyncIterator]();
  const seen: Uint8Array[] = [];
  let size = 0;
  let done = false;
  while (size < want) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    seen.push(next.value);
    size += next.value.length;
  }
  const head = Buffer.concat(seen).subarray(0, want);
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield* seen;
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  return [head, rest()];
}
