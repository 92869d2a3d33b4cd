import { decodeCharset } from '../bundle/charset.js';

/**
 * Decodes a vCard 2.1 QUOTED-PRINTABLE value (soft line breaks already
 * removed) into text, reading the bytes in `charset` (UTF-8 when absent or
 * unknown to this runtime). Used for derived fields only; the stored vCard
 * keeps the encoded original.
 */
export function decodeQuotedPrintable(value: string, charset: string | null): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  let i = 0;
  while (i < value.length) {
    const hex = value[i] === '=' ? value.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    } else {
      // Not an escape: keep the character's own bytes (a stray '=' or non-ASCII text).
      const ch = String.fromCodePoint(value.codePointAt(i) ?? 0xfffd);
      bytes.push(...encoder.encode(ch));
      i += ch.length;
    }
  }
  if (charset) {
    try {
      return decodeCharset(charset, Uint8Array.from(bytes));
    } catch {
      // A label this runtime does not know (RangeError): fall back to UTF-8,
      // which at worst shows replacement characters in a derived field.
    }
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}
