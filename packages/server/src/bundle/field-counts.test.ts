import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { unfoldLines } from '../content/content-lines.js';
import { logicalLines } from './field-counts.js';
import { splitAfterLineEnds } from './icalendar-file.js';

/** Text made of the pieces that matter to unfolding: line ends, folds, '=' and QUOTED-PRINTABLE heads. */
const piece = fc.constantFrom(
  '\r\n',
  '\n',
  '\r',
  ' ',
  '\t',
  '=',
  '\uFEFF',
  'NOTE',
  'BEGIN:VCARD',
  'END:VCARD',
  'BEGIN:VEVENT',
  'NOTE;ENCODING=QUOTED-PRINTABLE:',
  'NOTE;QUOTED-PRINTABLE:',
  'TEL:+1 555',
  ':',
  ';',
  'x',
);

describe('the fast line splitters an export uses', () => {
  test('logical lines are exactly the lines unfoldLines gives, on any text', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(logicalLines(text)).toEqual(unfoldLines(text).map((line) => line.text));
      }),
      { numRuns: 2000 },
    );
  });

  test('splitting after line ends cuts the text after each CRLF, LF or lone CR', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (pieces) => {
        const text = pieces.join('');
        expect(splitAfterLineEnds(text)).toEqual(text.split(/(?<=\r\n|\n|\r(?!\n))/));
      }),
      { numRuns: 2000 },
    );
  });
});
