import { describe, expect, test } from 'vitest';
import { declaredCharsets, decodeText, detectUtf16, removeFoldsInsideCharacters, utf16ToUtf8 } from './charset.js';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

async function collect(source: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function* chunked(buffer: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

describe('detectUtf16', () => {
  test('reads byte order marks', () => {
    expect(detectUtf16(Buffer.from([0xff, 0xfe, 0x42, 0x00]))).toBe('utf-16le');
    expect(detectUtf16(Buffer.from([0xfe, 0xff, 0x00, 0x42]))).toBe('utf-16be');
  });

  test('recognises UTF-16 without a mark by the NULs of ASCII text', () => {
    expect(detectUtf16(Buffer.from('BEGIN', 'utf16le'))).toBe('utf-16le');
    expect(detectUtf16(Buffer.from('BEGIN', 'utf16le').swap16())).toBe('utf-16be');
  });

  test('leaves ASCII-compatible files alone', () => {
    expect(detectUtf16(Buffer.from('BEGIN:VCARD'))).toBeNull();
    expect(detectUtf16(Buffer.from([0xef, 0xbb, 0xbf, 0x42]))).toBeNull();
    expect(detectUtf16(Buffer.alloc(0))).toBeNull();
  });
});

describe('utf16ToUtf8', () => {
  test('re-encodes across chunk boundaries, even inside a surrogate pair, and drops the mark', async () => {
    const text = 'BEGIN:VCARD\r\nFN:Zoë 😀 名前\r\nEND:VCARD\r\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    for (const size of [1, 3, 7, 64]) expect(await collect(utf16ToUtf8(chunked(le, size), 'utf-16le'))).toBe(text);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    expect(await collect(utf16ToUtf8(chunked(be, 5), 'utf-16be'))).toBe(text);
  });
});

describe('decodeText', () => {
  test('valid UTF-8 is UTF-8, with a leading byte order mark removed', () => {
    expect(decodeText(Buffer.from('FN:Zoë\r\n'))).toEqual({ text: 'FN:Zoë\r\n', encoding: 'utf-8' });
    expect(decodeText(Buffer.from('\uFEFFFN:Zoë'))).toEqual({ text: 'FN:Zoë', encoding: 'utf-8' });
  });

  test('UTF-8 with a fold inside a character is joined back', () => {
    // "é" is C3 A9; the fold (CRLF + space) sits between its two bytes.
    const folded = bytes('NOTE:caf', [0xc3], '\r\n ', [0xa9], '\r\n next line folded\r\n');
    expect(decodeText(folded)).toEqual({
      text: 'NOTE:café\r\n next line folded\r\n',
      encoding: 'utf-8 (folds inside characters removed)',
    });
  });

  test('a declared CHARSET decodes legacy bytes, whichever property declares it', () => {
    const sjis = bytes('FN;CHARSET=SHIFT_JIS:', [0x88, 0xc9, 0x94, 0x5c], '\r\n');
    expect(decodeText(sjis)).toEqual({ text: 'FN;CHARSET=SHIFT_JIS:伊能\r\n', encoding: 'shift_jis' });
    // Greek in FN, but only LABEL says Windows-1253.
    const greek = bytes('FN:', [0xe2, 0xe1], '\r\nLABEL;CHARSET=Windows-1253;QUOTED-PRINTABLE:A=E8\r\n');
    expect(decodeText(greek).text).toBe('FN:βα\r\nLABEL;CHARSET=Windows-1253;QUOTED-PRINTABLE:A=E8\r\n');
    expect(decodeText(bytes('FN;CHARSET="ISO-8859-7":', [0xe2]))).toEqual({
      text: 'FN;CHARSET="ISO-8859-7":β',
      encoding: 'iso-8859-7',
    });
  });

  test('undeclared or wrongly declared legacy bytes fall back to windows-1252, which loses no byte', () => {
    expect(decodeText(bytes('FN:Ren', [0xe9], ' ', [0x80]))).toEqual({ text: 'FN:René €', encoding: 'windows-1252' });
    // Declared Shift_JIS, but 0x80 0x80 is not Shift_JIS; an unknown label is skipped the same way.
    expect(decodeText(bytes('FN;CHARSET=SHIFT_JIS:', [0x80, 0x80])).encoding).toBe('windows-1252');
    expect(decodeText(bytes('FN;CHARSET=X-MADE-UP:', [0xe9])).text).toBe('FN;CHARSET=X-MADE-UP:é');
    // Every byte maps to its own character: the bytes can be recovered.
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = decodeText(Buffer.concat([Buffer.from('X:'), all])).text;
    expect(new Set(text.slice(2)).size).toBe(256);
  });
});

describe('removeFoldsInsideCharacters', () => {
  test('keeps folds between characters', () => {
    const input = bytes('NOTE:ab\r\n cd', [0xc3, 0xa9], '\r\n\tef');
    expect(Buffer.from(removeFoldsInsideCharacters(input))).toEqual(input);
  });

  test('handles LF-only folds too', () => {
    expect(Buffer.from(removeFoldsInsideCharacters(bytes([0xe5, 0x90], '\n ', [0x8d])))).toEqual(Buffer.from('名'));
  });
});

describe('declaredCharsets', () => {
  test('lists non-UTF-8 labels once each, in order, quotes and the value colon not included', () => {
    const text = bytes(
      'N;CHARSET=utf-8:x\r\nFN;CHARSET=SHIFT_JIS:y\r\nNOTE;CHARSET="Windows-1252":z\r\nORG;CHARSET=Shift_JIS:w',
    );
    expect(declaredCharsets(text)).toEqual(['shift_jis', 'windows-1252']);
  });
});
