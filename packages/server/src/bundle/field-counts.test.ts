import { contentLineText } from '@holdfast/test-support/content-line-text';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { unfoldLines } from '../content/content-lines.js';
import { logicalLines } from './field-counts.js';
import { splitAfterLineEnds } from './icalendar-file.js';

describe('the fast line splitters an export uses', () => {
  test('logical lines are exactly the lines unfoldLines gives, on any text', () => {
    fc.assert(
      fc.property(contentLineText(), (text) => {
        expect(logicalLines(text)).toEqual(unfoldLines(text).map((line) => line.text));
      }),
      { numRuns: 2000 },
    );
  });

  test('splitting after line ends cuts the text after each CRLF, LF or lone CR', () => {
    fc.assert(
      fc.property(contentLineText(), (text) => {
        expect(splitAfterLineEnds(text)).toEqual(text.split(/(?<=\r\n|\n|\r(?!\n))/));
      }),
      { numRuns: 2000 },
    );
  });
});
