/**
 * Turning the bytes of an imported vCard or iCalendar file into text. Every
 * charset workaround lives here, so the rest of the import sees JS strings.
 *
 * Real files come in UTF-8, UTF-16 (with or without a byte order mark),
 * Shift_JIS, Windows-125x and Latin-1, sometimes declared per property with
 * `CHARSET=`, sometimes not declared at all, and sometimes as UTF-8 whose
 * multi-byte characters were cut in two by line folding. The rules, in order:
 *
 * 1. A UTF-16 byte order mark, or the NUL pattern of UTF-16 text that starts
 *    with ASCII (`B\0E\0G\0…`), decides the whole file.
 * 2. Bytes that are valid UTF-8 are UTF-8.
 * 3. UTF-8 that is valid once folds splitting a character are removed is
 *    UTF-8 with those folds removed (folding is not content).
 * 4. A `CHARSET=` the text declares names the legacy charset.
 * 5. Otherwise windows-1252 (what Outlook and Windows write), which maps every
 *    byte to its own character, so nothing is lost and the bytes can be recovered.
 */

export type Utf16 = 'utf-16le' | 'utf-16be';

/** The UTF-16 flavour the first bytes of a file announce, or null for an ASCII-compatible file. */
export function detectUtf16(head: Uint8Array): Utf16 | null {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  // No mark: "BE" (of BEGIN) in UTF-16 is B\0E\0 (LE) or \0B\0E (BE).
  if (head.length >= 4 && head[1] === 0 && head[3] === 0 && head[0] !== 0 && head[2] !== 0) return 'utf-16le';
  if (head.length >= 4 && head[0] === 0 && head[2] === 0 && head[1] !== 0 && head[3] !== 0) return 'utf-16be';
  return null;
}

/**
 * Re-encodes a UTF-16 byte stream as UTF-8, chunk by chunk (a character or
 * surrogate pair split between chunks is carried over), dropping the mark.
 */
export async function* utf16ToUtf8(source: AsyncIterable<Uint8Array>, encoding: Utf16): AsyncGenerator<Buffer> {
  const decoder = new TextDecoder(encoding);
  for await (const chunk of source) {
    const text = decoder.decode(chunk, { stream: true });
    if (text.length > 0) yield Buffer.from(text, 'utf8');
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield Buffer.from(rest, 'utf8');
}

/** Text decoded from bytes, and how: `utf-8`, `utf-8 (folds inside characters removed)`, or a charset label. */
export interface DecodedText {
  text: string;
  encoding: string;
}

const UTF8_BOM = /^\uFEFF/;

/**
 * Decodes one vCard or one calendar (ASCII-compatible bytes; UTF-16 is
 * re-encoded before this by `utf16ToUtf8`) following rules 2–5 above.
 */
export function decodeText(bytes: Uint8Array): DecodedText {
  const utf8 = strictDecode('utf-8', bytes);
  if (utf8 !== null) return { text: utf8.replace(UTF8_BOM, ''), encoding: 'utf-8' };
  const unfolded = strictDecode('utf-8', removeFoldsInsideCharacters(bytes));
  if (unfolded !== null) {
    return { text: unfolded.replace(UTF8_BOM, ''), encoding: 'utf-8 (folds inside characters removed)' };
  }
  for (const label of declaredCharsets(bytes)) {
    const text = strictDecode(label, bytes);
    if (text !== null) return { text, encoding: label };
  }
  return { text: decodeWindows1252(bytes), encoding: 'windows-1252' };
}

/** Windows-1252's 0x80–0x9F; the five bytes it leaves undefined keep their Latin-1 code points. */
const CP1252_HIGH =
  '\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F' +
  '\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178';

/**
 * Windows-1252 spelled out: Node's TextDecoder has treated this label as
 * Latin-1 in some versions, and the result must not depend on the runtime.
 * Every byte maps to a distinct character, so the bytes can be recovered.
 */
export function decodeWindows1252(bytes: Uint8Array): string {
  const latin1 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return latin1.replace(/[\u0080-\u009F]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] as string);
}

function strictDecode(label: string, bytes: Uint8Array): string | null {
  try {
    return decodeCharset(label, bytes, true);
  } catch {
    // Unknown label (RangeError) or bytes that do not fit it (TypeError): try the next rule.
    return null;
  }
}

/**
 * Decodes bytes in a charset named by its WHATWG label (`Windows-1252`,
 * `Shift_JIS`, `ISO-8859-15`…). Labels that mean windows-1252 (WHATWG counts
 * `latin1`, `ISO-8859-1` and `US-ASCII` among them) go through
 * decodeWindows1252, since Node's own decoder reads 0x80–0x9F as C1 controls
 * there. Throws RangeError for an unknown label and, when `fatal`, TypeError
 * for bytes the charset cannot hold.
 */
export function decodeCharset(label: string, bytes: Uint8Array, fatal = false): string {
  const decoder = new TextDecoder(label, { fatal });
  return decoder.encoding === 'windows-1252' ? decodeWindows1252(bytes) : decoder.decode(bytes);
}

/**
 * Removes a line break plus the one blank that folds it wherever it sits
 * between the bytes of one UTF-8 character (a lead or continuation byte
 * before, a continuation byte after). Folds elsewhere are left as they are.
 */
export function removeFoldsInsideCharacters(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  let length = 0;
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i] as number;
    if ((byte === 0x0d || byte === 0x0a) && length > 0 && (out[length - 1] as number) >= 0x80) {
      let j = i;
      if (bytes[j] === 0x0d) j++;
      if (bytes[j] === 0x0a) j++;
      const blank = bytes[j];
      const next = bytes[j + 1];
      if ((blank === 0x20 || blank === 0x09) && next !== undefined && next >= 0x80 && next <= 0xbf) {
        i = j + 1;
        continue;
      }
    }
    out[length++] = byte;
    i++;
  }
  return out.subarray(0, length);
}

const CHARSET_PARAM = /CHARSET=("?)([A-Za-z0-9_.-]+)\1/gi;

/** The non-UTF-8 charsets a text declares in `CHARSET=` parameters, in order of first use. */
export function declaredCharsets(bytes: Uint8Array): string[] {
  const ascii = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const labels: string[] = [];
  for (const match of ascii.matchAll(CHARSET_PARAM)) {
    const label = (match[2] as string).toLowerCase();
    if (label !== 'utf-8' && label !== 'utf8' && !labels.includes(label)) labels.push(label);
  }
  return labels;
}
