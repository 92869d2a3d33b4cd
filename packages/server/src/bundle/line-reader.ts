/**
 * Physical lines of a byte stream, for cutting files into items without
 * reading them whole. Lines end at CRLF, LF or a lone CR (old Mac files).
 * Each line keeps its raw bytes including its terminator, so an item cut
 * from the stream is exactly the bytes the file had.
 */

export interface PhysicalLine {
  /** 1-based line number. */
  no: number;
  /** The line's bytes including its terminator (empty terminator at end of file). */
  raw: Buffer;
  /** The line without its terminator, as Latin-1 (one character per byte), for matching ASCII keywords. */
  ascii: string;
  /** The line was longer than the limit: `raw` holds only its start and the rest was skipped. */
  tooLong: boolean;
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * Splits a byte stream into lines. A line longer than `maxLine` bytes is
 * reported once with `tooLong` and its remaining bytes are skipped, so one
 * newline-free 50 MB blob never sits in memory.
 */
export async function* physicalLines(source: AsyncIterable<Uint8Array>, maxLine: number): AsyncGenerator<PhysicalLine> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let skipping = false;
  let no = 0;
  // A CR that ended the previous chunk: a LF at the start of the next one belongs to it.
  let carryCr = false;

  const take = (terminator: Buffer): PhysicalLine => {
    const body = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
    const line = {
      no: ++no,
      raw: terminator.length === 0 ? body : Buffer.concat([body, terminator]),
      ascii: body.toString('latin1'),
      tooLong: skipping,
    };
    pending = [];
    pendingBytes = 0;
    skipping = false;
    return line;
  };

  const append = (piece: Buffer) => {
    if (skipping || piece.length === 0) return;
    if (pendingBytes + piece.length > maxLine) {
      // Keep a short start for error messages and let go of the rest, including what was held so far: up to
      // `maxLine` bytes would otherwise stay alive (and be copied again) until the line ends.
      const preview: Buffer[] = [];
      let kept = 0;
      for (const part of [...pending, piece]) {
        if (kept >= PREVIEW_BYTES) break;
        const start = Buffer.from(part.subarray(0, PREVIEW_BYTES - kept));
        preview.push(start);
        kept += start.length;
      }
      pending = preview;
      pendingBytes = kept;
      skipping = true;
      return;
    }
    // Copied: a slice would keep the whole chunk alive for as long as the line is held.
    pending.push(Buffer.from(piece));
    pendingBytes += piece.length;
  };

  for await (const input of source) {
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    let start = 0;
    if (carryCr) {
      carryCr = false;
      if (chunk[0] === LF) {
        start = 1;
        yield take(CRLF);
      } else {
        yield take(CR_ONLY);
      }
    }
    for (let i = start; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== LF && byte !== CR) continue;
      append(chunk.subarray(start, i));
      if (byte === LF) {
        yield take(LF_ONLY);
      } else if (i + 1 === chunk.length) {
        carryCr = true;
      } else if (chunk[i + 1] === LF) {
        i++;
        yield take(CRLF);
      } else {
        yield take(CR_ONLY);
      }
      start = i + 1;
    }
    if (start < chunk.length) append(chunk.subarray(start));
  }
  if (carryCr) yield take(CR_ONLY);
  else if (pendingBytes > 0 || skipping) yield take(NONE);
}

/** How much of an over-long line is kept to show in an error message. */
const PREVIEW_BYTES = 64;
const CRLF = Buffer.from('\r\n');
const LF_ONLY = Buffer.from('\n');
const CR_ONLY = Buffer.from('\r');
const NONE = Buffer.alloc(0);
