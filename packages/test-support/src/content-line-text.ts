import fc from 'fast-check';

/**
 * Pieces that matter to reading content lines: line ends, folds, '=', QUOTED-PRINTABLE heads, names, groups,
 * parameters (bare, empty, quoted with a ':') and the characters that break a head.
 */
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
  'END:VEVENT',
  'NOTE;ENCODING=QUOTED-PRINTABLE:',
  'NOTE;QUOTED-PRINTABLE:',
  'NOTE;ENCODING=',
  'QUOTED-PRINTABLE:',
  'TEL:+1 555',
  'TEL;WORK;VOICE:+1 555',
  'ADR;HOME;;:',
  'X-P="a:b"',
  'item1.',
  'a.b',
  '.',
  '-_9',
  'é',
  ':',
  ';',
  '"',
  'x',
);

/** Random vCard/iCalendar-like text, mostly malformed, made of up to 40 of the pieces above. */
export function contentLineText(): fc.Arbitrary<string> {
  return fc.array(piece, { maxLength: 40 }).map((pieces) => pieces.join(''));
}
