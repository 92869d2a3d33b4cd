import { AppError } from '@holdfast/protocol';
import { describe, expect, test } from 'vitest';
import { readVcard } from './vcard.js';

const card = (...lines: string[]) => `${['BEGIN:VCARD', ...lines, 'END:VCARD'].join('\r\n')}\r\n`;

function rejection(text: string): AppError {
  try {
    readVcard(text);
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected the vCard to be rejected');
}

describe('readVcard accepts', () => {
  test('a 4.0 card', () => {
    expect(readVcard(card('VERSION:4.0', 'UID:urn:uuid:1', 'FN:Ada Lovelace', 'EMAIL:ada@example.org'))).toEqual({
      uid: 'urn:uuid:1',
      fn: 'Ada Lovelace',
      version: '4.0',
    });
  });

  test('a 3.0 card with only N, grouped properties and escapes', () => {
    const meta = readVcard(card('VERSION:3.0', 'N:Doe;John;;;', 'item1.TEL:1', 'item1.X-ABLabel:_$!<Mobile>!$_'));
    expect(meta).toEqual({ uid: null, fn: null, version: '3.0' });
    expect(readVcard(card('VERSION:3.0', 'FN:Doe\\, John'))).toMatchObject({ fn: 'Doe, John' });
  });

  test('2.1 with bare and empty parameters', () => {
    const text = card(
      'VERSION:2.1',
      'N:Doe;John',
      'TEL;WORK;VOICE:1',
      'ADR;HOME;PREF;:;;Street;Town;;1;DE',
      'EMAIL;PREF;INTERNET:j@x',
    );
    expect(readVcard(text)).toEqual({ uid: null, fn: null, version: '2.1' });
  });

  test('2.1 QUOTED-PRINTABLE with soft line breaks, decoded in the charset it names', () => {
    const text = card(
      'VERSION:2.1',
      'FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=',
      'Michael Br=C3=BCn=',
      'ing',
      'N;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:M=FCller;Hans',
    );
    expect(readVcard(text).fn).toBe('Michael Brüning');
    expect(readVcard(card('VERSION:2.1', 'FN;CHARSET=ISO-8859-1;QUOTED-PRINTABLE:M=FCller')).fn).toBe('Müller');
  });

  test('a card without VERSION whose FN line has no colon (Ximian Evolution 1.x)', () => {
    expect(readVcard(card('FN', 'N:', 'UID:pas-id-1'))).toEqual({ uid: 'pas-id-1', fn: '', version: null });
  });

  test('lower-case names, LF or CR line ends, a BOM and blank lines', () => {
    expect(readVcard('begin:vcard\nversion:2.1\nfn:ian\nend:vcard\n').fn).toBe('ian');
    expect(readVcard('BEGIN:VCARD\rVERSION:3.0\rFN:cr\rEND:VCARD\r').fn).toBe('cr');
    expect(readVcard('\uFEFF\r\nBEGIN:VCARD\r\nFN:bom\r\n\r\nEND:VCARD\r\n\r\n').fn).toBe('bom');
  });

  test('a base64 PHOTO folded with two-space indents and closed by blank lines (2.1)', () => {
    const text = card('VERSION:2.1', 'FN:x', 'PHOTO;ENCODING=BASE64;JPEG:', '  /9j/4AAQ', '  SkZJRg==', '', '');
    expect(readVcard(text).fn).toBe('x');
  });
});

describe('readVcard rejects', () => {
  test.each([
    ['empty text', '\r\n\r\n', /^not a vCard: no BEGIN:VCARD found$/],
    [
      'an iCalendar object',
      'BEGIN:VCALENDAR\r\nEND:VCALENDAR',
      /^not a vCard: line 1: expected BEGIN:VCARD, found BEGIN:VCALENDAR$/,
    ],
    ['prose', 'hello there', /^not a vCard: line 1: expected ':' or ';' after hello/],
    ['a card never closed', 'BEGIN:VCARD\r\nFN:x\r\n', /^not a vCard: line 1: BEGIN:VCARD is never closed/],
    [
      'a line that is not a property',
      card('FN:x', 'what is this'),
      /^not a vCard: line 3: expected ':' or ';' after what/,
    ],
    ['data after the card', `${card('FN:x')}NOTE:stray\r\n`, /^not a vCard: line 4: NOTE is outside any component/],
    ['nothing but the frame', card('VERSION:3.0', 'UID:x'), /^an empty contact/],
    ['an unknown version', card('VERSION:5.0', 'FN:x'), /^unsupported vCard version '5.0'/],
    ['a broken parameter', card('FN;=x:y'), /^not a vCard: line 2: FN: a parameter with no name/],
  ])('%s', (_name, text, message) => {
    const error = rejection(text);
    expect(error.code).toBe('invalid_content');
    expect(error.message).toMatch(message);
  });

  test('two cards in one item, naming where each starts', () => {
    const error = rejection(card('FN:a') + card('FN:b'));
    expect(error.message).toBe(
      'one contact per item: found 2 vCards (BEGIN:VCARD at lines 1, 4); push each as its own item',
    );
  });
});
