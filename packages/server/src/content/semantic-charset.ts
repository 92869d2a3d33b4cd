/**
 * The comparison's own reading of declared charsets (`CHARSET=` on a
 * QUOTED-PRINTABLE value). It shares no code with the importer's decoders
 * (`bundle/charset.ts`, `quoted-printable.ts`), so verify and the round-trip
 * tests catch a decoding mistake there instead of repeating it.
 *
 * Labels are read as WHATWG encodings through TextDecoder. One runtime
 * defect is corrected: Node 20 decodes windows-1252 (and the labels WHATWG
 * maps to it: latin1, ISO-8859-1, US-ASCII) as Latin-1, turning
 * `€ – „ “ …` (0x80–0x9F) into C1 controls. The WHATWG index for those bytes
 * is spelled out below and used only when the runtime gets them wrong.
 */

/** WHATWG index-windows-1252, pointers 0–31 (bytes 0x80–0x9F). */
const WINDOWS_1252_80_9F = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d,
  0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0x009d, 0x017e, 0x0178,
];

const runtimeReadsC1 = new TextDecoder('windows-1252').decode(Uint8Array.of(0x80)) !== '\u20AC';

/** Bytes in the charset a label names; UTF-8 when there is no label or the runtime does not know it. */
export function decodeDeclared(label: string | null, bytes: Uint8Array): string {
  let decoder = new TextDecoder('utf-8');
  try {
    decoder = new TextDecoder(label ?? 'utf-8');
  } catch {
    // A label the runtime does not know (RangeError): read as UTF-8.
  }
  const text = decoder.decode(bytes);
  if (decoder.encoding !== 'windows-1252' || !runtimeReadsC1) return text;
  return text.replace(/[\u0080-\u009F]/g, (c: string) =>
    String.fromCharCode(WINDOWS_1252_80_9F[c.charCodeAt(0) - 0x80] ?? 0),
  );
}

/** A QUOTED-PRINTABLE value (soft breaks already joined) as text, its bytes read in `charset`. */
export function decodeQuotedPrintableText(value: string, charset: string | null): string {
  const bytes: number[] = [];
  const utf8 = new TextEncoder();
  for (let i = 0; i < value.length; ) {
    if (value[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const char = String.fromCodePoint(value.codePointAt(i) ?? 0xfffd);
      bytes.push(...utf8.encode(char));
      i += char.length;
    }
  }
  return decodeDeclared(charset, Uint8Array.from(bytes));
}
